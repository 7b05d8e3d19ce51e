-- row.lua NAME [PAYLOAD]: one invocation of the fault NAME, for the fault
-- matrix (tests/e2e/faults.sh). Prints "kind code sent status" on stdout
-- ("ok - - STATUS" on success), then re-raises an error so that fcrun's
-- exit status is the one a runbook would see.
local fc = require "fc"
local name, payload = arg[1], arg[2]
local ok, r = pcall(fc.invoke, name, payload, {retry = false})
if ok then
  print("ok", "-", "-", r.status)
  return
end
if not fc.Error.is(r) then error(r, 0) end
print(r.kind, r.code or "-", r.sent == nil and "-" or tostring(r.sent), r.status or "-")
io.stderr:write("message length ", #tostring(r.message), "\n")
error(r, 0)
