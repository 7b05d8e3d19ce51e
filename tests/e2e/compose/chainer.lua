-- Runs a chain from inside the emulator: rev, a Lua step, rev; answers
-- with the result and the report as JSON.
local fc = require "fc"
return function(event)
  local r, report = fc.chain({"rev", function(body) return body .. "!" end, "rev"}, event)
  local steps = {}
  for k, e in ipairs(report) do steps[k] = e.name .. ":" .. tostring(e.ok) end
  return {body = r.body, status = r.status, steps = steps, failed = report.failed}
end
