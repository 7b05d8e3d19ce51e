-- Sets a global and patches a library function.
return function()
  LEAKED = "from polluter"
  string.upper = function() return "patched" end
  return "polluted"
end
