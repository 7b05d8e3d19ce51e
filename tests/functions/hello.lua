-- The smallest function: a handler that answers with text.
return function(event, ctx)
  return "hello, " .. (event ~= "" and event or "world")
end
