-- fc.logs.parse on FC's documented tail logs (FC-PROTOCOL.md §5) and on the
-- ways a log goes wrong; r.report; fc.stats' arithmetic; the progress line;
-- the CLI's suggestions. No server needed.
local check = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local fc = require "fc"
local logs = fc.logs

-- The samples quoted in FC-PROTOCOL.md §5, byte for byte.
local NODE = "FC Invoke Start RequestId: 1-6551e2b4-a057ee3a45ccf4f082ae5d2d\n" ..
  "load code for handler:index.handler\n" ..
  "FC Invoke End RequestId: 1-6551e2b4-a057ee3a45ccf4f082ae5d2d\n\n" ..
  "Duration: 4.14 ms, Billed Duration: 5 ms, Memory Size: 128 MB, Max Memory Used: 9.58 MB\n"
local PYTHON = "FunctionCompute python3 runtime inited.\n" ..
  "FC Invoke Start RequestId: 1-650c0f0d-ae96ae24839e741e3ce1ba72\n" ..
  "2023-09-21T09:38:21.265Z 1-650c0f0d-ae96ae24839e741e3ce1ba72 [INFO] b'test'\n" ..
  "FC Invoke End RequestId: 1-650c0f0d-ae96ae24839e741e3ce1ba72\n\n" ..
  "Duration: 1.16 ms, Billed Duration: 2 ms, Memory Size: 128 MB, Max Memory Used: 25.90 MB"
local ERROR = "FC Invoke Start RequestId: 1-65a24fa0-0b44b15d-431a6b32cc8c\n" ..
  "FC Invoke End RequestId: 1-65a24fa0-0b44b15d-431a6b32cc8c, Error: Unhandled function error\n\n" ..
  "Duration: 3.66 ms, Billed Duration: 4 ms, Memory Size: 128 MB, Max Memory Used: 32.40 MB\n"

