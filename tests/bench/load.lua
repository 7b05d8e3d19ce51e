-- load.lua: closed-loop load generator run by fcrun itself.
--
--   fcrun load.lua ENDPOINT KEY_ID KEY_SECRET FUNCTION CONCURRENCY REQUESTS [LABEL [EXPECT]]
--
-- Keeps CONCURRENCY fc.invoke calls in flight (one fc.spawn task each, all on
-- fcrun's one curl multi handle) until REQUESTS calls have finished, after a
-- short warm-up that opens the connections. Every answer must be 200 with the
-- body EXPECT (default "hello", the bench function's answer). Prints one line:
--
--   RESULT label=.. c=.. n=.. warm=.. errors=.. secs=.. rps=.. p50_ms=.. p99_ms=.. client_cpu=.. cpu_us=..
--
-- client_cpu is this process's CPU time over wall time (1.0 = one core busy),
-- which tells whether the client, rather than the target, set the pace;
-- cpu_us is that CPU time per request (os.clock: user + system).

local fc = require "fc"
local now = require("fc.core").now

local endpoint, id, secret, fname, conc, total, label, expect = ...
conc, total = tonumber(conc), tonumber(total)
assert(endpoint and id and secret and fname and conc and total,
       "usage: load.lua ENDPOINT KEY_ID KEY_SECRET FUNCTION CONCURRENCY REQUESTS [LABEL]")
label = label or endpoint

local client = fc.client{endpoint = endpoint, access_key_id = id, access_key_secret = secret,
                         timeout = 30}
local EXPECT = expect or "hello"

-- Runs n calls with c in flight; returns wall seconds, sorted latencies, errors.
local function run(c, n)
  local started, lat, errors, first_error = 0, {}, 0, nil
  local function worker()
    while started < n do
      started = started + 1
      local t0 = now()
      local ok, r = pcall(client.invoke, client, fname, "ping")
      lat[#lat + 1] = now() - t0
      if not ok or r.status ~= 200 or r.body ~= EXPECT then
        errors = errors + 1
        first_error = first_error or (ok and ("status " .. r.status .. " body " .. r.body:sub(1, 80))
                                          or tostring(r))
      end
    end
  end
  local t0 = now()
  local tasks = {}
  for i = 1, c do tasks[i] = fc.spawn(worker) end
  for _, t in ipairs(tasks) do fc.wait(t) end
  local secs = now() - t0
  return secs, lat, errors, first_error
end

local warm = math.max(conc * 4, 50)
run(conc, warm) -- warm-up: connections, Lua states, caches

local cpu0 = os.clock()
local secs, lat, errors, first_error = run(conc, total)
local cpu = os.clock() - cpu0
table.sort(lat) -- after the CPU is read, as floor.c sorts after getrusage
local function pct(p) return lat[math.max(1, math.ceil(#lat * p))] * 1000 end

print(string.format("RESULT label=%s c=%d n=%d warm=%d errors=%d secs=%.3f rps=%.0f p50_ms=%.2f p99_ms=%.2f client_cpu=%.2f cpu_us=%.1f",
  label, conc, total, warm, errors, secs, total / secs, pct(0.5), pct(0.99), cpu / secs, cpu * 1e6 / total))
if first_error then io.stderr:write("load.lua: first error: ", first_error, "\n") end
