-- echo: the event back, byte for byte.
return function(event) return event end
