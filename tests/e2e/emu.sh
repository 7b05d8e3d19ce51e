#!/usr/bin/env bash
# emu.sh FCRUN: the emulator end to end. `fcrun serve` on an ephemeral
# loopback port with tests/functions, driven by fcrun itself (and curl for
# raw HTTP): sync, async and the async task API, tail logs, function errors,
# timeout, memory limit, 429, EntityTooLarge, unknown function and alias,
# chaining, signature failures, ListFunctions/GetFunction, clean shutdown,
# and that the secret never shows in the server's output.
FCRUN=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
FUNCS=$(cd "$here/../functions" && pwd)
start_emulator "$FUNCS" -v

. "$here/emu_lib.sh"

# -- sync invocation, headers, JSON results, qualifiers -----------------------
record "$(lua_checks <<'EOF'
local r = fc.invoke("hello", "bob")
check("sync: 200 with the handler's string", r.status == 200 and r.body == "hello, bob", r.body)
local h = r.headers
check("sync: x-fc-request-id is 1-<8hex>-<24hex>",
      (h["x-fc-request-id"] or ""):match("^1%-%x%x%x%x%x%x%x%x%-" .. ("%x"):rep(24) .. "$"),
      h["x-fc-request-id"])
check("sync: service version LATEST", h["x-fc-invocation-service-version"] == "LATEST")
check("sync: duration in ms", (h["x-fc-invocation-duration"] or ""):match("^%d+$"))
check("sync: max memory with 2 decimals", (h["x-fc-max-memory-usage"] or ""):match("^%d+%.%d%d$"))
check("sync: instance id", (h["x-fc-instance-id"] or ""):match("^c%-"))
check("sync: code checksum is decimal", (h["x-fc-code-checksum"] or ""):match("^%d+$"))
check("sync: no error type", h["x-fc-error-type"] == nil)
check("sync: no log unless asked", r.log == nil and h["x-fc-log-result"] == nil)

local bytes = "a\0b\255\r\n" .. ("z"):rep(100000)
r = fc.invoke("echo", bytes)
check("sync: bytes come back exactly", r.body == bytes)

r = fc.invoke("info", "ev", {qualifier = "prod"})
local j = r:json()
check("table result is JSON", r.headers["content-type"] == "application/json" and j.event == "ev")
check("ctx fields", j.function_name == "info" and j.qualifier == "prod" and j.has_deadline
      and j.has_key and j.request_id == r.request_id)
check("qualifier echoed in x-fc-invocation-service-version",
      r.headers["x-fc-invocation-service-version"] == "prod")
local e = service_error(fc.invoke, "info", "x", {qualifier = "staging"})
check("unknown qualifier: 404 AliasNotFound", e.status == 404 and e.code == "AliasNotFound", e.code)
e = service_error(fc.invoke, "nosuch", "x")
check("unknown function: 404 FunctionNotFound", e.status == 404 and e.code == "FunctionNotFound"
      and tostring(e.message):find("function 'nosuch' does not exist.", 1, true), tostring(e.message))

r = fc.invoke("chain", "x")
check("chaining through the emulator", r.status == 200 and r:json().inner == "hello, chain:x", r.body)
EOF
)"

# -- tail logs, function errors, timeout, memory --------------------------------
record "$(lua_checks <<'EOF'
local r = fc.invoke("logger", "ev", {log = true})
local log = r.log or ""
check("tail: start line", log:find("FC Invoke Start RequestId: " .. r.request_id .. "\n", 1, true), log)
check("tail: print line", log:find("\nprint line\t42\n", 1, true), log)
check("tail: ctx.log line in FC's format",
      log:match("\n%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ " .. r.request_id:gsub("%-", "%%-")
                .. " %[INFO%] ctx line\tev\n"), log)
check("tail: end line", log:find("\nFC Invoke End RequestId: " .. r.request_id .. "\n\n", 1, true), log)
check("tail: summary", log:match("\nDuration: %d+%.%d%d ms, Billed Duration: %d+ ms, Memory Size: 128 MB, Max Memory Used: %d+%.%d%d MB\n$"), log)

r = fc.invoke("fail", "now", {log = true})
check("error: 200 + UnhandledInvocationError", r.status == 200 and r.ok == false
      and r.error_type == "UnhandledInvocationError", r.error_type)
