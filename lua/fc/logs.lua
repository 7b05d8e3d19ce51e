-- fc.logs: FC's tail log (the decoded x-fc-log-result), parsed.
--
-- The format (FC-PROTOCOL.md §5), last 4 KB of:
--   [runtime lines, FC Initialize Start/End ...]
--   FC Invoke Start RequestId: <id>
--   <what the function printed>
--   FC Invoke End RequestId: <id>[, Error: <error>]
--   <empty line>
--   Duration: <f> ms, Billed Duration: <n> ms, Memory Size: <n> MB, Max Memory Used: <f> MB
--
-- The parser anchors at the end of the text: the summary is the last
-- non-empty line and the end line is the one before it, so nothing a
-- function prints (it all comes before the end line) can pass for them.
-- The start line is the first one naming the end line's request id; when it
-- is missing the log was cut to its last 4 KB (`truncated`), and a UTF-8
-- sequence cut at the start of the text is dropped.

local M = {}

local function number(line, label)
  local v = line:match(label .. ": ([%d.]+) ")
  return v and tonumber(v)
end

local function integer(line, label)
  local v = number(line, label)
  return v and (math.tointeger(v) or v)
end

-- fc.logs.parse(text) -> {request_id, lines, error, duration_ms, billed_ms,
-- memory_mb, max_memory_mb, truncated}, or nil, message when text is not a
-- tail log (no "FC Invoke End" line at its end).
function M.parse(text)
  if type(text) ~= "string" then
    error("bad argument #1 to 'parse' (string expected, got " .. type(text) .. ")", 2)
  end
  text = text:gsub("^[\128-\191]+", "", 1) -- the tail of a character cut at the start
  local lines, n = {}, 0
  for line in text:gmatch("([^\n]*)\n?") do
    n = n + 1
    lines[n] = line
  end

  local i = n
  local function skip_blank()
    while i > 0 and lines[i]:match("^%s*$") do i = i - 1 end
  end
  skip_blank()
  local summary
  if i > 0 and lines[i]:match("^Duration: .* ms, Billed Duration: ") then
    summary = lines[i]
    i = i - 1
    skip_blank()
  end
  local id, rest
  if i > 0 then id, rest = lines[i]:gsub("\r$", ""):match("^FC Invoke End RequestId: ([^,%s]+)(.*)$") end
  if not id then
    return nil, "not an FC tail log: it does not end with an 'FC Invoke End RequestId: ...' line" ..
                " and its summary"
  end
  local last = i - 1 -- the function's last line

  local start_line = "FC Invoke Start RequestId: " .. id
  local first
  for j = 1, last do
    local l = lines[j]
    if l == start_line or l == start_line .. "\r" then first = j + 1; break end
  end
  local report = {request_id = id, lines = {}, truncated = first == nil,
                  error = rest:match("^, Error: (.*)$")}
  table.move(lines, first or 1, last, 1, report.lines)
  if summary then
    report.duration_ms = number(summary, "Duration")
    report.billed_ms = integer(summary, "Billed Duration")
    report.memory_mb = integer(summary, "Memory Size")
    report.max_memory_mb = number(summary, "Max Memory Used")
  end
  return report
end

return M
