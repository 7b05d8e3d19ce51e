-- A C call that runs for seconds without reaching a hook: a backtracking find.
return {
  timeout = 1,
  handler = function()
    local s = ("a"):rep(16)
    return tostring(s:find(("a*"):rep(16) .. "b"))
  end,
}