check("error: body fields", type(r.error) == "table" and r.error.errorMessage == "fail.lua:2: boom: now"
      and r.error.errorType == "LuaError" and type(r.error.stackTrace) == "table"
      and #r.error.stackTrace > 0, r.body)
check("error: tail end line", (r.log or ""):find("FC Invoke End RequestId: " .. r.request_id
      .. ", Error: Unhandled function error\n", 1, true), r.log)
check("error: print before the error is logged", (r.log or ""):find("about to fail", 1, true))

local t0 = os.time()
r = fc.invoke("spin", "", {log = true})
check("timeout: function error", r.ok == false and r.error_type == "UnhandledInvocationError")
check("timeout: FC's message", type(r.error) == "table" and tostring(r.error.errorMessage):match(
      "^Function timed out after 1 seconds %(maxMemoryUsage: %d+%.%d%d MB%)$"), r.body)
check("timeout: stopped in time", os.time() - t0 <= 3)

r = fc.invoke("hog", "", {log = true})
check("memory: limit enforced", r.ok == false and tostring(r.error and r.error.errorMessage):find(
      "Process exited unexpectedly", 1, true) and (r.log or ""):find("memory limit of 16 MB", 1, true), r.body)
check("memory: peak reported", tonumber(r.headers["x-fc-max-memory-usage"]) <= 16.01
      and tonumber(r.headers["x-fc-max-memory-usage"]) > 8, r.headers["x-fc-max-memory-usage"])
r = fc.invoke("hello", "again")
check("a worker is usable after a memory error", r.body == "hello, again")
r = fc.invoke("quit", "")
check("os.exit is refused as a function error", r.ok == false
      and tostring(r.error and r.error.errorMessage):find("os.exit", 1, true), r.body)
EOF
)"

# -- concurrency: 429 ResourceExhausted -----------------------------------------
record "$(lua_checks <<'EOF'
local first = fc.spawn(function() return fc.invoke("sleepy", "1.5") end)
fc.sleep(0.5)
local ok, e = pcall(fc.invoke, "sleepy", "0")
check("second concurrent call: 429 ResourceExhausted", not ok and type(e) == "table"
      and e.status == 429 and e.code == "ResourceExhausted", tostring(e))
local r = fc.wait(first)
check("the first call completes", r and r.body == "slept 1.5", r and r.body)
local t0 = os.clock()
local rs = {}
local ts = {}
for i = 1, 4 do ts[i] = fc.spawn(function() return fc.invoke("hello", tostring(i)) end) end
for i = 1, 4 do rs[i] = fc.wait(ts[i]) end
check("other functions run in parallel", rs[4].body == "hello, 4")
EOF
)"

# -- async tasks ------------------------------------------------------------------
record "$(lua_checks <<'EOF'
local r = fc.invoke("sleepy", "0.2", {async = true, task_id = "task_a"})
check("async: 202 with the task id", r.status == 202 and r.task_id == "task_a" and r.body == "")
local e = service_error(fc.invoke, "sleepy", "0.2", {async = true, task_id = "task_a"})
check("async: reused id is 409 AsyncTaskAlreadyExists", e.status == 409 and e.code == "AsyncTaskAlreadyExists", e.code)
local t = wait_status("sleepy", "task_a", "Succeeded", 10)
check("async: Succeeded with returnPayload", t.status == "Succeeded" and t.returnPayload == "slept 0.2", t.status)
check("async: AsyncTask fields", t.taskId == "task_a" and t.requestId == r.request_id
      and t.functionArn:match("^acs:fc:local:%d+:functions/sleepy$") and t.qualifier == "LATEST"
      and type(t.startedTime) == "number" and type(t.endTime) == "number"
      and type(t.durationMs) == "number" and t.alreadyRetriedTimes == 0
      and type(t.events) == "table" and t.instanceId ~= nil, fc.json.encode(t))

r = fc.invoke("fail", "later", {async = true})
check("async: generated id", r.status == 202 and r.task_id:match("^[A-Za-z_][A-Za-z0-9_-]*$"))
t = wait_status("fail", r.task_id, "Failed", 10)
check("async: function error is Failed with taskErrorMessage", t.status == "Failed"
      and tostring(t.taskErrorMessage):find("boom: later", 1, true), fc.json.encode(t))

