-- boom: always fails.
return function(event)
  error("boom: " .. event)
end
