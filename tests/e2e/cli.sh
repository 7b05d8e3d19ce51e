#!/usr/bin/env bash
# cli.sh FCRUN: `fcrun invoke`, the one-shot form, and the host's own
# behaviour: exit codes, stdout/stderr split, arguments, script errors.
FCRUN=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
start_emulator "$here/functions"

printf 'line one\nline two, no newline at the end' >"$WORK/payload"
fc invoke echo --payload-file "$WORK/payload" >"$WORK/out" 2>"$WORK/err"
rc=$?
expect_eq "invoke exits 0 on success" "$rc" "0"
if cmp -s "$WORK/payload" "$WORK/out"; then ok "stdout is the function's output, byte for byte"
else fail "stdout is the function's output, byte for byte" "$(od -c "$WORK/out" | head)"; fi
expect_eq "nothing on stderr without --log" "$(cat "$WORK/err")" ""

head -c 3000 /dev/urandom >"$WORK/binary"
fc invoke echo --payload-file - <"$WORK/binary" >"$WORK/out2" 2>/dev/null
if cmp -s "$WORK/binary" "$WORK/out2"; then ok "binary payload from stdin round-trips"
else fail "binary payload from stdin round-trips" "outputs differ"; fi

fc invoke echo --qualifier prod --log --payload hi >"$WORK/out" 2>"$WORK/err"
expect_eq "--payload TEXT" "$(cat "$WORK/out")" "hi"
expect_in "--log writes the decoded tail log to stderr" "$(cat "$WORK/err")" "echo 2 bytes, qualifier prod"

fc invoke boom --payload x >"$WORK/out" 2>"$WORK/err"
rc=$?
expect_eq "function error exits 3" "$rc" "3"
expect_in "function error body on stdout" "$(cat "$WORK/out")" "errorMessage"
expect_in "function error named on stderr" "$(cat "$WORK/err")" "fcrun: function error: UnhandledInvocationError"

fc invoke missing 2>"$WORK/err"
rc=$?
expect_eq "service error exits 4" "$rc" "4"
expect_in "service error is readable" "$(cat "$WORK/err")" "fcrun: FunctionNotFound (HTTP 404): function 'missing' does not exist."

fc invoke echo --async --task-id cli_task_1 --payload later >"$WORK/out" 2>"$WORK/err"
rc=$?
expect_eq "async invoke exits 0" "$rc" "0"
expect_in "async invoke names the task" "$(cat "$WORK/err")" "async task cli_task_1 accepted"

fc invoke 2>"$WORK/err"; rc=$?
expect_eq "missing NAME exits 2" "$rc" "2"
expect_in "missing NAME says so" "$(cat "$WORK/err")" "the function NAME is missing"
fc invoke echo --frobnicate 2>"$WORK/err"; rc=$?
expect_eq "unknown option exits 2" "$rc" "2"
fc invoke 9lives 2>"$WORK/err"; rc=$?
expect_eq "invalid function name exits 2" "$rc" "2"
expect_in "invalid function name names the rule" "$(cat "$WORK/err")" "function name '9lives' is invalid"
fc invoke echo --payload a --payload-file "$WORK/payload" 2>/dev/null; rc=$?
expect_eq "two payloads exit 2" "$rc" "2"
"$FCRUN" --bogus 2>/dev/null; rc=$?
expect_eq "unknown host option exits 2" "$rc" "2"
"$FCRUN" --timeout -1 -e '' 2>"$WORK/err"; rc=$?
expect_eq "bad --timeout exits 2" "$rc" "2"

# -- scripts ----------------------------------------------------------------------
printf 'local x = ...\nprint("args", x, arg[0] ~= nil, arg[2])\nerror("stop here")\n' >"$WORK/s.lua"
out=$(fc "$WORK/s.lua" one two 2>&1); rc=$?
expect_in "script gets ... and arg" "$out" "args	one	true	two"
expect_in "script error: fcrun: file:line: message" "$out" "fcrun: $WORK/s.lua:3: stop here"
expect_in "script error has a traceback" "$out" "stack traceback:"
expect_eq "script error exits 1" "$rc" "1"

out=$(printf 'print("from stdin", ...)' | fc - a b 2>&1)
expect_eq "script from stdin" "$out" "from stdin	a	b"

printf 'local fc = require "fc"\nfc.invoke("missing")\n' >"$WORK/e.lua"
out=$(fc "$WORK/e.lua" 2>&1); rc=$?
expect_in "uncaught fc.Error names the script line" "$out" "fcrun: $WORK/e.lua:2: FunctionNotFound (HTTP 404)"
expect_eq "uncaught service error exits 4" "$rc" "4"

out=$(fc -e 'local fc = require "fc"; fc.spawn(function() error("lost") end)' 2>&1); rc=$?
expect_in "a failed task nobody waited for is reported" "$out" "failed and nobody waited for it"
expect_eq "... and fails the run" "$rc" "1"

out=$(fc -e 'local fc = require "fc"; for i = 1, 10 do fc.spawn(error, "lost " .. i) end' 2>&1); rc=$?
expect_eq "ten unobserved failures: three in full" "$(printf '%s\n' "$out" | grep -c 'nobody waited for it: lost')" "3"
expect_in "... and a count of the rest" "$out" "... and 7 more failed tasks nobody waited for"
expect_eq "... exit 1" "$rc" "1"

out=$(fc -e 'local fc = require "fc"; fc.spawn(coroutine.yield)' 2>&1); rc=$?
expect_in "a task that can never finish is a deadlock at exit, not a hang" "$out" "deadlock: 1 task can never finish"
expect_in "... named by where it was created" "$out" "task created at (command line):1"
expect_eq "... exit 1" "$rc" "1"

out=$("$FCRUN" --help); rc=$?
expect_in "--help has examples" "$out" "examples:"
expect_eq "--help exits 0" "$rc" "0"
expect_in "--version" "$("$FCRUN" --version)" "fcrun "

finish
