-- sleepy: sleeps for the number of seconds in the event; one at a time.
local fc = require "fc"
return {
  timeout = 10,
  concurrency = 1,
  handler = function(event)
    fc.sleep(tonumber(event) or 1)
    return "rested"
  end,
}
