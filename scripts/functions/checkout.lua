-- checkout: chains validate -> price -> receipt inside the emulator, with
-- the same fc module a script uses; a failed step fails the checkout.
local fc = require "fc"

return function(event, ctx)
  local body = event
  for _, step in ipairs{"validate", "price", "receipt"} do
    local r = fc.invoke(step, body)
    if not r.ok then error(step .. " failed: " .. r.error.errorMessage) end
    ctx.log(step .. " ok")
    body = r.body
  end
  return body
end
