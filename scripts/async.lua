-- async.lua: start a slow job asynchronously and follow it to completion.
--   fcrun --local scripts/functions scripts/async.lua [SECONDS]
local fc = require "fc"

local seconds = tonumber(arg[1]) or 1
local task = fc.invoke_async("report", tostring(seconds))
print("accepted: " .. tostring(task) .. " [request " .. task.request_id .. "]")

-- Poll (backing off from 0.1 s to 1 s) until a final state: Succeeded,
-- Failed, Stopped, Expired or Invalid. Past the deadline, wait raises an
-- fc.Error of kind "timeout" (fcrun exits with 5) and the task runs on.
local rec = task:wait{timeout = seconds + 30, max_interval = 1}
for _, ev in ipairs(rec.events or {}) do
  print(string.format("  %-10s at %d", ev.status, ev.timestamp))
end

if rec.status == "Succeeded" then
  print("result:   " .. rec.returnPayload .. " (" .. rec.durationMs .. " ms)")
else
  print(rec.status .. ": " .. tostring(rec.taskErrorMessage))
  os.exit(1)
end
