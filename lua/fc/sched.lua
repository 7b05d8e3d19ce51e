-- The scheduler: one connection pool, one loop, every task a coroutine.
--
-- A request started inside a task yields; the loop resumes the task when
-- the transfer ends. Started anywhere else (the main chunk, stock lua5.4,
-- a coroutine of the user's own), it drives the loop itself until its own
-- transfer ends, and the tasks make progress meanwhile. Either way the call
-- looks blocking to the script, and nothing blocks the process.

local core = require "fc.core"

local M = {}

local pool              -- the fc.core.Http of this lua_State, made on first use
local tasks = {}        -- coroutine -> task
local ready = {}        -- tasks to resume, in order: {task, values...}
local waiting = {}      -- transfer -> task waiting for it
local timers = {}       -- {at, task} sorted by at
local live = 0          -- tasks not yet finished

local Task = {}
Task.__index = Task
Task.__name = "fc.Task"

function M.pool()
  if not pool then pool = core.http() end
  return pool
end

local now = core.now
M.now = now
local failed = {}       -- finished tasks that raised, until someone looks

-- The task running now, or nil outside any task of ours.
local function current()
  local co = coroutine.running()
  return tasks[co]
end

local function finish(t, ok, ...)
  t.done, t.ok = true, ok
  t.results = table.pack(...)
  live = live - 1
  tasks[t.co] = nil
  if not ok then failed[#failed + 1] = t end
  for _, w in ipairs(t.joiners) do ready[#ready + 1] = {w} end
  t.joiners = {}
end

local function resume(t, ...)
  local co = t.co
  local res = table.pack(coroutine.resume(co, ...))
  if coroutine.status(co) == "dead" then
    if res[1] then
      finish(t, true, table.unpack(res, 2, res.n))
    else
      finish(t, false, res[2], debug.traceback(co, nil, 0))
    end
  end
end

-- Runs what is ready, then polls transfers for at most `wait` seconds.
function M.step(wait)
  if #ready > 0 then -- let the caller re-check its condition before any wait
    while #ready > 0 do
      local batch = ready
      ready = {}
      for _, r in ipairs(batch) do resume(r[1], table.unpack(r, 2)) end
    end
    wait = 0
  end
  local t = now()
  while timers[1] and timers[1].at <= t do
    local timer = table.remove(timers, 1)
    ready[#ready + 1] = {timer.task}
  end
  if #ready > 0 then return end
  if timers[1] then
    local until_next = timers[1].at - t
    if wait == nil or until_next < wait then wait = until_next end
  end
  local _, finished = M.pool():poll(wait or 0)
  for _, x in ipairs(finished) do
    local task = waiting[x]
    if task then
      waiting[x] = nil
      ready[#ready + 1] = {task}
    end
  end
end

-- Waits for transfer x to end: yields inside a task, drives the loop outside.
function M.await(x)
  local t = current()
  if t then
    waiting[x] = t
    while not x:done() do coroutine.yield() end
    return
  end
  while not x:done() do M.step(1) end
end

-- spawn(fn, ...): runs fn(...) as a task; returns the task at once.
function M.spawn(fn, ...)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'spawn' (function expected, got " .. type(fn) .. ")", 2)
  end
  local t = setmetatable({co = coroutine.create(fn), joiners = {}, done = false}, Task)
  tasks[t.co] = t
  live = live + 1
  ready[#ready + 1] = {t, ...}
  return t
end

-- wait(task): its results once it has finished; raises its error again.
function M.wait(t)
  if getmetatable(t) ~= Task then
    error("bad argument #1 to 'wait' (fc.Task expected, got " .. type(t) .. ")", 2)
  end
  local me = current()
  if me == t then error("a task cannot wait for itself", 2) end
  while not t.done do
    if me then
      t.joiners[#t.joiners + 1] = me
      coroutine.yield()
    else
      M.step(1)
    end
  end
  t.observed = true
  if not t.ok then error(t.results[1], 0) end
  return table.unpack(t.results, 1, t.results.n)
end

-- sleep(seconds): a timer inside a task; outside, the loop runs meanwhile.
function M.sleep(s)
  if type(s) ~= "number" or not (s >= 0 and s < math.huge) then -- NaN too
    error(require("fc.error").new{kind = "invalid",
      message = "fc.sleep: seconds must be a finite number, 0 or more, got " .. tostring(s)}, 2)
  end
  local at = now() + s
  local t = current()
  if t then
    local i = #timers + 1
    while i > 1 and timers[i - 1].at > at do i = i - 1 end
    table.insert(timers, i, {at = at, task = t})
    coroutine.yield()
    return
  end
  while now() < at do M.step(math.max(0, at - now())) end
end

-- Runs every task to its end; returns the errors nobody waited for.
function M.drain()
  while live > 0 do M.step(1) end
  local unobserved = {}
  for _, t in ipairs(failed) do
    if not t.observed then unobserved[#unobserved + 1] = t end
  end
  failed = {}
  return unobserved
end

return M
