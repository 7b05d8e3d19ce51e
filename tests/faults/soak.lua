-- soak.lua N CONCURRENCY OUTCOMES: N invocations of "count" (payload: the
-- invocation's id), CONCURRENCY at a time, one attempt each. Writes one
-- line "ID OUTCOME" per invocation to OUTCOMES, where OUTCOME is ok, service
-- (an error answer: the function did not run), unknown (a transport error
-- after the request was written: it may have run), notsent (nothing was
-- written) or wrong (a result that is not the function's answer). Prints
-- the counts and the peak RSS (kB) at a fifth of the run and at its end.
local fc = require "fc"
local N, C, path = math.tointeger(tonumber(arg[1])), math.tointeger(tonumber(arg[2])), arg[3]
local out = assert(io.open(path, "w"))
local counts = {ok = 0, service = 0, unknown = 0, notsent = 0, wrong = 0}

local function peak_kb()
  for l in io.lines("/proc/self/status") do
    local kb = l:match("^VmHWM:%s*(%d+)")
    if kb then return tonumber(kb) end
  end
end

local issued, early = 0, nil
local function worker()
  while issued < N do
    issued = issued + 1
    local id = tostring(issued)
    local ok, r = pcall(fc.invoke, "count", id, {retry = false})
    local k
    if ok then
      k = r.body == id and r.ok and "ok" or "wrong"
    elseif fc.Error.is(r) and r.kind == "service" then
      k = "service"
    elseif fc.Error.is(r) and r.kind == "transport" then
      k = r.sent and "unknown" or "notsent"
    else
      error(r, 0)
    end
    counts[k] = counts[k] + 1
    out:write(id, " ", k, "\n")
    if issued == N // 5 and not early then early = peak_kb() end
  end
end

local tasks = {}
for i = 1, C do tasks[i] = fc.spawn(worker) end
for i = 1, C do fc.wait(tasks[i]) end
out:close()
print(string.format("invocations %d ok %d service %d unknown %d notsent %d wrong %d",
  counts.ok + counts.service + counts.unknown + counts.notsent + counts.wrong,
  counts.ok, counts.service, counts.unknown, counts.notsent, counts.wrong))
print(string.format("peak_kb %d %d", early or 0, peak_kb()))
