-- Blocks in one C call (a backtracking find) for far longer than any test.
return {
  timeout = 60,
  handler = function()
    local s = ("a"):rep(24)
    return tostring(s:find(("a*"):rep(24) .. "b"))
  end,
}
