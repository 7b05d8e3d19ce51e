-- Sees what another function left behind, if anything.
return function()
  return tostring(LEAKED) .. " " .. string.upper("clean")
end
