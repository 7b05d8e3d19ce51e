-- picky: fails when the event holds "bad"; else returns it.
return function(event)
  if event:find("bad", 1, true) then error("picky: refused " .. event) end
  return event
end
