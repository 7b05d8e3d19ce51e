-- Swallows the timeout with pcall, again and again.
return {
  timeout = 1,
  handler = function()
    while true do pcall(function() while true do end end) end
  end,
}
