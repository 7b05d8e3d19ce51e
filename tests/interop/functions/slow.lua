-- Sleeps for the event's number of seconds (default 5): an async task to stop.
return {
  timeout = 30,
  handler = function(event, ctx)
    ctx.sleep(tonumber(event) or 5)
    return "slept"
  end,
}
