-- The benchmark's trivial function: the same answer nginx gives.
return function(event, ctx) return "hello" end
