-- An unhandled function error.
local function inner(msg) error(msg) end
return function(event, ctx)
  print("about to fail")
  inner("boom: " .. event)
end
