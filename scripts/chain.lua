-- chain.lua: a chain of three functions, run two ways: from the script with
-- fc.chain, then by the "checkout" function chaining the three itself.
--   fcrun --local scripts/functions scripts/chain.lua [QUANTITY]
local fc = require "fc"

local order = {id = "A-1001", quantity = tonumber(arg[1]) or 3}

local r, report = fc.chain({"validate", "price", "receipt"}, order)
for k, step in ipairs(report) do
  print(string.format("%d %-8s %s %6.1f ms [request %s]", k, step.name,
    step.ok and "ok    " or "failed", step.duration * 1000, step.request_id))
end
if report.failed then
  print(report[report.failed].name .. " failed: " .. r.error.errorMessage)
  os.exit(3)
end
print("receipt  -> " .. r.body)

local c = fc.invoke("checkout", order, {log = true})
print("checkout -> " .. c.body)
