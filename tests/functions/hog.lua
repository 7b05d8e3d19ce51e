-- Allocates past its 16 MB memory limit.
return {
  memory = 16,
  timeout = 10,
  handler = function()
    local t = {}
    for i = 1, 1e9 do t[i] = string.rep("x", 65536) .. i end
  end,
}
