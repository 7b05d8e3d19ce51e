-- slow: sleeps for the number of seconds in the event.
local fc = require "fc"
return {
  timeout = 10,
  handler = function(event)
    fc.sleep(tonumber(event) or 1)
    return "done"
  end,
}
