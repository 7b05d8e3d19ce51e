-- fc.sleep inside pcall, for 30 s: only StopAsyncTask ends it early.
local fc = require "fc"
return {
  timeout = 60,
  handler = function(event)
    for _ = 1, 30 do pcall(fc.sleep, 1) end
    return "woke"
  end,
}
