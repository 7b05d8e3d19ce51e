-- Allocates past its 16 MB memory limit.
return {
  memory = 16,
  handler = function()
    local t = {}
    for i = 1, 1e9 do t[i] = string.rep("x", 1024) .. i end
  end,
}
