-- Raises: an unhandled function error.
return function(event, ctx)
  error("boom: " .. event)
end
