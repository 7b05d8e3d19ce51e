-- A 16 MB function: a larger payload must become a function error, not a crash.
return {memory = 16, handler = function(event) return #event end}
