-- fc.sleep past the timeout (or until StopAsyncTask).
local fc = require "fc"
return {
  timeout = 1,
  handler = function(event)
    fc.sleep(tonumber(event) or 10)
    return "woke"
  end,
}
