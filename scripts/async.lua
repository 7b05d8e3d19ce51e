-- async.lua: start a slow job asynchronously and follow it to completion.
--   fcrun --local scripts/functions scripts/async.lua [SECONDS]
local fc = require "fc"

local seconds = arg[1] or "1"
local r = fc.invoke("report", seconds, {async = true})
print("accepted: task " .. r.task_id .. " (HTTP " .. r.status .. ")")

-- Poll GetAsyncTask until the task reaches a final state.
local final = {Succeeded = true, Failed = true, Stopped = true, Expired = true, Invalid = true}
local task
repeat
  fc.sleep(0.2)
  task = fc.request{method = "GET", action = "GetAsyncTask",
                    path = "/2023-03-30/functions/report/async-tasks/" .. r.task_id}.body
  print("status:   " .. task.status)
until final[task.status]

if task.status == "Succeeded" then
  print("result:   " .. task.returnPayload)
else
  print("failed:   " .. tostring(task.taskErrorMessage))
  os.exit(1)
end
