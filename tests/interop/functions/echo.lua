-- Returns its event byte for byte, and logs one line (for the tail log check).
return {
  timeout = 7,
  memory = 256,
  description = "interop: echo",
  handler = function(event, ctx)
    print("echo got " .. #event .. " bytes")
    return event
  end,
}
