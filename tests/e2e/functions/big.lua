-- big: returns as many bytes as the event asks for.
return {
  memory = 256,
  handler = function(event)
    return ("x"):rep(tonumber(event) or 0)
  end,
}
