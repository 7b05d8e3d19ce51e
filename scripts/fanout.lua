-- fanout.lua: invoke a function for many inputs at once with fc.map, at
-- most 32 at a time; results come back in input order, failures in errors.
--   fcrun --local scripts/functions scripts/fanout.lua [COUNT]
local fc = require "fc"

local n = tonumber(arg[1]) or 10
local names = {}
for i = 1, n do names[i] = "caller " .. i end

local t0 = fc.now()
local results, errors = fc.map(names, function(name)
  return fc.invoke("hello", {name = name}):json().message
end, {concurrency = 32})

for i = 1, n do print(i, results[i] or ("failed: " .. tostring(errors[i]))) end
io.stderr:write(string.format("%d invocations in %.2f s, %d failed\n", n, fc.now() - t0, errors.n))
os.exit(errors.n == 0 and 0 or 1)
