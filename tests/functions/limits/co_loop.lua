-- The same, inside a coroutine (which has its own hook).
return {
  timeout = 1,
  handler = function()
    coroutine.wrap(function()
      while true do pcall(function() while true do end end) end
    end)()
  end,
}
