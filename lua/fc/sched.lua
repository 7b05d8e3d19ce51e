-- The scheduler: one connection pool, one loop, every task a coroutine.
--
-- A request started inside a task yields; the loop resumes the task when
-- the transfer ends. Started anywhere else (the main chunk, stock lua5.4,
-- a coroutine of the user's own), it drives the loop itself until its own
-- transfer ends, and the tasks make progress meanwhile. Either way the call
-- looks blocking to the script, and nothing blocks the process.
--
-- A blocked task waits for exactly one wake-up: each block takes a new
-- ticket, and a wake-up (a timer, a finished transfer, a finished task, a
-- freed slot) resumes the task only when it carries the current ticket. So
-- a timer left in the heap by a wait that ended early, or a transfer that
-- finished after its waiter gave up, is ignored without bookkeeping.

local core = require "fc.core"
local Error = require "fc.error"

local M = {}

local now = core.now
M.now = now

local pool              -- the fc.core.Http of this lua_State, made on first use
local tasks = {}        -- coroutine -> task
local ready = {}        -- wake-ups to deliver, in order: task, ticket, task, ticket...
local spare = {}        -- the previous turn's ready list, emptied, kept for its size
local waiting = {}      -- transfer -> the task waiting for it
local waiting_ticket = {} -- transfer -> that task's ticket
local timers = require("fc.heap").new() -- {at, seq, task, ticket}
local seq = 0           -- timer insertion order, so equal times stay FIFO
local live = 0          -- tasks not yet finished
local failed = {}       -- finished tasks that raised, until someone looks

local Task = {}
Task.__index = Task
Task.__name = "fc.Task"
function Task:__tostring()
  return string.format("fc.Task(%s, created at %s)", self.done and "done" or
    (self.blocked and "waiting for " .. self.blocked or "ready"), self.where)
end

function M.pool()
  if not pool then pool = core.http() end
  return pool
end

-- ---- tasks ------------------------------------------------------------------

-- The task running now, or nil outside any task of ours.
local function current()
  return tasks[coroutine.running()]
end
M.current = current

-- Blocks the running task until the loop delivers a wake-up carrying its
-- current ticket (the loop drops any other); `why` names what it waits for,
-- for deadlock reports.
local function unblock(t, _, ...)
  t.blocked = nil
  return ...
end

local function block(t, why)
  t.blocked = why
  return unblock(t, coroutine.yield())
end

-- A new ticket for t's next block.
local function ticket(t)
  t.ticket = t.ticket + 1
  return t.ticket
end

local function wake(t, tk)
  local n = #ready
  ready[n + 1], ready[n + 2] = t, tk
end

local function finish(t, ok, ...)
  t.done, t.ok = true, ok
  t.results = table.pack(...)
  live = live - 1
  tasks[t.co] = nil
  if not ok then failed[#failed + 1] = t end
  for _, j in ipairs(t.joiners) do wake(j[1], j[2]) end
  t.joiners = nil
end

local function resumed(t, ok, ...)
  local co = t.co
  if coroutine.status(co) == "dead" then
    if ok then
      finish(t, true, ...)
    else
      finish(t, false, ..., debug.traceback(co, nil, 0))
    end
  end
end

-- Delivers a wake-up with ticket tk: a task's first resume passes its
-- arguments, later ones the ticket to block().
local function resume(t, tk)
  local args = t.args
  if args then
    t.args = nil
    return resumed(t, coroutine.resume(t.co, table.unpack(args, 1, args.n)))
  end
  return resumed(t, coroutine.resume(t.co, tk))
end

-- ---- the loop -----------------------------------------------------------

-- One turn: due timers become wake-ups, curl is polled (at once when
-- something is ready, else for at most `wait` seconds or until the next
-- timer), then the wake-ups are delivered. Polling on every turn means no
-- task can starve transfers, however it loops. Returns false when nothing
-- can ever happen again: no wake-up, no timer, no transfer.
function M.step(wait)
  local t = now()
  while timers[1] and timers[1][1] <= t do
    local e = timers:pop()
    wake(e[3], e[4])
  end
  if #ready > 0 then
    wait = 0
  elseif timers[1] then
    local until_next = timers[1][1] - t
    if wait == nil or until_next < wait then wait = until_next end
  end
  -- curl_multi_poll sleeps its whole timeout when it has nothing to watch,
  -- so this is also how the loop sleeps until the next timer.
  local running, finished = M.pool():poll(wait or 0)
  for i = 1, #finished do
    local x = finished[i]
    local w = waiting[x]
    if w then
      wake(w, waiting_ticket[x])
      waiting[x], waiting_ticket[x] = nil, nil
    end
  end
  local n = #ready
  if n == 0 then return running > 0 or timers[1] ~= nil end
  local batch = ready
  ready, spare = spare or {}, nil -- (a step inside a resume finds no spare)
  for i = 1, n, 2 do
    local task, tk = batch[i], batch[i + 1]
    batch[i], batch[i + 1] = nil, nil
    if not task.done and tk == task.ticket then resume(task, tk) end
  end
  spare = batch
  return true
end

-- The tasks that can never finish, named by where they were created.
local function stuck_report()
  local list = {}
  for _, t in pairs(tasks) do list[#list + 1] = t end
  table.sort(list, function(a, b) return a.id < b.id end)
  local lines = {}
  for i = 1, math.min(#list, 10) do
    lines[i] = string.format("  task created at %s, waiting for %s", list[i].where,
                             list[i].blocked or "a resume that never comes (it yielded by itself)")
  end
  if #list > 10 then lines[#lines + 1] = string.format("  ... and %d more", #list - 10) end
  return string.format("deadlock: %d task%s can never finish (nothing left to wake %s):\n%s",
    #list, #list == 1 and "" or "s", #list == 1 and "it" or "them", table.concat(lines, "\n"))
end

-- Drives the loop until done() holds, or until the deadline (a time on
-- the now() clock) when there is one; raises on a deadlock.
local function drive(done, level, deadline)
  while not done() do
    local wait = 1
    if deadline then
      wait = deadline - now()
      if wait <= 0 then return end
      if wait > 1 then wait = 1 end
    end
    if not M.step(wait) and not done() then error(stuck_report(), level + 1) end
  end
end

-- Waits for transfer x to end: yields inside a task, drives the loop outside.
function M.await(x)
  local t = current()
  if not t then return drive(function() return x:done() end, 2) end
  if x:done() then return end
  waiting[x], waiting_ticket[x] = t, ticket(t)
  block(t, "a request")
end

-- ---- slots: bounded concurrency per key (an endpoint, a map) --------------

-- A Slots object admits at most `limit` holders; the rest wait in order
-- in a queue (q[head..tail]). release() hands the slot straight to the
-- first waiter. `what` names a slot in deadlock reports ("a connection").
local Slots = {}
Slots.__index = Slots

function M.slots(limit, what)
  return setmetatable({limit = limit, held = 0, q = {}, head = 1, tail = 0, what = what}, Slots)
end

function Slots:acquire()
  if self.held < self.limit and self.head > self.tail then
    self.held = self.held + 1
    return
  end
  local t = current()
  local w = {granted = false}
  self.tail = self.tail + 1
  self.q[self.tail] = w
  if t then
    w.task, w.ticket = t, ticket(t)
    block(t, string.format("%s (%d of %d held)", self.what or "a slot", self.held, self.limit))
  else
    drive(function() return w.granted end, 2)
  end
end

-- Gives waiters the slots that are free (after a release or a new limit).
function Slots:grant()
  local q = self.q
  while self.held < self.limit and self.head <= self.tail do
    local w = q[self.head]
    q[self.head] = nil
    self.head = self.head + 1
    self.held = self.held + 1
    w.granted = true
    if w.task then wake(w.task, w.ticket) end
  end
end

function Slots:release()
  self.held = self.held - 1
  self:grant()
end

function Slots:set_limit(n)
  self.limit = n
  self:grant()
end

-- ---- the public task API -------------------------------------------------

local ids = 0

-- "file:line" of the code `level` frames above the caller.
function M.where(level)
  local info = debug.getinfo(level + 1, "Sl")
  return info and (info.short_src .. ":" .. (info.currentline or "?")) or "?"
end

-- Starts fn(...) as a task created at `where` (for reports).
function M.start(where, fn, ...)
  ids = ids + 1
  local t = setmetatable({co = coroutine.create(fn), joiners = {}, done = false, ticket = 0,
    id = ids, where = where, args = table.pack(...)}, Task)
  tasks[t.co] = t
  live = live + 1
  wake(t, 0)
  return t
end

-- spawn(fn, ...): runs fn(...) as a task; returns the task at once.
function M.spawn(fn, ...)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'spawn' (function expected, got " .. type(fn) .. ")", 2)
  end
  return M.start(M.where(2), fn, ...)
end


local function timeout_error(fn, what, seconds)
  return Error.new{kind = "timeout", message = string.format("fc.%s: %s within %g s", fn, what, seconds)}
end
M.timeout_error = timeout_error

-- A duration argument: a finite number of seconds >= 0, else an "invalid"
-- fc.Error (fcrun exits 2), as for every other bad argument to fc.
local function check_seconds(fn, what, v, optional)
  if optional and v == nil then return end
  if type(v) ~= "number" or not (v >= 0) or v == math.huge then
    Error.invalid(fn, "%s must be a finite number of seconds >= 0, got %s", what,
      type(v) == "number" and tostring(v) or type(v))
  end
end

-- wait(task [, timeout]): its results once it has finished; raises its
-- error again. With a timeout, raises an fc.Error of kind "timeout" when
-- the task has not finished in time (the task keeps running).
function M.wait(t, timeout)
  if getmetatable(t) ~= Task then
    error("bad argument #1 to 'wait' (fc.Task expected, got " .. type(t) .. ")", 2)
  end
  check_seconds("wait", "timeout", timeout, true)
  local me = current()
  if me == t then error("a task cannot wait for itself", 2) end
  local deadline = timeout and now() + timeout
  if not t.done then
    if me then
      local tk = ticket(me)
      t.joiners[#t.joiners + 1] = {me, tk}
      if deadline then
        seq = seq + 1
        timers:push({deadline, seq, me, tk})
      end
      block(me, "the task created at " .. t.where)
    else
      drive(function() return t.done end, 2, deadline)
    end
    if not t.done then
      error(timeout_error("wait", "the task created at " .. t.where .. " did not finish", timeout), 2)
    end
  end
  t.observed = true
  if not t.ok then error(t.results[1], 0) end
  return table.unpack(t.results, 1, t.results.n)
end

-- sleep(seconds): a timer inside a task; outside, the loop runs meanwhile.
function M.sleep(s)
  check_seconds("sleep", "the duration", s)
  local at = now() + s
  local t = current()
  if t then
    local tk = ticket(t)
    seq = seq + 1
    timers:push({at, seq, t, tk})
    block(t, "a timer")
    return
  end
  while now() < at do M.step(math.max(0, at - now())) end
end

-- Runs every task to its end. Returns the errors nobody waited for, and
-- the deadlock report when tasks remain that can never finish.
function M.drain()
  local stuck
  while live > 0 do
    if not M.step(1) and live > 0 then
      stuck = stuck_report()
      break
    end
  end
  local unobserved = {}
  for _, t in ipairs(failed) do
    if not t.observed then unobserved[#unobserved + 1] = t end
  end
  failed = {}
  return unobserved, stuck
end

-- The report fcrun prints at exit: the first three unobserved failures in
-- full, then a count of the rest. Returns the number of problems.
function M.report(out)
  local lost, stuck = M.drain()
  for i = 1, math.min(#lost, 3) do
    local t = lost[i]
    out:write("fcrun: a task created at ", t.where, " failed and nobody waited for it: ",
              tostring(t.results[1]), "\n", t.results[2] or "", "\n")
  end
  if #lost > 3 then
    out:write(string.format("fcrun: ... and %d more failed tasks nobody waited for\n", #lost - 3))
  end
  if stuck then out:write("fcrun: ", stuck, "\n") end
  return #lost + (stuck and 1 or 0)
end

return M
