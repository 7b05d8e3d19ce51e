-- fanout.lua: invoke a function for many inputs at once. Each call runs in
-- its own task; fc.wait collects the results in order.
--   fcrun --local scripts/functions scripts/fanout.lua [COUNT]
local fc = require "fc"

local n = tonumber(arg[1]) or 10
local t0 = os.clock()
local tasks = {}
for i = 1, n do
  tasks[i] = fc.spawn(fc.invoke, "hello", {name = "caller " .. i})
end
for i = 1, n do
  local r = fc.wait(tasks[i])
  print(i, r:json().message)
end
io.stderr:write(string.format("%d invocations, %.1f ms of CPU in the client\n", n, (os.clock() - t0) * 1000))
