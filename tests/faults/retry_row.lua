-- retry_row.lua NAME MODE [ATTEMPTS [CAP]]: one call of the fault NAME under
-- a retry policy (ATTEMPTS, default 3; base 10 ms; CAP, default 10 s), for
-- the retry rows of tests/e2e/faults.sh. MODE: sync (a plain invocation),
-- idempotent (idempotent = true), keyed (async with a task id). Prints
-- "outcome code attempts retryable" ("ok - ATTEMPTS -" on success).
local fc = require "fc"
local name, mode = arg[1], arg[2]
local policy = {attempts = tonumber(arg[3]) or 3, base = 0.01, cap = tonumber(arg[4]) or 10}
local opts = {retry = policy}
if mode == "idempotent" then opts.idempotent = true end
if mode == "keyed" then opts.async, opts.task_id = true, "retry_row_task" end
local ok, r = pcall(fc.invoke, name, "x", opts)
if ok then
  print("ok", "-", r.attempts, "-")
else
  print(r.kind, r.code, r.attempts, tostring(r.retryable))
end
