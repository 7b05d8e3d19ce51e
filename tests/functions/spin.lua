-- Never returns: stopped by its 1 s timeout.
return {
  timeout = 1,
  handler = function()
    local n = 0
    while true do
      n = n + 1
      pcall(function() end) -- the timeout cannot be swallowed by pcall
    end
  end,
}
