-- fc.stats: what the run's requests did. The client reports every finished
-- attempt to record(...); fc.stats() is the summary as a table, summary()
-- the same as text (fcrun --stats prints it at exit), and trace(file) writes
-- one JSON line per attempt as it ends (fcrun --trace FILE).
--
-- record(request, attempt, transfer, response, error), as the client calls
-- it (lua/fc/client.lua, Client:attempt):
--   request    the request table Client:send got: action (operation name),
--              method, path (decoded, e.g. /2023-03-30/functions/f/invocations),
--              query (only `qualifier` is read)
--   attempt    1, then 2 for the first retry...
--   transfer   the ended fc.core.Transfer (totals() and timing() give curl's
--              figures)
--   response   transfer:response(): {status, headers, body} or nil
--   error      the transport error kind when response is nil
-- Nothing else is kept: no header values other than the request id and the
-- error type, no body, no query value other than the qualifier. An error
-- body (status >= 400) is read for FC's error code only.

local json = require "fc.json"

local M = {}

local state      -- counters since the start (or the last reset)
local trace_file -- where trace lines go, or nil

function M.reset()
  state = {requests = 0, retries = 0, bytes_sent = 0, bytes_received = 0,
           operations = {}, statuses = {}, errors = {}, latencies = {},
           first_start = nil, last_end = nil}
end
M.reset()

local function bump(t, k) t[k] = (t[k] or 0) + 1 end

-- FC's error code from an error body, in any of its casings (FC-PROTOCOL §6).
local function error_code(body, status)
  local doc = json.decode(body or "")
  if type(doc) == "table" then
    local code = doc.Code or doc.code or doc.ErrorCode or doc.errorCode
    if code then return tostring(code) end
  end
  return "HTTP" .. status
end

local function iso8601(t)
  local s = math.floor(t)
  return os.date("!%Y-%m-%dT%H:%M:%S", s) .. string.format(".%03dZ", math.floor((t - s) * 1000))
end

local function ms(s) return math.floor(s * 1e6 + 0.5) / 1000 end

-- Trace fields in a fixed order, so that lines read the same way each time.
local TRACE_FIELDS = {"start", "duration_ms", "dns_ms", "connect_ms", "tls_ms", "first_byte_ms",
  "operation", "method", "function", "qualifier", "status", "request_id", "error_kind", "error",
  "attempt", "bytes_sent", "bytes_received"}

