#!/usr/bin/env bash
# emu_limits.sh FCRUN: the emulator under hostile functions and requests.
# Each block is the regression test of one defect of issue 8: a payload past
# the memory limit (1), escapes from the timeout (2), shutdown with a stuck
# handler (3), state leaking between functions (4), fc.sleep/ctx.sleep past
# the deadline or a stop (5), connections past the limit (6), bodies read
# before the signature is checked (8), FC's error shapes (9). The functions
# are tests/functions/limits, served from a copy (one test edits a file).
FCRUN=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/emu_lib.sh"
FUNCS="$WORK/functions"
cp -r "$here/../functions/limits" "$FUNCS"
start_emulator "$FUNCS" --max-connections 8

alive() { # the server still answers
  fc -e 'print(require("fc").invoke("unhook", "").status)' 2>&1
}

# -- 1: a payload larger than the memory limit ---------------------------------
record "$(lua_checks <<'EOF'
local r = fc.invoke("bigpayload", ("x"):rep(20 * 1024 * 1024), {log = true})
check("1: payload over the memory limit is a function error", r.status == 200 and r.ok == false
      and r.error_type == "UnhandledInvocationError", r.body)
check("1: FC's out-of-memory message", type(r.error) == "table" and
      tostring(r.error.errorMessage):match("^Process exited unexpectedly before completing request "
      .. "%(duration: %d+ms, maxMemoryUsage: %d+%.%d%dMB%)$"), r.body)
check("1: the log says why", (r.log or ""):find("memory limit of 16 MB", 1, true), r.log)
r = fc.invoke("bigpayload", "small")
check("1: the function still runs", r.body == "5", r.body)
EOF
)"
expect_eq "1: the server survived" "$(alive)" "200"

# -- 2: escapes from the timeout ------------------------------------------------
record "$(lua_checks <<'EOF'
local function timed(name, payload)
  local t0 = now()
  local r = fc.invoke(name, payload or "")
  return r, now() - t0
end
local r, dt = timed("pcall_loop")
check("2: pcall in a loop cannot swallow the timeout", r.ok == false and dt < 3
      and tostring(r.error and r.error.errorMessage):match("^Function timed out after 1 seconds"),
      ("%.1fs %s"):format(dt, r.body))
r, dt = timed("co_loop")
check("2: nor can it inside a coroutine", r.ok == false and dt < 3
      and tostring(r.error and r.error.errorMessage):match("^Function timed out"),
      ("%.1fs %s"):format(dt, r.body))
r = fc.invoke("unhook", "")
check("2: functions get no debug.sethook", r.body == "nil nil", r.body)
r, dt = timed("cfind")
check("2: a long C call still gets the timeout answer on time", r.ok == false and dt < 3
      and tostring(r.error and r.error.errorMessage):match("^Function timed out after 1 seconds"),
      ("%.1fs %s"):format(dt, r.body))
check("2: counter starts at 1", fc.invoke("counter", "a").body == "1")
check("2: a worker is reused after a normal call", fc.invoke("counter", "a").body == "2")
r = fc.invoke("counter", "spin")
check("2: spin times out", r.ok == false)
r = fc.invoke("counter", "a")
check("2: a worker that timed out is never reused", r.body == "1", r.body)
EOF
)"
expect_eq "2: the server survived" "$(alive)" "200"

# -- 4: functions do not share state --------------------------------------------
record "$(lua_checks <<'EOF'
check("4: polluter runs", fc.invoke("polluter", "").body == "polluted")
local r = fc.invoke("observer", "")
check("4: no global or patched library crosses functions", r.body == "nil CLEAN", r.body)
check("4: gen 1", fc.invoke("gen", "").body == "1")
check("4: gen 2 (same worker)", fc.invoke("gen", "").body == "2")
EOF
)"
sleep 1.1 # a new modification time, whatever the file system's resolution
printf -- '-- edited\n' >>"$FUNCS/gen.lua"
out=$(fc -e 'print(require("fc").invoke("gen", "").body)' 2>&1)
expect_eq "4: an edited function gets fresh workers" "$out" "1"

# -- 5: fc.sleep and ctx.sleep end at the deadline or the stop -------------------
record "$(lua_checks <<'EOF'
local t0 = now()
local r = fc.invoke("fcsleep", "10")
check("5: fc.sleep ends at the timeout", r.ok == false and now() - t0 < 3
      and tostring(r.error and r.error.errorMessage):match("^Function timed out"),
      ("%.1fs %s"):format(now() - t0, r.body))
