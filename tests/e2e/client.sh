#!/usr/bin/env bash
# client.sh FCRUN: the real fcrun binary against the emulator on loopback:
# sync and async invocations, qualifiers, tail logs, function errors,
# service errors (404, 403, 429), connection refused, timeout, dry run.
FCRUN=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
start_emulator "$here/functions"

# -- sync, exact bytes, qualifier, tail log ----------------------------------
out=$(fc -e '
  local fc = require "fc"
  local payload = "bytes \0 and \255 exactly"
  local r = fc.invoke("echo", payload, {qualifier = "prod", log = true})
  assert(r.body == payload, "body differs: " .. r.body)
  print(r.status, r.ok, r.qualifier, r.request_id ~= nil, r.duration > 0)
  io.write(r.log)')
expect_in "sync invoke returns 200 and the exact bytes" "$out" "200	true	prod	true	true"
expect_in "tail log is decoded" "$out" "FC Invoke Start RequestId: "
expect_in "tail log has the function's lines" "$out" "echo 21 bytes, qualifier prod"
expect_in "tail log has the summary" "$out" "Billed Duration:"

out=$(fc -e 'local r = require("fc").invoke("echo", {a = 1}); print(r:json().a, r.log)')
expect_eq "a table payload is sent as JSON; no log unless asked" "$out" "1	nil"

out=$(fc -e 'local r = require("fc").invoke("echo"); print(#r.body, r.qualifier)')
expect_eq "nil payload is an empty body; LATEST by default" "$out" "0	LATEST"

# -- async --------------------------------------------------------------------
out=$(fc -e '
  local fc = require "fc"
  local r = fc.invoke("echo", "later", {async = true, task_id = "task_e2e_1"})
  print(r.status, r.task_id, r.body == "")
  local t
  for _ = 1, 100 do
    t = fc.request{method = "GET", action = "GetAsyncTask",
                   path = "/2023-03-30/functions/echo/async-tasks/task_e2e_1"}.body
    if t.status == "Succeeded" then break end
    fc.sleep(0.05)
  end
  print(t.status, t.returnPayload)')
expect_eq "async: 202 with the task id, then Succeeded" "$out" "202	task_e2e_1	true
Succeeded	later"

out=$(fc -e 'local r = require("fc").invoke("echo", "x", {async = true}); print(r.status, #r.task_id > 0)')
expect_eq "async without task id gets a generated one" "$out" "202	true"

# -- function errors are results --------------------------------------------
out=$(fc -e '
  local r = require("fc").invoke("boom", "now", {log = true})
  print(r.status, r.ok, r.error_type, r.error.errorMessage ~= nil)
  print(r.error.errorMessage)
  io.write(r.log)')
expect_in "function error: ok=false with the error type" "$out" "200	false	UnhandledInvocationError	true"
expect_in "function error: decoded error body" "$out" "boom: now"
expect_in "function error: tail log end line" "$out" "Error: Unhandled function error"

# -- service errors are fc.Error ----------------------------------------------
out=$(fc -e '
  local ok, e = pcall(require("fc").invoke, "nope")
  print(ok, e.kind, e.status, e.code, e.request_id ~= nil, e.retryable)
  print(tostring(e))')
expect_in "404 FunctionNotFound is an fc.Error" "$out" "false	service	404	FunctionNotFound	true	false"
expect_in "fc.Error reads well" "$out" "FunctionNotFound (HTTP 404): function 'nope' does not exist."

out=$(fc -e '
  local ok, e = pcall(require("fc").invoke, "echo", "x", {qualifier = "nope"})
  print(ok, e.status)')
expect_in "unknown qualifier is refused" "$out" "false	404"

out=$(ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=wrong \
      timeout 30 "$FCRUN" --endpoint "$ENDPOINT" -e '
  local ok, e = pcall(require("fc").invoke, "echo", "x")
  print(e.status, e.code)')
expect_eq "403 SignatureNotMatch on a wrong secret" "$out" "403	SignatureNotMatch"

out=$(ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIunknown ALIBABA_CLOUD_ACCESS_KEY_SECRET=x \
      timeout 30 "$FCRUN" --endpoint "$ENDPOINT" -e '
  local ok, e = pcall(require("fc").invoke, "echo", "x")
  print(e.status, e.code)')
expect_eq "403 InvalidAccessKeyID on an unknown key" "$out" "403	InvalidAccessKeyID"

out=$(fc -e '
  local fc = require "fc"
  local slow = fc.spawn(fc.invoke, "sleepy", "1")
  fc.sleep(0.3)
  local ok, e = pcall(fc.invoke, "sleepy", "0")
  print(ok, e.status, e.code, e.retryable)
  print(fc.wait(slow).body)')
expect_eq "429 ResourceExhausted past the function's concurrency" "$out" "false	429	ResourceExhausted	true
rested"

# -- transport failures ---------------------------------------------------------
out=$(ALIBABA_CLOUD_ACCESS_KEY_ID=a ALIBABA_CLOUD_ACCESS_KEY_SECRET=b timeout 30 "$FCRUN" \
      --endpoint http://127.0.0.1:9 invoke echo 2>&1)
rc=$?
expect_in "connection refused is a transport error" "$out" "connect error:"
expect_eq "connection refused exits 5" "$rc" "5"

out=$(fc --timeout 0.5 -e '
  local ok, e = pcall(require("fc").invoke, "slow", "3")
  print(e.kind, e.code)' 2>&1)
expect_eq "client timeout is a transport error" "$out" "transport	timeout"

out=$(fc -e '
  local ok, e = pcall(require("fc").invoke, "slow", "3", {timeout = 0.5})
  print(e.code)' 2>&1)
expect_eq "per-call timeout" "$out" "timeout"

# Response bodies are bounded (max_response, 32 MB by default): past that, a
# transport error, never a truncated body or an unbounded buffer.
out=$(fc -e '
  local fc = require "fc"
  print(#fc.invoke("big", tostring(32 * 1024 * 1024)).body)
  local c = fc.client{max_response = 1000}
  print(#c:invoke("big", "1000").body)
  local ok, e = pcall(c.invoke, c, "big", "1001")
  print(ok, e.kind, e.code)' 2>&1)
expect_eq "an answer up to the bound arrives whole; one byte more is refused" "$out" "33554432
1000
false	transport	toobig"
out=$(fc -e '
  local r = require("fc").invoke("big", tostring(32 * 1024 * 1024 + 1))
  print(r.ok, r.error.errorMessage)' 2>&1)
expect_eq "the emulator refuses a function result over 32 MB" "$out" "false	the response is larger than 32 MB"

# Proxies come from the environment, but never for loopback. The proxy here
# is a closed loopback port, so nothing leaves the machine.
out=$(http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 fc -e 'print(require("fc").invoke("echo", "direct").body)' 2>&1)
expect_eq "loopback bypasses http_proxy" "$out" "direct"
out=$(http_proxy=http://127.0.0.1:9 fc -e '
  local c = require("fc").client{endpoint = "http://fc.example.invalid"}
  local ok, e = pcall(c.invoke, c, "echo")
  print(e.code, e.message)' 2>&1)
expect_in "other hosts go through http_proxy" "$out" "connect	Failed to connect to 127.0.0.1 port 9"

# -- dry run and verbose ----------------------------------------------------------
out=$(fc --dry-run -e 'local r = require("fc").invoke("echo", "x"); print("dry", r.dry_run)' 2>&1)
expect_in "dry run prints the signed request" "$out" "fcrun: dry run: POST $ENDPOINT/2023-03-30/functions/echo/invocations"
expect_in "dry run shows the Authorization" "$out" "authorization: ACS3-HMAC-SHA256 Credential=$TEST_KEY_ID,"
expect_in "the script sees the dry-run marker" "$out" "dry	true"

out=$(fc -v -e 'require("fc").invoke("echo", "x")' 2>&1)
expect_in "verbose prints method, path, status, request id, time" "$out" "fcrun: POST /2023-03-30/functions/echo/invocations -> 200 [1-"

# -- fc.request: any operation ----------------------------------------------------
out=$(fc -e '
  local r = require("fc").request{method = "GET", path = "/2023-03-30/functions", action = "ListFunctions"}
  local names = {}
  for _, f in ipairs(r.body.functions) do names[#names + 1] = f.functionName end
  table.sort(names)
  print(r.status, table.concat(names, ","))')
expect_eq "fc.request ListFunctions" "$out" "200	big,boom,echo,sleepy,slow"

finish
