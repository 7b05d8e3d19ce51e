-- An unhandled function error naming the event's size.
return function(event) error("fail got " .. #event .. " bytes") end
