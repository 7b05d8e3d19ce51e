-- Fan-out: fc.map (bounded, adaptive) and fc.all, built on the scheduler's
-- tasks and slots.

local sched = require "fc.sched"
local Error = require "fc.error"
local progress = require "fc.progress"

local M = {}

-- A map's window: the requests its items may have in flight, adapted to
-- throttling as TCP adapts to loss (AIMD). A throttled answer (429/503)
-- halves the window, at most once per window: an answer to a request sent
-- before the last cut says nothing about the new window. Successes grow it
-- by one per window's worth (each adds 1/window), up to the map's
-- concurrency: growing by one per success would double it every round
-- trip, straight back into the limit (measured: 40% of answers were 429).
-- The client takes a place for each request attempt of a task that belongs
-- to the map, so a retry waits for a place too.
local Window = {}
Window.__index = Window

local function window(limit)
  return setmetatable({slots = sched.slots(limit, "a place in fc.map's window"), ceiling = limit, last_cut = -math.huge,
                       credit = 0, throttles = 0}, Window)
end

function Window:acquire() self.slots:acquire() end

function Window:release() self.slots:release() end

-- A throttled answer to a request sent at sent_at. Returns true when the
-- window takes it as its own signal: it was sent before the last cut (the
-- window has already shrunk for it), or it makes the window shrink now. At
-- a window of 1 there is nothing left to shrink, and the call's own retry
-- policy decides.
function Window:throttled(sent_at)
  self.throttles = self.throttles + 1
  if sent_at < self.last_cut then return true end
  local limit = self.slots.limit
  if limit == 1 then return false end
  self.last_cut = sched.now()
  self.credit = 0
  self.slots:set_limit(limit // 2)
  return true
end

function Window:succeeded()
  local limit = self.slots.limit
  if limit >= self.ceiling then return end
  self.credit = self.credit + 1 / limit
  if self.credit >= 1 then
    self.credit = 0
    self.slots:set_limit(limit + 1)
  end
end

local function check_opts(fn, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then Error.invalid(fn, "options must be a table, got %s", type(opts)) end
  for k, v in pairs(opts) do
    if k == "concurrency" then
      if math.type(v) ~= "integer" or v < 1 then
        Error.invalid(fn, "concurrency must be an integer >= 1, got %s", tostring(v))
      end
    elseif k == "fail_fast" then
      if type(v) ~= "boolean" then Error.invalid(fn, "fail_fast must be a boolean, got %s", type(v)) end
    else
      Error.invalid(fn, "unknown option '%s' (options: concurrency, fail_fast)", tostring(k))
    end
  end
  return opts
end

-- map(items, fn [, opts]) -> results, errors: fn(items[i], i) for every i,
-- at most opts.concurrency (16) at once. results[i] is fn's first value,
-- errors[i] what it raised; errors.n counts the items without a result.
-- With opts.fail_fast, no item starts after the first error; those never
-- started get an fc.Error of kind "cancelled".
--
-- `concurrency` worker tasks take the items in order, each running one
-- call at a time: a task per item would cost a coroutine per item and a
-- scheduler turn between one item's end and the next one's start.
function M.map(items, fn, opts)
  if type(items) ~= "table" then Error.invalid("map", "items must be an array, got %s", type(items)) end
  if type(fn) ~= "function" then Error.invalid("map", "fn must be a function, got %s", type(fn)) end
  opts = check_opts("map", opts)
  local n = #items
  local concurrency = opts.concurrency or 16
  local fail_fast = opts.fail_fast
  local results, errors = {}, {n = 0}
  local taken, done, failed_at = 0, 0, nil
  local line = progress.new(n) -- a live line on a terminal; silent otherwise

  local function worker()
    while taken < n and not failed_at do
      taken = taken + 1
      local i = taken
      local ok, v = pcall(fn, items[i], i)
      if ok then
        results[i] = v
      else
        errors[i] = v
        errors.n = errors.n + 1
        if fail_fast then failed_at = i end
      end
      done = done + 1
      line:update(done, errors.n)
    end
  end

  local win = window(concurrency)
  local where = sched.where(2)
  local workers = {}
  for w = 1, math.min(concurrency, n) do
    local t = sched.start(where, worker)
    t.group = win
    workers[w] = t
  end
  for _, t in ipairs(workers) do sched.wait(t) end
  line:finish()
  for i = taken + 1, n do
    errors[i] = Error.new{kind = "cancelled", message = string.format(
      "fc.map: item %d was not started: item %d failed and fail_fast is set", i, failed_at)}
    errors.n = errors.n + 1
  end
  return results, errors
end

-- all{fn1, fn2, ...} -> v1, v2, ...: runs them concurrently and returns
-- their first values in order; once all have finished, raises the first
-- error by position, if any.
function M.all(fns)
  if type(fns) ~= "table" then Error.invalid("all", "argument must be an array of functions, got %s", type(fns)) end
  local n = #fns
  for i = 1, n do
    if type(fns[i]) ~= "function" then
      Error.invalid("all", "element %d must be a function, got %s", i, type(fns[i]))
    end
  end
  local where = sched.where(2)
  local tasks = {}
  for i = 1, n do tasks[i] = sched.start(where, fns[i]) end
  local values, first_err = {}, nil
  for i = 1, n do
    local ok, v = pcall(sched.wait, tasks[i])
    if ok then values[i] = v elseif first_err == nil then first_err = {v} end
  end
  if first_err then error(first_err[1], 0) end
  return table.unpack(values, 1, n)
end

return M
