-- checkout: chains validate -> price -> receipt inside the emulator, with
-- the same fc module a script uses; a failed step fails the checkout.
local fc = require "fc"

return function(event, ctx)
  local r, report = fc.chain({"validate", "price", "receipt"}, event)
  for _, step in ipairs(report) do ctx.log(step.name .. (step.ok and " ok" or " failed")) end
  if report.failed then
    error(report[report.failed].name .. " failed: " .. r.error.errorMessage)
  end
  return r.body
end
