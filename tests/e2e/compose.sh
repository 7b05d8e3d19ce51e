#!/usr/bin/env bash
# compose.sh FCRUN: chains (fc.chain), async tasks (fc.invoke_async,
# fc.AsyncTask) and the paged iterators (fc.async_tasks, fc.functions)
# against the emulator serving tests/e2e/compose/, plus a purpose-built
# server for what the emulator never does (no task id, circular paging).
FCRUN=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
start_emulator "$here/compose"

# -- chains -------------------------------------------------------------------
out=$(fc -e '
  local fc = require "fc"
  local payload = "a\0b\255\254c\r\n\128end"
  local seen
  local r, report = fc.chain({"rev", function(body) seen = body; return body .. "\255\0" end, "rev"},
                             payload)
  print(seen == payload:reverse(), r.body == "\0\255" .. payload, r.ok, #report, report.failed)
  for k, e in ipairs(report) do print(k, e.name:match("^[%w_-]+$") or "lua", e.ok, e.status,
    e.request_id ~= nil, type(e.duration)) end
  local h = fc.chain({"rev", "hex"}, payload)
  print(h.body == fc.hex.encode(payload:reverse()))')
expect_eq "chain: each body is the next payload byte for byte; a Lua step transforms" "$out" "true	true	true	3	nil
1	rev	true	200	true	number
2	lua	true	nil	false	number
3	rev	true	200	true	number
true"

out=$(fc -e '
  local fc = require "fc"
  local r, report = fc.chain({"rev", "fail", "hex"}, "12345")
  print(r.ok, r.error_type, r.error.errorMessage:match("fail got 5 bytes") ~= nil)
  print(#report, report.failed, report[1].ok, report[2].ok, report[2].name, report[2].error_type,
        report[2].request_id == r.request_id)')
expect_eq "chain: a function error at step 2 of 3 stops it and returns the result" "$out" "false	UnhandledInvocationError	true
2	2	true	false	fail	UnhandledInvocationError	true"

out=$(fc -e '
  local fc = require "fc"
  local ok, err = pcall(fc.chain, {"rev", "missing", "hex"}, "x")
  print(ok, fc.Error.is(err), err.kind, err.code, err.step, #err.report, err.report.failed,
        err.report[1].ok)')
expect_eq "chain: a service error at step 2 raises fc.Error with err.step" "$out" \
  "false	true	service	FunctionNotFound	2	2	2	true"

out=$(fc -e '
  local fc = require "fc"
  local _, err = pcall(fc.chain, {"rev", "missing"}, "x")
  print(err.report[2].ok, err.report[2].error == tostring(err), fc.json.encode(err.report) ~= nil)')
expect_eq "chain: err.report says what failed and holds no cycle" "$out" "false	true	true"

out=$(fc -e '
  local fc = require "fc"
  local c = fc.client{timeout = 0.5}
  local ok, err = pcall(c.chain, c, {"rev", "nap", "hex"}, "2")
  print(ok, err.kind, err.code, err.step)')
expect_eq "chain: a transport error at step 2 raises fc.Error with err.step" "$out" \
  "false	transport	timeout	2"

out=$(fc -e '
  local fc = require "fc"
  local ok, err = pcall(fc.chain, {"rev", function() error("bad transform") end, "hex"}, "x")
  print(ok, err)
  local ok2, e2 = pcall(fc.chain, {"rev", {"hex", qualifier = "a b"}, "9bad"})
  print(ok2, e2.kind, e2)
  print(pcall(fc.chain, {}))
  local _, e3 = pcall(fc.chain, {"rev", {"hex", log = "yes"}})
  print(e3)
  local _, e4 = pcall(fc.chain, {"rev", 42})
  print(e4)
  print(select(2, pcall(fc.chain, {"rev", {"hex", timeout = 0}})))
  print(select(2, pcall(fc.chain, {"rev"}, "x", {timeout = -1})))
  print(select(2, pcall(fc.chain, {"rev"}, "x", {retries = 3})))
  print(select(2, pcall(fc.chain, {{"rev", retry = {tries = 3}}}, "x")))
  print("retry options pass", fc.chain({{"rev", retry = false, idempotent = true}}, "ab",
                                       {retry = {attempts = 2}}).body)' 2>&1)
expect_in "chain: a Lua step error names the step" "$out" "false	fc.chain: step 2 ("
expect_in "chain: a Lua step error keeps its message" "$out" "bad transform"
expect_in "chain: steps are checked before anything is sent" "$out" \
  "false	invalid	fc.chain: step 2: qualifier 'a b' is invalid"
expect_in "chain: an empty chain is refused" "$out" "steps must hold at least one step"
expect_in "chain: step options are checked" "$out" "step 2: option 'log' must be a boolean, got string"
expect_in "chain: a step timeout must be positive" "$out" "fc.chain: step 2: option 'timeout' must be positive"
expect_in "chain: the chain's timeout must be positive" "$out" "fc.chain: option 'timeout' must be positive"
expect_in "chain: unknown chain options are refused" "$out" "fc.chain: unknown option 'retries'"
expect_in "chain: a step's retry policy is checked" "$out" "fc.chain: step 1: retry has no field 'tries'"
expect_in "chain: retry and idempotent are step options" "$out" "retry options pass	ba"
expect_in "chain: a step of the wrong type is refused" "$out" \
  "step 2 must be a function name, a table {name, ...} or a Lua function, got number"

out=$(fc -e '
  local fc = require "fc"
  local r = fc.invoke("chainer", "abc\255")
  local v = r:json()
  print(r.ok, v.body == "!abc\255", v.status, #v.steps, v.steps[1], v.steps[3], v.failed)')
expect_eq "chain: runs inside an emulator function" "$out" "true	true	200	3	rev:true	rev:true	nil"

# -- async tasks ----------------------------------------------------------------
out=$(fc -e '
  local fc = require "fc"
  local t0 = fc.now()
  local deadline = t0 + 30
  local tasks = {}
  for i = 1, 20 do
    tasks[i] = fc.invoke_async("nap", i == 7 and "60" or "0.3", {task_id = "twenty_" .. i})
  end
  assert(tasks[7]:stop() == true)
  local waiters = {}
  for i, t in ipairs(tasks) do
    waiters[i] = fc.spawn(t.wait, t, {timeout = deadline - fc.now()})
  end
  local count = {}
  for i, w in ipairs(waiters) do
    local rec = fc.wait(w)
    count[rec.status] = (count[rec.status] or 0) + 1
    if i == 7 then print("task 7", rec.status, rec.taskId) end
  end
  print(count.Succeeded, count.Stopped, fc.now() - t0 < 25)
  local t = tasks[1]
  print(t.id, t.function_name, t.qualifier, t.request_id ~= nil, tostring(t))')
expect_eq "async: 20 tasks waited with a deadline, one stopped" "$out" "task 7	Stopped	twenty_7
19	1	true
twenty_1	nap	nil	true	fc.AsyncTask(nap twenty_1)"

out=$(fc -e '
  local fc = require "fc"
  local now = fc.now
  local t = fc.invoke_async("nap", "2")
  local t0 = now()
  local ok0, err0 = pcall(t.wait, t, {timeout = 0})
  print(ok0, err0.kind)
  local ok, err = pcall(t.wait, t, {timeout = 0.3})
  local waited = now() - t0
  print(ok, fc.Error.is(err), err.kind, err.retryable, waited >= 0.3, waited < 10)
  print(t:status().status)
  local rec = t:wait{interval = 0.05, max_interval = 0.2}
  print(rec.status, rec.returnPayload)
  print(tostring(err):match("is not done after 0.3 seconds") ~= nil)')
expect_eq "async: wait timeout raises kind timeout and the task keeps running" "$out" \
  "false	timeout
false	true	timeout	false	true	true
Running
Succeeded	napped 2
true"

out=$(fc -e '
  local fc = require "fc"
  local t = fc.invoke_async("fail", "xy", {qualifier = "LATEST"})
  local rec = t:wait()
  print(rec.status, rec.taskErrorMessage:match("fail got 2 bytes") ~= nil, t.qualifier)
  local ok, e = pcall(t.stop, t)
  print(ok, e.kind, e.status)
  print(fc.AsyncTask.FINAL.Succeeded, fc.AsyncTask.FINAL.Running, fc.AsyncTask.is(t))
  local ok2, e2 = pcall(t.wait, t, {timeout = -1})
  print(e2.kind, e2)
  local ok3, e3 = pcall(fc.invoke_async, "nap", "1", {async = false})
  print(e3)')
expect_eq "async: a failed task, stop after the end, options checked" "$out" "Failed	true	LATEST
false	service	400
true	nil	true
invalid	fc.AsyncTask:wait: option 'timeout' must be a finite number of seconds >= 0
fc.invoke_async: option 'async' cannot be false here"

out=$(fc -e '
  local fc = require "fc"
  fc.invoke_async("nap", "5"):wait{timeout = 0.2}' 2>&1)
rc=$?
expect_eq "async: an uncaught wait timeout exits with 5, like transport" "$rc" "5"
expect_in "async: an uncaught wait timeout reads well" "$out" "is not done after 0.2 seconds (last status:"

out=$(fc --dry-run -e '
  local fc = require "fc"
  local t = fc.invoke_async("nap", "1")
  print(select(2, pcall(t.status, t)))' 2>/dev/null)
expect_eq "async: a dry-run task without task_id says why it has no id" "$out" \
  "fc.AsyncTask:status: task of function 'nap' has no id: it was a dry run (pass task_id to name it)"

# -- iterators across pages ---------------------------------------------------
out=$(fc -e '
  local fc = require "fc"
  local tasks = {}
  for i = 1, 7 do tasks[i] = fc.invoke_async("rev", "p" .. i, {task_id = "page_" .. i}) end
  fc.invoke_async("rev", "other", {task_id = "other_1"}):wait()
  for _, t in ipairs(tasks) do t:wait() end
  local raw = fc.request{action = "ListAsyncTasks", path = "/2023-03-30/functions/rev/async-tasks",
                         query = {prefix = "page_", limit = 2}}.body
  print(#raw.tasks, raw.nextToken ~= nil)
  local ids, n = {}, 0
  for rec in fc.async_tasks("rev", {prefix = "page_", limit = 2}) do
    n = n + 1
    ids[rec.taskId] = (ids[rec.taskId] or 0) + 1
    assert(rec.status == "Succeeded")
  end
  local once = true
  for i = 1, 7 do once = once and ids["page_" .. i] == 1 end
  print(n, once)
  local all = 0
  for _ in fc.async_tasks("rev", {limit = 3}) do all = all + 1 end
  local succeeded = 0
  for _ in fc.async_tasks("rev", {status = "Succeeded", limit = 1}) do succeeded = succeeded + 1 end
  local future = 0
  for _ in fc.async_tasks("rev", {started_after = os.time() + 3600}) do future = future + 1 end
  local past = 0
  for _ in fc.async_tasks("rev", {started_after = os.time() - 3600, started_before = os.time() + 60,
                                  limit = 4}) do past = past + 1 end
  print(all, succeeded, future, past)')
expect_eq "iterators: fc.async_tasks across pages, each task once, filters" "$out" "2	true
7	true
8	8	0	8"

out=$(fc -e '
  local fc = require "fc"
  local names = {}
  for f in fc.functions{limit = 2} do names[#names + 1] = f.functionName end
  print(table.concat(names, " "))
  local n = 0
  for f in fc.functions{prefix = "re", limit = 1} do n = n + 1; print(f.functionName, f.runtime) end
  print(n)
  local c = 0
  for _ in fc.functions() do c = c + 1 end
  print(c)')
expect_eq "iterators: fc.functions across pages, with a prefix" "$out" "chainer fail hex nap rev
rev	custom.lua5.4
1
5"

out=$(fc -e '
  local fc = require "fc"
  print(select(2, pcall(fc.async_tasks, "rev", {status = "Done"})))
  print(select(2, pcall(fc.async_tasks, "rev", {limit = 0})))
  print(select(2, pcall(fc.async_tasks, "rev", {sort = "asc"})))
  print(select(2, pcall(fc.async_tasks, "9rev")))
  print(select(2, pcall(fc.functions, {prefix = 3})))
  local it = fc.async_tasks("nope")
  local ok, e = pcall(it)
  print(e.code)' 2>&1)
expect_in "iterators: a status FC never reports is refused" "$out" "status 'Done' is not one FC reports ("
expect_in "iterators: limit is checked" "$out" "filter 'limit' (records per page) must be an integer from 1 to 100"
expect_in "iterators: unknown filters are refused" "$out" "fc.async_tasks: unknown filter 'sort'"
expect_in "iterators: the function name is checked" "$out" "function name '9rev' is invalid"
expect_in "iterators: filter types are checked" "$out" "fc.functions: filter 'prefix' must be a string, got number"
expect_in "iterators: a service error is raised by the loop" "$out" "FunctionNotFound"

# -- a server that returns no task id and pages in a circle ----------------------
cat >"$WORK/odd.py" <<'PY'
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, status, body=b"", headers={}):
        n = int(self.headers.get("content-length") or 0)
        if n: self.rfile.read(n)
        self.send_response(status)
        for k, v in headers.items(): self.send_header(k, v)
        self.send_header("x-fc-request-id", "1-00000000-odd")
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    polls = 0
    def do_POST(self):
        if "/functions/flaky/" in self.path:  # a task whose polls are throttled at first
            self.answer(202, headers={"x-fc-async-task-id": "t1"})
        else:
            self.answer(202)  # accepted, but no x-fc-async-task-id: task mode is off
    def do_GET(self):
        sys.stderr.write("GET " + self.path + "\n")
        throttled = json.dumps({"Code": "ResourceThrottled", "Message": "slow down"}).encode()
        if "/functions/flaky/async-tasks/t1" in self.path:
            H.polls += 1
            if H.polls <= 2:
                self.answer(503, throttled)
            else:
                self.answer(200, json.dumps({"taskId": "t1", "status": "Succeeded"}).encode())
        elif "/functions/down/async-tasks/" in self.path:
            self.answer(503, throttled)
        elif "/functions/gone/async-tasks/" in self.path:
            self.answer(404, json.dumps({"Code": "AsyncTaskNotFound", "Message": "no such task"}).encode())
        else:
            self.answer(200, json.dumps({"functions": [{"functionName": "a"}], "nextToken": "again"}).encode())
    def log_message(self, *a): pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
threading.Timer(120, s.shutdown).start()
s.serve_forever()
PY
python3 "$WORK/odd.py" >"$WORK/odd.port" 2>"$WORK/odd.log" &
ODD_PID=$!
for _ in $(seq 100); do [ -s "$WORK/odd.port" ] && break; sleep 0.1; done
ODD="http://127.0.0.1:$(cat "$WORK/odd.port")"
out=$(ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
  timeout 60 "$FCRUN" --endpoint "$ODD" -e '
  local fc = require "fc"
  local t = fc.invoke_async("report", "1")
  print(t.id, t.request_id)
  for _, m in ipairs{"status", "wait", "stop"} do
    local ok, e = pcall(t[m], t)
    print(m, ok, e.kind, tostring(e):match("async task mode is off") ~= nil,
          tostring(e):match("PutAsyncInvokeConfig") ~= nil)
  end
  print(tostring(select(2, pcall(t.status, t))))
  local n = 0
  local ok, e = pcall(function() for _ in fc.functions() do n = n + 1 end end)
  print(n, e.code, e)
  local flaky = fc.invoke_async("flaky", "x")
  print("flaky", flaky.id, flaky:wait{timeout = 30, interval = 0.01}.status)
  local down = fc.invoke_async("down", "x", {task_id = "t2"})
  local ok2, e2 = pcall(down.wait, down, {timeout = 0.3, interval = 0.01})
  print("down", e2.kind, e2.cause and e2.cause.code, tostring(e2):match("last poll: ResourceThrottled") ~= nil)
  local gone = fc.invoke_async("gone", "x", {task_id = "t3"})
  local ok3, e3 = pcall(gone.wait, gone, {timeout = 30})
  print("gone", e3.kind, e3.code)' 2>&1)
kill "$ODD_PID" 2>/dev/null; wait "$ODD_PID" 2>/dev/null
expect_in "async task mode off: no task id" "$out" "nil	1-00000000-odd"
expect_in "async task mode off: status says so" "$out" "status	false	config	true	true"
expect_in "async task mode off: wait says so" "$out" "wait	false	config	true	true"
expect_in "async task mode off: stop says so" "$out" "stop	false	config	true	true"
expect_in "async task mode off: the error names the function and the fix" "$out" \
  "FC returned no async task id for function 'report' [request 1-00000000-odd]: its async task mode is off. Turn it on with PutAsyncInvokeConfig"
expect_not_in "async task mode off: no GetAsyncTask or StopAsyncTask is sent" "$(cat "$WORK/odd.log")" "/functions/report/async-tasks"
expect_in "async: with a deadline, throttled polls are polls without news" "$out" "flaky	t1	Succeeded"
expect_in "async: a deadline passed amid throttled polls says so" "$out" "down	timeout	ResourceThrottled	true"
expect_in "async: a poll error that is not safe to retry is raised at once" "$out" "gone	service	AsyncTaskNotFound"
expect_in "iterators: a server that pages in a circle is an error, not a hang" "$out" \
  "1	InvalidResponse	InvalidResponse (HTTP 200): ListFunctions returned nextToken 'again' twice"
finish