fc.invoke("sleepy", "20", {async = true, task_id = "long_1"})
fc.invoke("sleepy", "20", {async = true, task_id = "long_2"}) -- waits: concurrency 1
t = wait_status("sleepy", "long_1", "Running", 10)
check("async: Running", t.status == "Running")
t = get("/sleepy/async-tasks/long_2").body
check("async: Enqueued behind the concurrency limit", t.status == "Enqueued", t.status)
r = stop("sleepy", "long_2")
check("stop an enqueued task", r.status == 200)
check("enqueued task is Stopped at once", get("/sleepy/async-tasks/long_2").body.status == "Stopped")
local t0 = os.time()
stop("sleepy", "long_1")
t = wait_status("sleepy", "long_1", "Stopped", 5)
check("stop a running task", t.status == "Stopped" and os.time() - t0 <= 3, t.status)
e = service_error(stop, "sleepy", "long_1")
check("stop a finished task: 400", e.status == 400, e.code)
e = service_error(get, "/sleepy/async-tasks/nope")
check("unknown task: 404 AsyncTaskNotFound", e.status == 404 and e.code == "AsyncTaskNotFound", e.code)

local l = get("/sleepy/async-tasks", {limit = 2, sortOrderByTime = "asc"}).body
check("list: first page", #l.tasks == 2 and l.tasks[1].taskId == "task_a"
      and l.tasks[2].taskId == "long_1" and l.nextToken and l.nextToken ~= "", fc.json.encode(l))
check("list: no payload unless asked", l.tasks[1].taskPayload == nil)
local l2 = get("/sleepy/async-tasks", {limit = 2, sortOrderByTime = "asc", nextToken = l.nextToken,
                                        includePayload = true}).body
check("list: next page", #l2.tasks == 1 and l2.tasks[1].taskId == "long_2"
      and l2.tasks[1].taskPayload == "20" and (l2.nextToken == nil or l2.nextToken == ""), fc.json.encode(l2))
