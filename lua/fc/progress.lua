-- fc.progress: the live line of a fan-out (fc.map, fcrun invoke --each) on
-- a terminal:
--   fcrun: 340/1000 done, 3 failed, 120.4/s, 2.8 s
-- redrawn in place at most RATE times a second and cleared by finish().
-- When stderr is not a terminal, or progress.quiet is set (fcrun --quiet),
-- new() returns an object whose methods do nothing, so callers never check.
-- There is one line at a time: while one is up (new() until finish()), a
-- nested new() (an fc.map inside an fc.map, or inside invoke --each) gets a
-- silent object, and the outer line goes on counting its own items.
--
--   local p = require("fc.progress").new(total)  -- total may be nil
--   p:update(done, failed)                       -- after each item ends
--   p:clear()                                    -- before writing to the terminal
--   p:finish()                                   -- clears the line for good
--   require("fc.progress").say("text")           -- a note on stderr, never on the line

local core = require "fc.core"

local M = {quiet = false, RATE = 4}

local Progress = {}
Progress.__index = Progress
Progress.__name = "fc.Progress"

local Silent = {update = function() end, clear = function() end, finish = function() end}
Silent.__index = Silent

-- stream: defaults to io.stderr; force: draw even when it is not a terminal
-- (tests of the drawing itself).
function M.new(total, opts)
  opts = opts or {}
  local out = opts.stream or io.stderr
  if M.quiet or M.active or not (opts.force or (out == io.stderr and core.isatty(2))) then
    return setmetatable({}, Silent)
  end
  local t0 = core.now()
  M.active = setmetatable({out = out, total = total, t0 = t0, next_draw = t0, drawn = false}, Progress)
  return M.active
end

function Progress:draw(done, failed)
  local elapsed = core.now() - self.t0
  local line = string.format("fcrun: %d%s done, %d failed, %.1f/s, %.1f s", done,
    self.total and ("/" .. self.total) or "", failed or 0,
    elapsed > 0 and done / elapsed or 0, elapsed)
  self.out:write("\r", line, "\27[K")
  self.out:flush()
  self.drawn = true
end

-- update(done, failed): counts so far; draws when the last draw is old enough.
function Progress:update(done, failed)
  local now = core.now()
  if now < self.next_draw then return end
  self.next_draw = now + 1 / M.RATE
  self:draw(done, failed)
end

-- clear(): takes the line off the screen, so that other output can be
-- written to the terminal; the next update() that is due draws it again.
function Progress:clear()
  if self.drawn then
    self.out:write("\r\27[K")
    self.out:flush()
    self.drawn = false
  end
end

-- clear(): takes the progress line, if one is up, off the screen.
function M.clear()
  if M.active then M.active:clear() end
end

-- say(...): "fcrun: " and the parts as one line on stderr, the progress
-- line cleared first (its next update draws it again): every note fcrun
-- writes goes through here, so that the two never share a line.
function M.say(...)
  M.clear()
  io.stderr:write("fcrun: ", ...)
  io.stderr:write("\n")
end

-- finish(): clears the line (the terminal is as it was before).
function Progress:finish()
  self:clear()
  self.next_draw = math.huge
  if M.active == self then M.active = nil end
end

return M
