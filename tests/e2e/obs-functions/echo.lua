-- echo: returns the event exactly, logs its size and the qualifier.
return {
  qualifiers = {"prod", "1"},
  handler = function(event, ctx)
    print("echo " .. #event .. " bytes, qualifier " .. ctx.qualifier)
    return event
  end,
}