local l3 = get("/sleepy/async-tasks", {status = "Stopped", prefix = "long"}).body
check("list: status and prefix filters", #l3.tasks == 2 and l3.tasks[1].taskId == "long_2", fc.json.encode(l3))
local l4 = get("/sleepy/async-tasks", {startedTimeBegin = os.time() * 1000 + 60000}).body
check("list: startedTimeBegin filter", #l4.tasks == 0)
e = service_error(get, "/sleepy/async-tasks", {limit = 101})
check("list: limit out of range is 400", e.status == 400, e.code)
EOF
)"

# -- ListFunctions, GetFunction, unsupported paths ------------------------------
record "$(lua_checks <<'EOF'
local l = get("", {limit = 3}).body
check("ListFunctions: first page sorted", #l.functions == 3 and l.functions[1].functionName == "chain"
      and l.functions[3].functionName == "fail" and l.nextToken == "hello", fc.json.encode(l))
local l2 = get("", {limit = 100, nextToken = l.nextToken}).body
check("ListFunctions: next page", l2.functions[1].functionName == "hello" and l2.nextToken == nil)
local p = get("", {prefix = "s"}).body
check("ListFunctions: prefix", #p.functions == 2 and p.functions[1].functionName == "sleepy")
local f = get("/info").body
check("GetFunction: FC field names", f.functionName == "info" and f.timeout == 5 and f.memorySize == 256
      and f.instanceConcurrency == 10 and f.description == "context as JSON"
      and f.runtime == "custom.lua5.4" and f.handler == "index.handler"
      and f.functionArn:match(":functions/info$") and f.codeChecksum:match("^%d+$")
      and f.codeSize > 0 and f.createdTime:match("Z$") and f.lastModifiedTime and f.functionId,
      fc.json.encode(f))
local r = fc.invoke("info", "")
check("codeChecksum matches x-fc-code-checksum", r.headers["x-fc-code-checksum"] == f.codeChecksum)
local d = get("/hello").body
check("GetFunction: defaults", d.timeout == 3 and d.memorySize == 128 and d.instanceConcurrency == 100)
local e = service_error(get, "/nosuch")
check("GetFunction: 404", e.status == 404 and e.code == "FunctionNotFound")
e = service_error(fc.request, {method = "DELETE", path = "/2023-03-30/functions/hello",
                                action = "DeleteFunction"})
check("unsupported operation: 400 PathNotSupported", e.status == 400 and e.code == "PathNotSupported", e.code)
e = service_error(fc.request, {method = "GET", path = "/2023-03-30/regions",
                                action = "DescribeRegions"})
check("unknown path: PathNotSupported", e.code == "PathNotSupported", e.code)
EOF
)"

# -- signature failures ------------------------------------------------------------
out=$(ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=wrong-secret \
  timeout 60 "$FCRUN" --endpoint "$ENDPOINT" -e '
  local ok, e = pcall(require("fc").invoke, "hello", "x"); print(e.status, e.code)' 2>&1)
expect_eq "wrong secret: 403 SignatureNotMatch" "$out" "403	SignatureNotMatch"
out=$(ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIother ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
  timeout 60 "$FCRUN" --endpoint "$ENDPOINT" -e '
  local ok, e = pcall(require("fc").invoke, "hello", "x"); print(e.status, e.code)' 2>&1)
expect_eq "unknown key: 403 InvalidAccessKeyID" "$out" "403	InvalidAccessKeyID"

# A request signed by fc.sign, then sent by curl: as signed, tampered, replayed.
SIGN_LUA='
  local fc = require "fc"
  local host = assert(os.getenv("EP"):match("^http://(.*)$"))
  local s = fc.sign{method = "POST", host = host, body = "signed body",
    path = "/2023-03-30/functions/echo/invocations", query = {qualifier = "LATEST"},
    headers = {["content-type"] = "application/octet-stream"},
    access_key_id = os.getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"),
    access_key_secret = os.getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")}
  for k, v in pairs(s.headers) do
    if k:lower() ~= "host" then print("-H"); print(k .. ": " .. v) end
  end'
EP=$ENDPOINT fc -e "$SIGN_LUA" >"$WORK/signed.args" 2>&1 || true
mapfile -t hdrs <"$WORK/signed.args"
url="$ENDPOINT/2023-03-30/functions/echo/invocations?qualifier=LATEST"
out=$(curl -s -m 10 "${hdrs[@]}" --data-binary 'signed body' "$url")
expect_eq "curl with fc.sign headers is accepted" "$out" "signed body"
out=$(curl -s -m 10 "${hdrs[@]}" --data-binary 'signed body' "$url")
expect_in "replayed nonce: 403 SignatureNonceUsed" "$out" '"Code":"SignatureNonceUsed"'
EP=$ENDPOINT fc -e "$SIGN_LUA" >"$WORK/signed3.args" 2>&1 || true
mapfile -t fresh <"$WORK/signed3.args"
out=$(curl -s -m 10 "${fresh[@]}" --data-binary 'tampered!!!' "$url")
expect_in "tampered body: 403 SignatureNotMatch" "$out" '"Code":"SignatureNotMatch"'
out=$(curl -s -m 10 "${hdrs[@]}" -H 'x-acs-extra: 1' --data-binary 'signed body' "$url")
expect_in "unsigned x-acs header: 403 SignatureNotMatch" "$out" '"Code":"SignatureNotMatch"'
out=$(curl -s -m 10 "${hdrs[@]}" --data-binary 'signed body' "$url&x=1")
expect_in "extra query parameter: 403 SignatureNotMatch" "$out" '"Code":"SignatureNotMatch"'
# The Node SDK sends bodies chunked, and its wire query is not canonical.
EP=$ENDPOINT fc -e "$SIGN_LUA" >"$WORK/signed2.args" 2>&1 || true
mapfile -t hdrs <"$WORK/signed2.args"
out=$(curl -s -m 10 "${hdrs[@]}" -H 'Transfer-Encoding: chunked' --data-binary 'signed body' \
  "$ENDPOINT/2023-03-30/functions/echo/invocations?qualifier=LATES%54")
expect_eq "chunked body, re-encoded query: verified and delivered" "$out" "signed body"

out=$(curl -s -m 10 -i "$ENDPOINT/2023-03-30/functions" | tr -d '\r')
expect_in "no Authorization: 400" "$out" "HTTP/1.1 400"
expect_in "no Authorization: MissingRequiredHeader" "$out" '"Code":"MissingRequiredHeader"'
expect_in "errors are JSON" "$out" "content-type: application/json"
expect_in "errors carry x-fc-request-id" "$out" "x-fc-request-id: 1-"

# -- payload limits ------------------------------------------------------------------
out=$(head -c 33554433 /dev/zero | curl -s -m 30 -H 'Content-Type: application/octet-stream' \
  --data-binary @- "$ENDPOINT/2023-03-30/functions/echo/invocations")
expect_in "sync over 32 MB: 400 EntityTooLarge" "$out" '"Code":"EntityTooLarge"'
head -c 131073 /dev/zero >"$WORK/big"
out=$(curl -s -m 30 -H 'x-fc-invocation-type: Async' --data-binary @"$WORK/big" \
  "$ENDPOINT/2023-03-30/functions/echo/invocations")
expect_in "async over 128 KB: 400 EntityTooLarge" "$out" '"Code":"EntityTooLarge"'
out=$(curl -s -m 30 -H 'x-fc-invocation-type: Async' -H 'Transfer-Encoding: chunked' \
  --data-binary @"$WORK/big" "$ENDPOINT/2023-03-30/functions/echo/invocations")
# without a length, the (missing) signature is what is refused, before the body is read
expect_in "chunked unsigned async over 128 KB: 400 before the body" "$out" '"Code":"MissingRequiredHeader"'
out=$(fc -e 'local r = require("fc").invoke("echo", ("x"):rep(131072), {async = true}); print(r.status)')
expect_eq "async of exactly 128 KB is accepted" "$out" "202"

# -- a function's stdin, stdout and stderr are its invocation's -----------------------
# fcrun --local runs functions in the client's process: what a function
# writes must go to its log, never into the client's output, and a read
# from stdin must not wait on the process's (here a pipe nobody writes to).
mkdir -p "$WORK/stdio"
cat >"$WORK/stdio/stdio.lua" <<'EOF'
return function(event, ctx)
  local line = io.read("l")
  local n = 0
  for _ in io.lines() do n = n + 1 end
  io.write("io.write ", 1, " ", 2.5, "\n")
  io.stdout:write("to stdout "):write("chained\n")
  io.stderr:write("to stderr\n")
  assert(io.output() == io.stdout and io.stdin:read("a") == nil)
  assert(not pcall(io.output, "/tmp/x"), "io.output(file) is refused")
  local name = os.tmpname()
  local f = assert(io.open(name, "w"))
  f:write("a\nb\n")
  f:close()
  for _ in io.lines(name) do n = n + 1 end -- files still read
  os.remove(name)
  return tostring(line) .. " " .. n
end
EOF
mkfifo "$WORK/stdin-fifo"
sleep 30 >"$WORK/stdin-fifo" & holder=$!
out=$(timeout 20 "$FCRUN" --local "$WORK/stdio" -e 'local fc = require "fc"
  local r = fc.invoke("stdio", "", {log = true})
  io.write(r.body, "\n", r.log)' <"$WORK/stdin-fifo" 2>"$WORK/stdio.err"); rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
expect_eq "stdio: the run ends" "$rc" "0"
expect_not_in "stdio: a read of stdin ends at once (it waited for the timeout before)" "$out" "timed out"
expect_eq "stdio: the body on stdout, and nothing the function wrote" "$(printf '%s\n' "$out" | head -1)" "nil 2"
expect_in "stdio: io.write goes to the log" "$out" "io.write 1 2.5"
expect_in "stdio: io.stdout:write too, chained" "$out" "to stdout chained"
expect_in "stdio: io.stderr:write too" "$out" "to stderr"
expect_eq "stdio: nothing on the process's stderr" "$(cat "$WORK/stdio.err")" ""

# -- the server's own output ----------------------------------------------------------
log=$(cat "$WORK/emu.log")
expect_in "verbose access log lines" "$log" "POST /2023-03-30/functions/hello/invocations 200 1-"
expect_not_in "the secret never appears in the server's output" "$log" "$TEST_KEY_SECRET"

kill -TERM "$EMU_PID"
rc=0
wait "$EMU_PID" || rc=$?
EMU_PID=""
expect_eq "SIGTERM stops the server with status 0" "$rc" "0"

rc=0
env -u ALIBABA_CLOUD_ACCESS_KEY_ID -u ALIBABA_CLOUD_ACCESS_KEY_SECRET \
  timeout 10 "$FCRUN" serve --functions "$FUNCS" --port 0 >"$WORK/nokey.out" 2>&1 </dev/null || rc=$?
expect_eq "no keys and no terminal: exit 2" "$rc" "2"
expect_in "no keys: says how to pass them" "$(cat "$WORK/nokey.out")" "--access-key-id"

rc=0
timeout 10 "$FCRUN" serve --functions "$WORK/none" --port 0 --access-key-id a \
  --access-key-secret b >"$WORK/nodir.out" 2>&1 || rc=$?
expect_eq "missing functions dir: exit 1" "$rc" "1"
expect_in "missing functions dir: names the fix" "$(cat "$WORK/nodir.out")" "give a directory of NAME.lua files"

finish
