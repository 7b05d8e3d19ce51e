-- Counts its calls in a global; "spin" runs past the timeout.
return {
  timeout = 1,
  handler = function(event)
    N = (N or 0) + 1
    if event == "spin" then while true do end end
    return tostring(N)
  end,
}
