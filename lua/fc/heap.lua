-- A binary min-heap of entries {key, seq, ...}, ordered by key, then by
-- seq (so entries with equal keys come out in insertion order). The
-- scheduler keeps its timers here: push and pop are O(log n).

local M = {}
M.__index = M

function M.new()
  return setmetatable({n = 0}, M)
end

local function before(a, b)
  return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2])
end

function M:push(e)
  local i = self.n + 1
  self.n = i
  self[i] = e
  while i > 1 do
    local p = i // 2
    if not before(self[i], self[p]) then break end
    self[i], self[p] = self[p], self[i]
    i = p
  end
end

-- The smallest entry, or nil when empty.
function M:peek()
  return self[1]
end

function M:pop()
  local n = self.n
  if n == 0 then return nil end
  local top = self[1]
  self[1] = self[n] -- two statements: a multiple assignment's order is undefined
  self[n] = nil
  n = n - 1
  self.n = n
  local i = 1
  while true do
    local l, m = 2 * i, i
    if l <= n and before(self[l], self[m]) then m = l end
    if l + 1 <= n and before(self[l + 1], self[m]) then m = l + 1 end
    if m == i then break end
    self[i], self[m] = self[m], self[i]
    i = m
  end
  return top
end

return M
