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

# -- a CLI that fits shell scripts (issue 10) ----------------------------------------
json_get() { "$FCRUN" -e 'local t = require("fc.json").decode(io.read("a"))
  for k in (arg[1]):gmatch("[^.]+") do t = t[tonumber(k) or k] end
  print(type(t) == "table" and require("fc.json").encode(t) or tostring(t))' "$1"; }

out=$(fc invoke echo --payload '{"n": 12345678901234567890, "s": "a\nb"}' -o json); rc=$?
expect_eq "-o json exits 0" "$rc" "0"
expect_eq "-o json is one line" "$(printf '%s\n' "$out" | wc -l)" "1"
expect_eq "-o json: ok" "$(printf '%s' "$out" | json_get ok)" "true"
expect_eq "-o json: status" "$(printf '%s' "$out" | json_get status)" "200"
expect_eq "-o json: a JSON body is embedded as JSON" "$(printf '%s' "$out" | json_get body.s)" "a
b"
expect_in "-o json: the body's own text, no digit lost" "$out" '"body":{"n": 12345678901234567890'
out=$(fc invoke echo --payload 'plain text' --output json --log)
expect_eq "--output json: a text body is a string" "$(printf '%s' "$out" | json_get body)" "plain text"
expect_eq "--output json --log: report" "$(printf '%s' "$out" | json_get report.lines.1)" "echo 10 bytes, qualifier LATEST"
expect_in "--output json --log: log" "$(printf '%s' "$out" | json_get log)" "FC Invoke Start RequestId:"
expect_eq "--output json: request_id" "$(printf '%s' "$out" | json_get request_id | cut -c1-2)" "1-"
printf '\377\376binary' >"$WORK/bin"
out=$(fc invoke echo --payload-file "$WORK/bin" -o json)
expect_eq "-o json: a body that is not UTF-8 is base64" "$(printf '%s' "$out" | json_get body)" "//5iaW5hcnk="
expect_eq "-o json: ... with a flag" "$(printf '%s' "$out" | json_get body_encoding)" "base64"
out=$(fc invoke boom --payload x -o json 2>/dev/null); rc=$?
expect_eq "-o json: a function error exits 3" "$rc" "3"
expect_eq "-o json: error_type" "$(printf '%s' "$out" | json_get error_type)" "UnhandledInvocationError"
expect_in "-o json: error is the decoded error body" "$(printf '%s' "$out" | json_get error.errorMessage)" "boom: x"
out=$(fc invoke missing -o json 2>/dev/null); rc=$?
expect_eq "-o json: a service error exits 4" "$rc" "4"
expect_eq "-o json: a service error still gives an object" "$(printf '%s' "$out" | json_get error.code)" "FunctionNotFound"
out=$(fc invoke echo --async --task-id cli_json_1 -o json)
expect_eq "-o json: task_id" "$(printf '%s' "$out" | json_get task_id)" "cli_json_1"
fc invoke echo -o yaml 2>"$WORK/err"; rc=$?
expect_eq "-o yaml exits 2" "$rc" "2"

out=$(fc invoke echo --async --task-id cli_task_2 --payload x 2>/dev/null)
expect_eq "--async: the task id goes to stdout" "$out" "cli_task_2"
fc --quiet invoke echo --async --payload x >/dev/null 2>"$WORK/err"
expect_eq "--quiet: no note on stderr" "$(cat "$WORK/err")" ""

# options before or after the subcommand; --name=value
out=$(ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
  timeout 30 "$FCRUN" invoke echo --payload after --endpoint "$ENDPOINT" -v 2>"$WORK/err")
expect_eq "host options after the subcommand" "$out" "after"
expect_eq "-v prints each request once" "$(grep -c 'POST /2023-03-30/functions/echo/invocations' "$WORK/err")" "1"
out=$(ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
  timeout 30 "$FCRUN" --endpoint="$ENDPOINT" invoke echo --payload=eq --qualifier=prod)
expect_eq "--name=value forms" "$out" "eq"
out=$(timeout 30 "$FCRUN" --local "$here/functions" -v invoke echo --payload x 2>&1 >/dev/null)
expect_eq "-v with --local prints each request once" "$(printf '%s\n' "$out" | grep -c echo/invocations)" "1"

# help and suggestions
out=$("$FCRUN" help); rc=$?
expect_in "fcrun help" "$out" "usage: fcrun"
expect_eq "fcrun help exits 0" "$rc" "0"
expect_in "fcrun help invoke" "$("$FCRUN" help invoke)" "--each FILE"
expect_in "fcrun invoke --help" "$("$FCRUN" invoke --help)" "--each FILE"
expect_in "fcrun help task" "$("$FCRUN" help task)" "task get NAME ID"
expect_in "fcrun help output" "$("$FCRUN" help output)" "body_encoding"
"$FCRUN" help invok 2>"$WORK/err"; rc=$?
expect_eq "unknown help topic exits 2" "$rc" "2"
expect_in "unknown help topic: did you mean" "$(cat "$WORK/err")" "did you mean invoke?"
"$FCRUN" --endpiont x invoke echo 2>"$WORK/err"; rc=$?
expect_eq "misspelt host option exits 2" "$rc" "2"
expect_in "misspelt host option: did you mean" "$(cat "$WORK/err")" "did you mean --endpoint?"
fc invoke echo --qualifer prod 2>"$WORK/err"; rc=$?
expect_eq "misspelt invoke option exits 2" "$rc" "2"
expect_in "misspelt invoke option: did you mean" "$(cat "$WORK/err")" "did you mean --qualifier?"
fc invoke echoo 2>"$WORK/err"; rc=$?
expect_eq "a function that does not exist exits 4" "$rc" "4"
expect_in "a function that does not exist: did you mean" "$(cat "$WORK/err")" "did you mean echo?"
(cd "$WORK" && "$FCRUN" invok echo 2>"$WORK/err"); rc=$?
expect_in "a misspelt subcommand: did you mean" "$(cat "$WORK/err")" "did you mean 'fcrun invoke'?"

# fcrun task get|list|stop|wait
fc invoke slow --async --task-id cli_slow_1 --payload 0.2 >/dev/null 2>&1
out=$(fc task wait slow cli_slow_1); rc=$?
expect_eq "task wait exits 0 when the task succeeded" "$rc" "0"
expect_eq "task wait prints the task" "$(printf '%s' "$out" | json_get status)" "Succeeded"
out=$(fc task get slow cli_slow_1 -o json)
expect_eq "task get" "$(printf '%s' "$out" | json_get taskId)" "cli_slow_1"
out=$(fc task list slow)
expect_in "task list: one JSON line per task" "$out" '"taskId":"cli_slow_1"'
fc invoke echo --async --qualifier prod --task-id cli_echo_prod --payload x >/dev/null 2>&1
fc invoke echo --async --task-id cli_echo_latest --payload x >/dev/null 2>&1
fc task wait echo cli_echo_prod --qualifier prod >/dev/null 2>&1
fc task wait echo cli_echo_latest >/dev/null 2>&1
out=$(fc task list echo --qualifier prod)
expect_in "task list --qualifier: that alias's tasks" "$out" '"taskId":"cli_echo_prod"'
expect_not_in "task list --qualifier: no other version's" "$out" '"taskId":"cli_echo_latest"'
out=$(fc task list echo)
expect_in "task list (no qualifier): every version's" "$out" '"taskId":"cli_echo_prod"'
expect_in "... the latest's too" "$out" '"taskId":"cli_echo_latest"'
fc task list echo --qualifier 'a b' 2>"$WORK/err"; rc=$?
expect_eq "task list with a malformed qualifier exits 2" "$rc" "2"
fc invoke slow --async --task-id cli_slow_2 --payload 5 >/dev/null 2>&1
fc task wait slow cli_slow_2 --wait-timeout 0.3 >/dev/null 2>"$WORK/err"; rc=$?
expect_eq "task wait --wait-timeout exits 5" "$rc" "5"
fc task stop slow cli_slow_2 >/dev/null; rc=$?
expect_eq "task stop exits 0" "$rc" "0"
out=$(fc task wait slow cli_slow_2 2>"$WORK/err"); rc=$?
expect_eq "task wait on a stopped task exits 3" "$rc" "3"
expect_in "... and says how it ended" "$(cat "$WORK/err")" "ended Stopped"
fc task get slow no_such_task 2>"$WORK/err"; rc=$?
expect_eq "task get of an unknown task exits 4" "$rc" "4"
fc task gte slow x 2>"$WORK/err"; rc=$?
expect_eq "task with a misspelt operation exits 2" "$rc" "2"
expect_in "... and suggests one" "$(cat "$WORK/err")" "did you mean get?"

finish
