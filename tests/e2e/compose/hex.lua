-- Returns the event's bytes as lower-case hex: shows exactly what arrived.
return function(event)
  return (event:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end
