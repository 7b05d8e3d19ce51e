-- Returns the event exactly, byte for byte.
return {
  description = "echoes its event",
  handler = function(event) return event end,
}
