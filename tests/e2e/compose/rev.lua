-- Returns the event's bytes in reverse order.
return function(event) return event:reverse() end