local function trace_line(e)
  local parts = {}
  for _, k in ipairs(TRACE_FIELDS) do
    local v = e[k]
    if v ~= nil then parts[#parts + 1] = json.encode(k) .. ":" .. json.encode(v) end
  end
  return "{" .. table.concat(parts, ",") .. "}\n"
end

-- record(r, attempt, x, resp, kind): one finished attempt (see above).
-- The counters cost no table; a trace line builds its record.
function M.record(r, attempt, x, resp, kind)
  local total, sent, received, ended = 0, 0, 0, nil
  if x then total, sent, received, ended = x:totals() end
  local status, err, err_kind = resp and resp.status
  if resp then
    if status >= 400 then
      err_kind, err = "service", error_code(resp.body, status)
    elseif resp.headers["x-fc-error-type"] then
      err_kind, err = "function", resp.headers["x-fc-error-type"]
    end
  else
    err_kind, err = "transport", kind or "transport"
  end

  local s = state
  s.requests = s.requests + 1
  if attempt > 1 then s.retries = s.retries + 1 end
  s.bytes_sent = s.bytes_sent + sent
  s.bytes_received = s.bytes_received + received
  bump(s.operations, r.action or "?")
  bump(s.statuses, status or "transport")
  if err then bump(s.errors, err) end
  s.latencies[#s.latencies + 1] = total
  if ended then
    if not s.first_start or ended - total < s.first_start then s.first_start = ended - total end
    if not s.last_end or ended > s.last_end then s.last_end = ended end
  end

  if trace_file then
    local t = x and x:timing() or {}
    trace_file:write(trace_line{operation = r.action, method = r.method, attempt = attempt,
      qualifier = r.query and r.query.qualifier,
      ["function"] = r.path and r.path:match("^/[^/]+/functions/([^/]+)"),
      bytes_sent = sent, bytes_received = received, status = status,
      request_id = resp and resp.headers["x-fc-request-id"], error_kind = err_kind, error = err,
      start = ended and iso8601(ended - total), duration_ms = ms(total),
      dns_ms = ms(t.dns or 0), connect_ms = ms(t.connect or 0),
      tls_ms = ms(t.tls or 0), first_byte_ms = ms(t.first_byte or 0)})
    trace_file:flush()
  end
end

-- trace(path): from now on, one JSON line per finished attempt to path
-- (truncated first; "-" is stderr). nil stops tracing. Returns true, or
-- nil, message when the file cannot be opened.
function M.trace(path)
  if trace_file and trace_file ~= io.stderr then trace_file:close() end
  trace_file = nil
  if path == nil then return true end
  if path == "-" then trace_file = io.stderr; return true end
  local f, err = io.open(path, "w")
  if not f then return nil, err end
  trace_file = f
  return true
end

-- Nearest-rank percentile of a sorted list.
local function percentile(sorted, p)
  local n = #sorted
  if n == 0 then return nil end
  return sorted[math.max(1, math.ceil(p / 100 * n))]
end

-- fc.stats(): a copy of the counters and the latency distribution.
function M.snapshot()
  local s = state
  local function copy(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end
  local sorted = table.move(s.latencies, 1, #s.latencies, 1, {})
  table.sort(sorted)
  local sum = 0
  for _, v in ipairs(sorted) do sum = sum + v end
  local lat = {}
  if #sorted > 0 then
    lat = {min = sorted[1], p50 = percentile(sorted, 50), p90 = percentile(sorted, 90),
           p99 = percentile(sorted, 99), max = sorted[#sorted], mean = sum / #sorted}
  end
  return {requests = s.requests, retries = s.retries, bytes_sent = s.bytes_sent,
          bytes_received = s.bytes_received, operations = copy(s.operations),
          statuses = copy(s.statuses), errors = copy(s.errors), latency = lat,
          elapsed = s.first_start and (s.last_end - s.first_start) or 0,
          latencies = sorted}
end

local function fmt_time(s)
  if s < 1 then return string.format("%.1f ms", s * 1000) end
  return string.format("%.2f s", s)
end

local function fmt_bytes(n)
  if n < 1024 then return n .. " B" end
  if n < 1024 * 1024 then return string.format("%.1f KB", n / 1024) end
  return string.format("%.1f MB", n / 1048576)
end

-- "name count, name count" by descending count, then name.
local function counts(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if t[a] ~= t[b] then return t[a] > t[b] end
    return tostring(a) < tostring(b)
  end)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = tostring(k) .. " " .. t[k] end
  return table.concat(parts, ", ")
end

-- Latency buckets (upper bounds in seconds) of the text histogram.
local BOUNDS = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, math.huge}

local function bound_label(b)
  if b == math.huge then return "more" end
  return "<" .. (b < 1 and (math.floor(b * 1000 + 0.5) .. "ms") or (b .. "s"))
end

-- summary([snapshot]): the snapshot as text, lines starting "fcrun: ".
function M.summary(snap)
  local s = snap or M.snapshot()
  local out = {}
  local function line(fmt, ...) out[#out + 1] = "fcrun: " .. string.format(fmt, ...) end
  line("stats: %d request%s in %s (%d retr%s), %s sent, %s received", s.requests,
       s.requests == 1 and "" or "s", fmt_time(s.elapsed), s.retries, s.retries == 1 and "y" or "ies",
       fmt_bytes(s.bytes_sent), fmt_bytes(s.bytes_received))
  if s.requests == 0 then return table.concat(out, "\n") .. "\n" end
  line("  operations: %s", counts(s.operations))
  line("  statuses:   %s", counts(s.statuses))
  if next(s.errors) then line("  errors:     %s", counts(s.errors)) end
  local l = s.latency
  line("  latency:    p50 %s, p90 %s, p99 %s, max %s", fmt_time(l.p50), fmt_time(l.p90),
       fmt_time(l.p99), fmt_time(l.max))
  local hist, first, last, top = {}, nil, nil, 0
  local b = 1
  for _, v in ipairs(s.latencies) do -- sorted
    while v >= BOUNDS[b] do b = b + 1 end
    hist[b] = (hist[b] or 0) + 1
    first = first or b
    last = b
    if hist[b] > top then top = hist[b] end
  end
  for i = first, last do
    local n = hist[i] or 0
    line("  %8s %-30s %d", bound_label(BOUNDS[i]), string.rep("#", math.ceil(n / top * 30)), n)
  end
  return table.concat(out, "\n") .. "\n"
end

return M
