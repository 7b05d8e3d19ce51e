-- The scheduler and fan-out without a server: timers, deadlocks, waits with
-- a deadline, fairness to transfers, fc.map and fc.all semantics.
local check = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local fc = require "fc"
local sched = require "fc.sched"

-- A client whose requests are refused at once (nothing listens on port 9).
local refused = fc.client{endpoint = "http://127.0.0.1:9", access_key_id = "id",
                          access_key_secret = "s", retry = false}

-- n tasks sleeping pseudo-random durations below 50 ms; returns the
-- seconds taken and whether each woke, none before its deadline. (Each
-- notes its deadline just before fc.sleep notes its own, so the noted one
-- is never later.)
local function sleepers(n)
  local woke, early = 0, 0
  local t0 = fc.now()
  for i = 1, n do
    local d = (i * 7919 % 1000) / 20000
    fc.spawn(function()
      local at = fc.now() + d
      fc.sleep(d)
      if fc.now() < at then early = early + 1 end
      woke = woke + 1
    end)
  end
  while woke < n do fc.sleep(0.01) end
  return fc.now() - t0, early == 0
end

check.run{
  {"fc.now is a monotonic clock in seconds", function()
    local a = fc.now()
    fc.sleep(0.01)
    local b = fc.now()
    check.eq(math.type(a), "float")
    assert(b - a >= 0.009 and b - a < 5, "fc.sleep(0.01) took " .. (b - a) .. " s")
  end},
  {"the timer heap orders by key, then by insertion", function()
    local heap = require("fc.heap").new()
    local x = 12345
    for i = 1, 100000 do
      x = (x * 1103515245 + 12345) % 2147483648
      heap:push({x % 5000, i})
    end
    local last = heap:pop()
    for _ = 2, 100000 do
      local e = heap:pop()
      if e[1] < last[1] or (e[1] == last[1] and e[2] < last[2]) then
        error(string.format("popped (%d, %d) after (%d, %d)", e[1], e[2], last[1], last[2]))
      end
      last = e
    end
    check.eq(heap:pop(), nil, "empty at the end")
  end},
  {"timers: 100,000 sleeping tasks, none woken early, in O(n log n)", function()
    -- The anchor is the same work at a tenth of the size, in the same run:
    -- a sorted list (the old scheduler) makes the large run ~100x slower,
    -- a heap ~12x. Sleeps are under 50 ms, so the work dominates.
    local small, ok_small = sleepers(10000)
    local large, ok_large = sleepers(100000)
    check.eq(ok_small and ok_large, true, "every task woke, none before its deadline")
    assert(large / small < 40, string.format(
      "100,000 sleepers took %.2f s, 10,000 took %.2f s: ratio %.1f, want < 40", large, small, large / small))
  end},
  {"a task looping on fc.sleep(0) cannot starve transfers", function()
    local answered = false
    local spinner = fc.spawn(function()
      local deadline = fc.now() + 5
      while not answered and fc.now() < deadline do fc.sleep(0) end
      return answered
    end)
    fc.spawn(function() pcall(refused.invoke, refused, "f"); answered = true end)
    check.eq(fc.wait(spinner), true, "the request ended while another task spun")
  end},
  {"a coroutine of the script's own inside a task drives the loop itself", function()
    -- Its fc.sleep and request are not a task's: they run the loop (a step
    -- inside the step that resumed the task), and every task still ends.
    local order = {}
    local inner = fc.spawn(function()
      fc.sleep(0) -- the others have started and sleep on timers now
      coroutine.wrap(function()
        fc.sleep(0.02)
        local ok, err = pcall(refused.invoke, refused, "f")
        order[#order + 1] = ok and "sent?" or err.code
      end)()
      order[#order + 1] = "inner"
    end)
    local others = {}
    for i = 1, 20 do
      others[i] = fc.spawn(function() fc.sleep(i % 3 / 100); order[#order + 1] = "other" end)
    end
    fc.wait(inner)
    for _, t in ipairs(others) do fc.wait(t) end
    local n = 0
    for _, v in ipairs(order) do if v == "other" then n = n + 1 end end
    check.eq(n, 20, "every other task ran")
    check.eq(order[#order] == "inner" or order[#order] == "other", true, "the inner task ended")
    local seen = {}
    for _, v in ipairs(order) do seen[v] = true end
    check.eq(seen.connect, true, "the request inside the coroutine failed to connect, as it should")
  end},
  {"fc.wait with a timeout raises kind timeout; the task keeps running", function()
    local t = fc.spawn(function() fc.sleep(1); return "late" end)
    local err = check.raises(function() fc.wait(t, 0.02) end, "did not finish within 0.02 s")
    check.eq(fc.Error.is(err) and err.kind, "timeout", "kind")
    check.eq(fc.wait(t), "late", "the task went on")
    -- and inside a task, where the wait is a timer in the heap
    local u = fc.spawn(function() fc.sleep(1); return "later" end)
    local w = fc.spawn(function() return pcall(fc.wait, u, 0.02) end)
    local ok, e = fc.wait(w)
    check.eq(ok, false)
    check.eq(e.kind, "timeout")
    check.eq(fc.wait(u, 5), "later", "a wait that ends in time returns the results")
    local bad = check.raises(function() fc.wait(u, -1) end, "fc.wait: timeout must be a finite number")
    check.eq(bad.kind, "invalid")
    check.raises(function() fc.sleep(0 / 0) end, "fc.sleep: the duration must be a finite number of seconds >= 0, got")
  end},
  {"a deadlock is reported with the tasks' creation sites, never a hang", function()
    local a, b
    a = fc.spawn(function() fc.wait(b) end)
    b = fc.spawn(function() fc.wait(a) end)
    local err = check.raises(function() fc.wait(a) end, "deadlock: 2 tasks can never finish",
      "test_sched.lua:", "waiting for the task created at")
    check.eq(type(err), "string")
    -- a task that yields by itself is stuck too
    local c = fc.spawn(function() coroutine.yield() end)
    check.raises(function() fc.wait(c) end, "deadlock", "a resume that never comes")
  end},
  {"fc.map: results and errors by index, errors.n, concurrency bound", function()
    local running, peak = 0, 0
    local items = {}
    for i = 1, 50 do items[i] = i end
    local results, errors = fc.map(items, function(x, i)
      check.eq(x, i, "fn gets (item, index)")
      running = running + 1
      if running > peak then peak = running end
      fc.sleep(0.001)
      running = running - 1
      if x % 10 == 0 then error({code = x}) end
      return x * x, "ignored"
    end, {concurrency = 4})
    check.eq(peak, 4, "at most 4 at once, and 4 reached")
    check.eq(errors.n, 5)
    for i = 1, 50 do
      if i % 10 == 0 then
        check.eq(results[i], nil)
        check.eq(errors[i].code, i, "errors[i] is what item i raised")
      else
        check.eq(results[i], i * i)
        check.eq(errors[i], nil)
      end
    end
    local r, e = fc.map({}, error)
    check.eq(next(r), nil)
    check.eq(e.n, 0)
  end},
  {"fc.map: fail_fast starts nothing after the first error", function()
    local ran = {}
    local items = {}
    for i = 1, 20 do items[i] = i end
    local _, errors = fc.map(items, function(x)
      ran[#ran + 1] = x
      if x == 3 then error("three") end
      fc.sleep(0.01)
      return x
    end, {concurrency = 2, fail_fast = true})
    assert(#ran <= 4, "items started after the failure: " .. #ran)
    check.eq(errors.n, 20 - #ran + 1, "the failure and every item never started")
    check.eq(errors[20].kind, "cancelled")
    check.raises(function() fc.map({}, print, {concurrency = 0}) end, "concurrency must be an integer >= 1")
    check.raises(function() fc.map({}, print, {bogus = 1}) end, "unknown option 'bogus'")
    check.raises(function() fc.map(nil, print) end, "items must be an array")
  end},
  {"fc.map inside a task, and nested maps", function()
    local t = fc.spawn(function()
      local r = fc.map({1, 2, 3}, function(x)
        local inner = fc.map({x, x}, function(y) fc.sleep(0.001); return y + 1 end, {concurrency = 1})
        return inner[1] + inner[2]
      end)
      return r[1] + r[2] + r[3]
    end)
    check.eq(fc.wait(t), 18)
  end},
  {"fc.all: first values in order; the first error by position, after all finished", function()
    local a, b, c = fc.all{
      function() fc.sleep(0.02); return "a", "x" end,
      function() return "b" end,
      function() fc.sleep(0.01); return nil end,
    }
    check.eq(a, "a"); check.eq(b, "b"); check.eq(c, nil)
    local finished = 0
    check.raises(function()
      fc.all{
        function() fc.sleep(0.02); finished = finished + 1 end,
        function() fc.sleep(0.01); finished = finished + 1; error("second") end,
        function() finished = finished + 1; error("third") end,
      }
    end, "second")
    check.eq(finished, 3, "all ran to the end before the error")
    check.raises(function() fc.all{print, 3} end, "element 2 must be a function")
  end},
  {"retry options are checked", function()
    check.raises(function() fc.client{retry = 3} end, "option 'retry' must be false or a table")
    check.raises(function() fc.client{retry = {attempts = 0}} end, "retry.attempts must be an integer >= 1")
    check.raises(function() fc.client{retry = {tries = 2}} end, "retry has no field 'tries'")
    check.raises(function() refused:invoke("f", nil, {retry = {base = -1}}) end, "retry.base must be")
    check.raises(function() fc.client{max_connections = 2.5} end, "max_connections' must be a positive integer")
  end},
  {"refused connections are retried (nothing was sent), with attempts counted", function()
    local c = fc.client{endpoint = "http://127.0.0.1:9", access_key_id = "id", access_key_secret = "s",
                        retry = {attempts = 4, base = 0.001, cap = 0.002}}
    local err = check.raises(function() c:invoke("f") end, "connect error")
    check.eq(err.sent, false, "sent")
    check.eq(err.attempts, 4, "attempts")
    local one = check.raises(function() c:invoke("f", nil, {retry = false}) end, "connect error")
    check.eq(one.attempts, 1, "retry = false per call")
  end},
}
