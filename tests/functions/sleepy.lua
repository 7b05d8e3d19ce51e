-- Sleeps for the event's number of seconds (default 1); one at a time.
return {
  timeout = 30,
  concurrency = 1,
  handler = function(event, ctx)
    ctx.sleep(tonumber(event) or 1)
    return "slept " .. (tonumber(event) or 1)
  end,
}
