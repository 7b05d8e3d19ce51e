-- Sleeps for the event's number of seconds (default 0.1), then answers.
return {
  timeout = 60,
  handler = function(event, ctx)
    local s = tonumber(event) or 0.1
    ctx.sleep(s)
    return "napped " .. s
  end,
}
