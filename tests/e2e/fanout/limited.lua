-- limited: at most 8 at once (more get 429 ResourceExhausted), each taking
-- a few milliseconds. Every run appends "<i>\n" to the file the event names,
-- so a test counts exactly how many times the function ran, and for what.
local json = require("fc").json
return {
  concurrency = 8,
  timeout = 10,
  handler = function(event, ctx)
    local e = json.decode(event)
    ctx.sleep(e.ms / 1000)
    local f = assert(io.open(e.file, "a"))
    f:write(e.i, "\n")
    f:close()
    return {i = e.i}
  end,
}