local function same_lines(got, want)
  check.eq(#got, #want, "number of lines")
  for i = 1, #want do check.eq(got[i], want[i], "line " .. i) end
end

check.run{
  {"the Node.js sample", function()
    local r = logs.parse(NODE)
    check.eq(r.request_id, "1-6551e2b4-a057ee3a45ccf4f082ae5d2d", "request_id")
    same_lines(r.lines, {"load code for handler:index.handler"})
    check.eq(r.duration_ms, 4.14, "duration_ms")
    check.eq(r.billed_ms, 5, "billed_ms")
    check.eq(math.type(r.billed_ms), "integer", "billed_ms is an integer")
    check.eq(r.memory_mb, 128, "memory_mb")
    check.eq(r.max_memory_mb, 9.58, "max_memory_mb")
    check.eq(r.truncated, false, "truncated")
    check.eq(r.error, nil, "error")
  end},
  {"the Python sample: runtime lines before the start line are not the function's", function()
    local r = logs.parse(PYTHON)
    same_lines(r.lines, {"2023-09-21T09:38:21.265Z 1-650c0f0d-ae96ae24839e741e3ce1ba72 [INFO] b'test'"})
    check.eq(r.max_memory_mb, 25.9, "max_memory_mb")
    check.eq(r.truncated, false, "truncated")
  end},
  {"the error sample: error from the end line, 3-group request id", function()
    local r = logs.parse(ERROR)
    check.eq(r.error, "Unhandled function error", "error")
    check.eq(r.request_id, "1-65a24fa0-0b44b15d-431a6b32cc8c", "request_id")
    same_lines(r.lines, {})
  end},
  {"FC 2.0 UUID request ids and CRLF line ends", function()
    local id = "5a3a8a36-5a3a-4a3a-8a36-5a3a8a365a3a"
    local r = logs.parse("FC Invoke Start RequestId: " .. id .. "\r\nhi\r\nFC Invoke End RequestId: " ..
      id .. "\r\n\r\nDuration: 16.81 ms, Billed Duration: 17 ms, Memory Size: 128 MB, Max Memory Used: 52.32 MB\r\n")
    check.eq(r.request_id, id, "request_id")
    check.eq(r.truncated, false, "truncated")
    same_lines(r.lines, {"hi\r"})
    check.eq(r.billed_ms, 17, "billed_ms")
  end},
  {"a function printing FC-looking lines cannot fool it", function()
    local id = "1-aaaaaaaa-bbbbbbbbbbbbbbbbbbbbbbbb"
    local printed = {
      "Duration: 1 ms, Billed Duration: 1 ms, Memory Size: 1 MB, Max Memory Used: 1 MB",
      "FC Invoke End RequestId: fake, Error: not really",
      "",
      "Duration: 999.00 ms, Billed Duration: 1000 ms, Memory Size: 3072 MB, Max Memory Used: 3000.00 MB",
      "FC Invoke Start RequestId: " .. id,
      "FC Invoke End RequestId: " .. id,
    }
    local text = "FC Invoke Start RequestId: " .. id .. "\n" .. table.concat(printed, "\n") ..
      "\nFC Invoke End RequestId: " .. id .. "\n\n" ..
      "Duration: 2.50 ms, Billed Duration: 3 ms, Memory Size: 256 MB, Max Memory Used: 10.00 MB\n"
    local r = logs.parse(text)
    same_lines(r.lines, printed)
    check.eq(r.duration_ms, 2.5, "duration_ms")
    check.eq(r.memory_mb, 256, "memory_mb")
    check.eq(r.error, nil, "error")
    check.eq(r.request_id, id, "request_id")
  end},
  {"cut at 4 KB: truncated, and a UTF-8 sequence cut at the start is dropped", function()
    local body = ("€"):rep(2000) -- 3 bytes each
    local full = "FC Invoke Start RequestId: r1\n" .. body .. "\nFC Invoke End RequestId: r1\n\n" ..
      "Duration: 1.00 ms, Billed Duration: 1 ms, Memory Size: 128 MB, Max Memory Used: 1.00 MB\n"
    for cut = 0, 2 do -- the three alignments: on, one byte into, two bytes into a character
      local tail = full:sub(-(4096 - cut))
      local r = logs.parse(tail)
      check.eq(r.truncated, true, "truncated (cut " .. cut .. ")")
      check.eq(#r.lines, 1, "one line")
      check.eq(utf8.len(r.lines[1]) ~= nil, true, "the line is valid UTF-8 (cut " .. cut .. ")")
      check.eq(r.lines[1]:sub(1, 3), "€", "starts with a whole character")
      check.eq(r.request_id, "r1", "request_id")
      check.eq(r.billed_ms, 1, "billed_ms")
    end
  end},
  {"a log cut before the start line keeps every whole line", function()
    local r = logs.parse("one\ntwo\nFC Invoke End RequestId: r2\n\nDuration: 1.00 ms, Billed Duration: 1 ms, " ..
      "Memory Size: 128 MB, Max Memory Used: 1.00 MB")
    check.eq(r.truncated, true, "truncated")
    same_lines(r.lines, {"one", "two"})
  end},
  {"not a tail log: nil and a message; not a string: an error", function()
    local r, msg = logs.parse("hello\nworld\n")
    check.eq(r, nil, "result")
    check.eq(msg:find("not an FC tail log", 1, true) ~= nil, true, "message")
    check.eq(logs.parse(""), nil, "empty text")
    check.raises(function() logs.parse(nil) end, "string expected")
  end},
  {"r.report: parsed once, on first access; nil without a log", function()
    local Result = require("fc.client").Result
    local r = setmetatable({status = 200, log = NODE, body = "{}"}, Result)
    check.eq(rawget(r, "report"), nil, "not parsed before access")
    local rep = r.report
    check.eq(rep.billed_ms, 5, "billed_ms")
    check.eq(rawget(r, "report"), rep, "kept in the result")
    check.eq(r.report, rep, "the same table next time")
    check.eq(r:json() ~= nil, true, "methods still work")
    check.eq(setmetatable({status = 200, body = ""}, Result).report, nil, "no log")
    check.eq(setmetatable({status = 200, body = "", log = "junk"}, Result).report, nil, "not FC's format")
  end},
  {"fc.stats: counts and percentiles", function()
    local stats = require "fc.stats"
    stats.reset()
    local function rec(status, seconds, headers, body)
      local timing = {total = seconds, ended_at = 1000 + seconds, bytes_sent = 10, bytes_received = 20}
      stats.record({action = "InvokeFunction", method = "POST",
                    path = "/2023-03-30/functions/f/invocations"}, 1,
        {timing = function() return timing end,
         totals = function() return seconds, 10, 20, 1000 + seconds end},
        status and {status = status, headers = headers or {}, body = body or ""},
        not status and "timeout" or nil)
    end
    for i = 1, 100 do rec(200, i / 1000) end
    rec(200, 0.5, {["x-fc-error-type"] = "UnhandledInvocationError"})
    rec(404, 0.002, {}, '{"Code":"FunctionNotFound","Message":"no"}')
    rec(nil, 1)
    local s = fc.stats()
    check.eq(s.requests, 103, "requests")
    check.eq(s.statuses[200], 101, "200s")
    check.eq(s.statuses[404], 1, "404s")
    check.eq(s.statuses.transport, 1, "transport")
    check.eq(s.errors.UnhandledInvocationError, 1, "function errors by type")
    check.eq(s.errors.FunctionNotFound, 1, "service errors by code")
    check.eq(s.errors.timeout, 1, "transport errors by kind")
    check.eq(s.bytes_sent, 1030, "bytes_sent")
    check.eq(s.latency.p50, 0.051, "p50")
    check.eq(s.latency.max, 1, "max")
    local text = stats.summary()
    check.eq(text:find("103 requests", 1, true) ~= nil, true, "summary: " .. text)
    check.eq(text:find("p99", 1, true) ~= nil, true, "summary has p99")
    stats.reset()
  end},
  {"the progress line: drawn, throttled, cleared", function()
    local out = {}
    local stream = {write = function(_, ...) for _, s in ipairs{...} do out[#out + 1] = s end end,
                    flush = function() end}
    local p = require("fc.progress").new(10, {stream = stream, force = true})
    local inner = require("fc.progress").new(3, {stream = stream, force = true})
    inner:update(1, 0) -- one line at a time: the nested one is silent
    inner:finish()
    p:update(1, 0)
    p:update(2, 0) -- within the same quarter second: not drawn
    p:clear()
    local cleared = #out
    p:update(3, 1)
    check.eq(#out, cleared, "after clear(), redrawn only when due")
    p:finish()
    local text = table.concat(out)
    check.eq(text:find("1/10 done, 0 failed", 1, true) ~= nil, true, "first draw: " .. text)
    check.eq(text:find("2/10", 1, true), nil, "throttled")
    check.eq(text:find("/3 done", 1, true), nil, "the nested line is silent")
    check.eq(require("fc.progress").active, nil, "finish() ends the line")
    check.eq(text:sub(-4), "\r\27[K", "cleared at the end")
    check.eq(getmetatable(require("fc.progress").new(5, {stream = stream})) ~= nil, true, "silent object")
  end},
  {"did you mean", function()
    local cli = require "fc.cli"
    check.eq(cli.suggest("--endpiont", cli.HOST_OPTIONS), "--endpoint", "transposition")
    check.eq(cli.suggest("--qualifer", {"--qualifier", "--log"}), "--qualifier", "missing letter")
    check.eq(cli.suggest("--xyzzy", {"--qualifier", "--log"}), nil, "nothing close")
    check.eq(cli.suggest("--end", cli.HOST_OPTIONS), "--endpoint", "unique prefix")
    check.eq(cli.script_hint("invok"), " (did you mean 'fcrun invoke'?)", "subcommand")
    check.eq(cli.script_hint("./invok"), "", "a path is a script")
  end},
}
