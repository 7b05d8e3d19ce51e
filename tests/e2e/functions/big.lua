-- big: returns as many bytes as the event asks for.
return {
  memory = 256,
  timeout = 60, -- string.rep of 32 MB is one long C call: the emulator now enforces the timeout there too
  handler = function(event)
    return ("x"):rep(tonumber(event) or 0)
  end,
}