t0 = now()
r = fc.invoke("ctxsleep", "")
check("5: ctx.sleep in a pcall loop ends at the timeout", r.ok == false and now() - t0 < 3,
      ("%.1fs %s"):format(now() - t0, r.body))
fc.invoke("fcsleep_long", "", {async = true, task_id = "long_sleep"})
local t = wait_status("fcsleep_long", "long_sleep", "Running", 10)
check("5: the sleeping task runs", t.status == "Running", t.status)
t0 = now()
stop("fcsleep_long", "long_sleep")
t = wait_status("fcsleep_long", "long_sleep", "Stopped", 10)
check("5: StopAsyncTask ends fc.sleep", t.status == "Stopped" and now() - t0 < 3,
      ("%.1fs %s"):format(now() - t0, t.status))
EOF
)"

# -- 9: FC's error shapes for timeout and stop -----------------------------------
record "$(lua_checks <<'EOF'
local r = fc.invoke("fcsleep", "10", {log = true})
check("9: timeout: x-fc-error-type", r.headers["x-fc-error-type"] == "UnhandledInvocationError")
check("9: timeout: body is FC's", r.body:match(
      '^{"errorMessage":"Function timed out after 1 seconds %(maxMemoryUsage: %d+%.%d%d MB%)"}$'), r.body)
check("9: timeout: tail log end line", (r.log or ""):find("\nFC Invoke End RequestId: "
      .. r.request_id .. ", Error: Unhandled function error\n\nDuration: ", 1, true), r.log)
EOF
)"

# -- 8: the signature is checked before the body is read --------------------------
host=${ENDPOINT#http://}
out=$(timeout 10 python3 - "${host%:*}" "${host##*:}" 2>&1 <<'EOF'
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"POST /2023-03-30/functions/gen/invocations HTTP/1.1\r\nHost: x\r\n"
          b"Content-Length: 30000000\r\n\r\n" + b"x" * 1000)
t0 = time.time()
try:
    data = s.recv(4096).decode(errors="replace")
except socket.timeout:
    data = "no answer"
print("%s %.1f" % (data.split("\r\n")[0], time.time() - t0))
EOF
)
case "$out" in
  "HTTP/1.1 400"*) ok "8: unsigned request refused before its body is read" ;;
  *) fail "8: unsigned request refused before its body is read" "$out" ;;
esac

# -- 6: connections past --max-connections get an FC error, not a dropped socket ---
out=$(timeout 20 python3 - "${host%:*}" "${host##*:}" 2>&1 <<'EOF'
import socket, sys
idle = [socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) for _ in range(8)]
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"GET /2023-03-30/functions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
try:
    while True:
        k = s.recv(65536)
        if not k: break
        data += k
except socket.timeout:
    pass
text = data.decode(errors="replace")
print(text.split("\r\n")[0] if text else "empty reply")
print(text[text.find("\r\n\r\n") + 4:] if text else "")
EOF
)
case "$out" in
  "HTTP/1.1 503"*'"Code":"ResourceThrottled"'*) ok "6: past the limit: 503 ResourceThrottled" ;;
  *) fail "6: past the limit: 503 ResourceThrottled" "$out" ;;
esac
expect_eq "6: the server serves again once they close" "$(alive)" "200"

# -- 3: SIGTERM stops the server in bounded time, even with a stuck handler --------
fc -e 'require("fc").invoke("stuck", "", {async = true})' >/dev/null 2>&1
fc -e 'pcall(require("fc").invoke, "stuck", "")' >/dev/null 2>&1 &
client=$!
sleep 1
t0=$(date +%s.%N)
kill -TERM "$EMU_PID"
rc=0
timeout 10 tail --pid="$EMU_PID" -f /dev/null || rc=124
[ "$rc" = 0 ] || kill -KILL "$EMU_PID" 2>/dev/null
wait "$EMU_PID" 2>/dev/null
EMU_PID=""
dt=$(echo "$(date +%s.%N) - $t0" | bc)
kill "$client" 2>/dev/null; wait "$client" 2>/dev/null
if [ "$rc" = 0 ] && [ "$(echo "$dt < 5" | bc)" = 1 ]; then ok "3: SIGTERM with a stuck handler: exits in ${dt}s"
else fail "3: SIGTERM with a stuck handler: exits within 5 s" "took ${dt}s (rc $rc)"; fi

finish
