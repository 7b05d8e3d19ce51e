-- Reports whether the debug library (which can remove the hook) is reachable.
return function()
  local ok, d = pcall(require, "debug")
  return tostring(debug and debug.sethook) .. " " .. tostring(ok and d and d.sethook)
end
