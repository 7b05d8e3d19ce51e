#!/usr/bin/env bash
# obs.sh FCRUN SRC BUILD: seeing what a run did, against the emulator:
# r.report on real tail logs, --stats and fc.stats(), --trace checked line
# by line against the emulator's access log, the progress line (on a
# pseudo-terminal only), `fcrun invoke -o json` and `--each`, `fcrun task`,
# help and suggestions, the man page and the bash completion.
FCRUN=$1
SRC=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
start_emulator "$here/obs-functions" -v

# -- tail logs, parsed ---------------------------------------------------------------
out=$(fc -e '
local fc = require "fc"
local r = fc.invoke("echo", "hi", {log = true})
local rep = r.report
assert(rep.request_id == r.request_id, "request id")
assert(#rep.lines == 1 and rep.lines[1] == "echo 2 bytes, qualifier LATEST", rep.lines[1])
assert(rep.duration_ms >= 0 and math.type(rep.billed_ms) == "integer" and rep.memory_mb == 128, "numbers")
assert(rep.max_memory_mb > 0 and rep.truncated == false and rep.error == nil, "rest")
assert(rawget(r, "report") == rep, "parsed once")
assert(fc.invoke("echo", "hi").report == nil, "no log, no report")
print("ok")' 2>&1)
expect_eq "r.report on the emulator's tail log" "$out" "ok"

out=$(fc -e '
local fc = require "fc"
local r = fc.invoke("liar", "", {log = true})
local rep = r.report
assert(#rep.lines == 6, "six printed lines, got " .. #rep.lines)
assert(rep.lines[1]:find("^Duration: 1 ms") and rep.lines[5]:find("^FC Invoke Start"), "lines kept as printed")
assert(rep.duration_ms < 999 and rep.memory_mb == 128 and rep.error == nil, "summary from the real lines")
local b = fc.invoke("picky", "bad", {log = true})
assert(b.report.error == "Unhandled function error", tostring(b.report.error))
print("ok")' 2>&1)
expect_eq "a function printing FC-looking lines does not fool r.report" "$out" "ok"

out=$(fc -e '
local fc = require "fc"
local seen = {}
for pad = 0, 2 do
  local r = fc.invoke("chatty", tostring(pad), {log = true})
  assert(#r.log <= 4096, "the tail is at most 4 KB: " .. #r.log)
  local first = r.log:byte(1)
  seen[first >= 0x80 and first < 0xC0 and "cut" or "whole"] = true
  local rep = r.report
  assert(rep.truncated, "truncated")
  assert(utf8.len(rep.lines[1]), "the first line is valid UTF-8")
  assert(rep.request_id == r.request_id and rep.billed_ms, "summary")
end
assert(seen.cut, "one of the logs starts inside a character")
print("ok")' 2>&1)
expect_eq "a log cut at 4 KB inside a UTF-8 character" "$out" "ok"

# -- --stats and fc.stats() ----------------------------------------------------------
out=$(fc --stats -e '
local fc = require "fc"
for i = 1, 5 do fc.invoke("echo", "x") end
fc.invoke("picky", "bad")
pcall(fc.invoke, "missing")
local s = fc.stats()
assert(s.requests == 7, s.requests)
assert(s.operations.InvokeFunction == 7 and s.statuses[200] == 6 and s.statuses[404] == 1, "counts")
assert(s.errors.UnhandledInvocationError == 1 and s.errors.FunctionNotFound == 1, "errors")
assert(s.latency.p50 <= s.latency.p90 and s.latency.p90 <= s.latency.max, "percentiles")
print("script ok")' 2>"$WORK/stats.err")
expect_eq "fc.stats() counts the run" "$out" "script ok"
stats=$(cat "$WORK/stats.err")
expect_in "--stats: total" "$stats" "fcrun: stats: 7 requests"
expect_in "--stats: by operation" "$stats" "operations: InvokeFunction 7"
expect_in "--stats: by status" "$stats" "statuses:   200 6, 404 1"
expect_in "--stats: errors by code and type" "$stats" "FunctionNotFound 1"
expect_in "--stats: function errors by x-fc-error-type" "$stats" "UnhandledInvocationError 1"
expect_in "--stats: percentiles" "$stats" "latency:    p50 "
expect_in "--stats: a histogram" "$stats" "#"
fc invoke echo --payload x --stats >/dev/null 2>"$WORK/stats2.err"
expect_in "--stats after the subcommand" "$(cat "$WORK/stats2.err")" "fcrun: stats: 1 request "
fc --stats -e 'require("fc").invoke("echo", "x"); os.exit(7)' 2>"$WORK/stats4.err"; rc=$?
expect_eq "os.exit keeps its status under --stats" "$rc" "7"
expect_in "a script ending with os.exit still gets the summary" "$(cat "$WORK/stats4.err")" "fcrun: stats: 1 request "
fc -e '' 2>"$WORK/stats3.err"
expect_eq "no summary without --stats" "$(cat "$WORK/stats3.err")" ""

# -- --trace, line by line against what the emulator received ---------------------
: >"$WORK/emu.log.before"
cp "$WORK/emu.log" "$WORK/emu.log.before"
fc --trace "$WORK/trace" -e '
local fc = require "fc"
fc.invoke("echo", "PAYLOAD-MARKER-7", {qualifier = "prod"})
fc.invoke("picky", "bad")
pcall(fc.invoke, "missing")
fc.request{path = "/2023-03-30/functions", action = "ListFunctions"}' >/dev/null 2>&1
sleep 0.2
new=$(diff "$WORK/emu.log.before" "$WORK/emu.log" | sed -n 's/^> //p' | grep -E '^(GET|POST|PUT|DELETE) ')
expect_eq "the trace has one line per request" "$(wc -l <"$WORK/trace")" "$(printf '%s\n' "$new" | wc -l)"
i=0
while read -r method path status rid _; do
  i=$((i + 1))
  line=$(sed -n "${i}p" "$WORK/trace")
  got=$(printf '%s' "$line" | "$FCRUN" -e '
    local t = require("fc.json").decode(io.read("a"))
    print(t.method, "/2023-03-30/functions" .. (t["function"] and ("/" .. t["function"]) or ""), t.status, t.request_id)')
  want_path=$(printf '%s' "$path" | sed 's,/invocations.*,,; s,?.*,,')
  expect_eq "trace line $i matches the server's request" "$got" "$(printf '%s\t%s\t%s\t%s' "$method" "$want_path" "$status" "$rid")"
done <<<"$new"
trace=$(cat "$WORK/trace")
expect_in "trace: operation" "$trace" '"operation":"InvokeFunction"'
expect_in "trace: qualifier" "$trace" '"qualifier":"prod"'
expect_in "trace: function error type" "$trace" '"error_kind":"function","error":"UnhandledInvocationError"'
expect_in "trace: service error code" "$trace" '"error_kind":"service","error":"FunctionNotFound"'
expect_in "trace: timing breakdown" "$trace" '"dns_ms":'
expect_in "trace: first byte" "$trace" '"first_byte_ms":'
expect_in "trace: attempt" "$trace" '"attempt":1'
expect_in "trace: start time" "$trace" '"start":"20'
expect_not_in "trace: no payload" "$trace" "PAYLOAD-MARKER-7"
ok=$("$FCRUN" -e '
  local json = require "fc.json"
  for l in io.lines(arg[1]) do
    local t = json.decode(l)
    assert(t.bytes_sent > 0 and t.bytes_received > 0 and t.duration_ms >= t.first_byte_ms, l)
  end
  print("ok")' "$WORK/trace" 2>&1)
expect_eq "trace: every line is JSON with bytes and a coherent timing" "$ok" "ok"
ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
  timeout 30 "$FCRUN" --endpoint http://127.0.0.1:9 --stats --trace "$WORK/trace2" invoke echo 2>"$WORK/err"
expect_in "trace: a transport failure is traced too" "$(cat "$WORK/trace2")" '"error_kind":"transport","error":"connect"'
expect_in "trace: each retry is a line with its attempt number" "$(cat "$WORK/trace2")" '"attempt":2'
if grep -qE '\([1-9][0-9]* retr' "$WORK/err"; then ok "--stats counts the retries"
else fail "--stats counts the retries" "$(cat "$WORK/err")"; fi
fc --trace /nonexistent/dir/trace -e '' 2>"$WORK/err"; rc=$?
expect_eq "--trace to a file that cannot be opened exits 2" "$rc" "2"
expect_in "... and says why" "$(cat "$WORK/err")" "--trace: cannot open"

# -- fcrun invoke --each ----------------------------------------------------------------
for i in $(seq 1000); do
  if [ $((i % 10)) -eq 0 ]; then echo "bad-$i"; else echo "{\"i\":$i}"; fi
done >"$WORK/lines"
fc invoke picky --each "$WORK/lines" -c 16 >"$WORK/each.out" 2>"$WORK/each.err"; rc=$?
expect_eq "--each over 1,000 lines with failures exits 3 (the worst outcome)" "$rc" "3"
expect_eq "--each: one JSON line per input line" "$(wc -l <"$WORK/each.out")" "1000"
check=$("$FCRUN" -e '
  local json = require "fc.json"
  local n, failed = 0, 0
  for l in io.lines(arg[1]) do
    n = n + 1
    local e = json.decode(l)
    assert(e.line == n, "in input order: line " .. tostring(e.line) .. " at " .. n)
    if n % 10 == 0 then
      assert(e.ok == false and e.error_type == "UnhandledInvocationError", l)
      assert(e.error.errorMessage:find("refused bad-" .. n, 1, true), l)
      failed = failed + 1
    else
      assert(e.ok == true and e.body.i == n and e.status == 200 and e.request_id, l)
    end
  end
  print(n, failed)' "$WORK/each.out" 2>&1)
expect_eq "--each: every envelope matches its line" "$check" "1000	100"
fc invoke picky --each - --unordered -c 8 <"$WORK/lines" >"$WORK/each2.out" 2>/dev/null; rc=$?
expect_eq "--each - (stdin) --unordered exits 3" "$rc" "3"
got=$("$FCRUN" -e '
  local json = require "fc.json"
  local seen, n = {}, 0
  for l in io.lines(arg[1]) do local e = json.decode(l); seen[e.line] = true; n = n + 1 end
  for i = 1, 1000 do assert(seen[i], "line " .. i .. " missing") end
  print(n)' "$WORK/each2.out" 2>&1)
expect_eq "--unordered: every line once" "$got" "1000"
printf 'x\ny\n' | fc invoke echo --each - -c 1 >"$WORK/each3.out"; rc=$?
expect_eq "--each with every line ok exits 0" "$rc" "0"
expect_eq "--each -c 1" "$(sed -n 2p "$WORK/each3.out" | "$FCRUN" -e 'print(require("fc.json").decode(io.read("a")).body)')" "y"
printf '0\n3\n0\n' | fc --timeout 0.5 invoke slow --each - >"$WORK/each4.out" 2>/dev/null; rc=$?
expect_eq "--each: a transport error is the worst outcome (exit 5)" "$rc" "5"
expect_in "--each: the timed-out line has a transport error" "$(sed -n 2p "$WORK/each4.out")" '"kind":"transport"'
fc invoke echo --each "$WORK/lines" -c 0 2>"$WORK/err"; rc=$?
expect_eq "--each -c 0 exits 2" "$rc" "2"
fc invoke echo --each "$WORK/no-such-file" 2>"$WORK/err"; rc=$?
expect_eq "--each of a missing file exits 2" "$rc" "2"
expect_in "... naming it" "$(cat "$WORK/err")" "no-such-file"

# -- the progress line: on a terminal only -----------------------------------------
for i in $(seq 40); do echo 0.05; done >"$WORK/slow-lines"
pty_run() { # pty_run OUTFILE ARGS...: fcrun with stdin/stdout/stderr on a pseudo-terminal
  local outfile=$1; shift
  timeout 60 python3 - "$outfile" "$FCRUN" --endpoint "$ENDPOINT" "$@" <<'PY'
import os, pty, sys
out = sys.argv[1]
os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"] = os.environ["TEST_KEY_ID"]
os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = os.environ["TEST_KEY_SECRET"]
data = bytearray()
def read(fd):
    b = os.read(fd, 4096)
    data.extend(b)
    return b
pty.spawn(sys.argv[2:], read)
open(out, "wb").write(bytes(data))
PY
}
pty_run "$WORK/pty.out" invoke slow --each "$WORK/slow-lines" -c 4 >/dev/null
ptyout=$(cat -v "$WORK/pty.out")
expect_in "progress on a terminal: done/total" "$ptyout" "/40 done, 0 failed"
expect_in "progress on a terminal: redrawn in place" "$ptyout" "^M"
expect_in "progress on a terminal: cleared at the end" "$ptyout" "^M^[[K"
draws=$(grep -o 'done, ' "$WORK/pty.out" | wc -l)
if [ "$draws" -le 20 ]; then ok "progress is redrawn a few times a second ($draws draws)"
else fail "progress is redrawn a few times a second" "$draws draws"; fi
lines=$(tr -d '\r' <"$WORK/pty.out" | sed 's/\x1b\[K//g; s/fcrun: [0-9]*\/40 done[^{]*//g' | grep -c '^{"line":')
expect_eq "the results on the same terminal are whole lines, not mixed with the progress line" "$lines" "40"
pty_run "$WORK/pty-v.out" -v invoke slow --each "$WORK/slow-lines" -c 4 >/dev/null
mixed=$(tr '\r' '\n' <"$WORK/pty-v.out" | grep -c 'done, .*-> 200')
expect_eq "-v lines under the progress line start on a cleared line" "$mixed" "0"
expect_eq "... and every one was written" "$(grep -o -- '-> 200' "$WORK/pty-v.out" | wc -l)" "40"
pty_run "$WORK/pty-quiet.out" --quiet invoke slow --each "$WORK/slow-lines" -c 4 >/dev/null
expect_not_in "no progress with --quiet" "$(cat -v "$WORK/pty-quiet.out")" "done, "
fc invoke slow --each "$WORK/slow-lines" -c 4 >/dev/null 2>"$WORK/noprog"
expect_eq "no progress when stderr is not a terminal" "$(cat "$WORK/noprog")" ""
cat >"$WORK/map.lua" <<'EOF'
local fc = require "fc"
local items = {}
for i = 1, 30 do items[i] = "0.05" end
local _, errors = fc.map(items, function(s) return fc.invoke("slow", s).ok end, {concurrency = 3})
assert(errors.n == 0)
EOF
pty_run "$WORK/pty-map.out" "$WORK/map.lua" >/dev/null
expect_in "fc.map in a script draws the progress line on a terminal" "$(cat -v "$WORK/pty-map.out")" "/30 done, 0 failed"
expect_in "... and clears it at the end" "$(cat -v "$WORK/pty-map.out")" "^M^[[K"

# The host's option table (src/fcrun.c) and the list fc.cli suggests from agree.
lua_opts=" $("$FCRUN" -e 'print(table.concat(require("fc.cli").HOST_OPTIONS, " "))') "
missing=""
for opt in $(sed -n '/HOST_OPTIONS\[\] = {/,/{NULL/p' "$SRC/src/fcrun.c" | grep -o '"-[-a-z]*"' | tr -d '"'); do
  case $lua_opts in *" $opt "*) ;; *) missing="$missing $opt" ;; esac
done
expect_eq "every host option is known to the suggestions" "$missing" ""

# -- the man page and the bash completion ---------------------------------------------
if command -v groff >/dev/null; then
  warn=$(groff -man -Tutf8 -ww -z "$SRC/docs/fcrun.1" 2>&1)
  expect_eq "the man page renders without warnings" "$warn" ""
  page=$(MANWIDTH=80 man -l "$SRC/docs/fcrun.1" 2>/dev/null)
  expect_in "man -l renders the page" "$page" "FCRUN(1)"
  for opt in --each --trace --stats --quiet --output "task wait"; do
    expect_in "the man page documents $opt" "$page" "$opt"
  done
else
  fail "the man page renders" "groff is not installed (apt-get install groff-base)"
fi
comp=$(bash --norc --noprofile -c '
  . "$1"
  complete -p fcrun
  comp() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
    _fcrun fcrun "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    echo "$*: ${COMPREPLY[*]}"; }
  cd /
  comp fcrun in; comp fcrun --sta; comp fcrun invoke f --ea; comp fcrun -v invoke f --end
  comp fcrun invoke f -o ""; comp fcrun task ""; comp fcrun task wait f --wait; comp fcrun help ex
' _ "$SRC/docs/fcrun.bash-completion" 2>&1)
expect_in "completion is registered" "$comp" "complete -F _fcrun fcrun"
expect_in "completes subcommands" "$comp" "fcrun in: invoke"
expect_in "completes host options" "$comp" "fcrun --sta: --stats"
expect_in "completes invoke options" "$comp" "fcrun invoke f --ea: --each"
expect_in "completes host options after the subcommand" "$comp" "fcrun -v invoke f --end: --endpoint"
expect_in "completes --output values" "$comp" "fcrun invoke f -o : json text"
expect_in "completes task operations" "$comp" "fcrun task : get list stop wait"
expect_in "completes task options" "$comp" "fcrun task wait f --wait: --wait-timeout"
expect_in "completes help topics" "$comp" "fcrun help ex: exit-status"
if [ -n "$BUILD" ]; then
  if cmake --install "$BUILD" --prefix "$WORK/prefix" >"$WORK/install.log" 2>&1; then
    [ -f "$WORK/prefix/share/man/man1/fcrun.1" ] && ok "cmake --install puts fcrun.1 in share/man/man1" \
      || fail "cmake --install puts fcrun.1 in share/man/man1" "$(find "$WORK/prefix" -name 'fcrun*')"
    [ -f "$WORK/prefix/share/bash-completion/completions/fcrun" ] && ok "cmake --install puts the completion in share/bash-completion/completions" \
      || fail "cmake --install puts the completion in share/bash-completion/completions" "$(find "$WORK/prefix" -name 'fcrun*')"
    expect_in "man finds the installed page" "$(MANPATH="$WORK/prefix/share/man" MANWIDTH=80 man fcrun 2>&1)" "FCRUN(1)"
  else
    fail "cmake --install" "$(cat "$WORK/install.log")"
  fi
fi

finish
