-- bytes: returns bytes that are not UTF-8.
return function()
  return "\255\254\0\1binary"
end
