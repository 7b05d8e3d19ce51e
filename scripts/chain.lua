-- chain.lua: a chain of three functions, run two ways: step by step from
-- the script, then by the "checkout" function calling the three itself.
--   fcrun --local scripts/functions scripts/chain.lua [QUANTITY]
local fc = require "fc"

local order = {id = "A-1001", quantity = tonumber(arg[1]) or 3}

local body = fc.json.encode(order)
for _, step in ipairs{"validate", "price", "receipt"} do
  local r = fc.invoke(step, body)
  if not r.ok then
    print(step .. " failed: " .. r.error.errorMessage)
    os.exit(3)
  end
  print(string.format("%-8s -> %s", step, r.body))
  body = r.body
end

local r = fc.invoke("checkout", fc.json.encode(order), {log = true})
print("checkout -> " .. r.body)
