-- Calls another function through the emulator with the fc module.
local fc = require "fc"
return function(event, ctx)
  local r = fc.invoke("hello", "chain:" .. event)
  return {inner = r.body, status = r.status}
end
