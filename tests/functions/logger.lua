-- Writes log lines with print and ctx.log.
return function(event, ctx)
  print("print line", 42)
  ctx.log("ctx line", event)
  return "logged"
end
