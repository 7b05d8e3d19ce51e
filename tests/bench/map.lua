-- map.lua: fc.map's cost against plain tasks, run by fcrun itself.
--
--   fcrun map.lua ENDPOINT KEY_ID KEY_SECRET FUNCTION MODE CONCURRENCY REQUESTS [EXPECT]
--
-- MODE "map": fc.map over REQUESTS items at CONCURRENCY, each item one
-- fc.invoke; MODE "spawn": CONCURRENCY fc.spawn workers doing REQUESTS
-- fc.invoke calls between them (load.lua's loop, no latency bookkeeping).
-- Every answer must be 200 with the body EXPECT (default "hello"). Prints:
--
--   RESULT label=MODE c=.. n=.. errors=.. secs=.. rps=.. cpu_us=.. rss_mb=..
--
-- rss_mb is the process's peak resident set (VmHWM), start-up included.

local fc = require "fc"
local now = require("fc.core").now

local endpoint, id, secret, fname, mode, conc, total, expect = ...
conc, total = tonumber(conc), tonumber(total)
assert(endpoint and id and secret and fname and (mode == "map" or mode == "spawn") and conc and total,
       "usage: map.lua ENDPOINT KEY_ID KEY_SECRET FUNCTION map|spawn CONCURRENCY REQUESTS [EXPECT]")
expect = expect or "hello"

local client = fc.client{endpoint = endpoint, access_key_id = id, access_key_secret = secret,
                         timeout = 30}
local errors = 0
local function call()
  local r = client:invoke(fname, "ping")
  if r.status ~= 200 or r.body ~= expect then errors = errors + 1 end
  return r.status
end

local t0, cpu0 = now(), os.clock()
if mode == "map" then
  local items = {}
  for i = 1, total do items[i] = i end
  local _, errs = fc.map(items, call, {concurrency = conc})
  errors = errors + errs.n
else
  local started = 0
  local function worker()
    while started < total do
      started = started + 1
      if not pcall(call) then errors = errors + 1 end
    end
  end
  local tasks = {}
  for i = 1, conc do tasks[i] = fc.spawn(worker) end
  for _, t in ipairs(tasks) do fc.wait(t) end
end
local secs, cpu = now() - t0, os.clock() - cpu0

local rss = 0
local f = io.open("/proc/self/status")
if f then
  rss = tonumber(f:read("a"):match("VmHWM:%s*(%d+)")) or 0
  f:close()
end
print(string.format("RESULT label=%s c=%d n=%d errors=%d secs=%.3f rps=%.0f cpu_us=%.1f rss_mb=%.1f",
  mode, conc, total, errors, secs, total / secs, cpu * 1e6 / total, rss / 1024))
