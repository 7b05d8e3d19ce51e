-- fcrun's subcommands for the shell: `fcrun invoke`, `fcrun task`, `fcrun
-- help`, and the host's run-wide switches (--stats, --trace, --quiet).
-- src/fcrun.c parses the host options wherever they appear and hands the
-- remaining words of a subcommand to main(). Exit codes (also used for
-- uncaught errors in scripts; see `fcrun help exit-status`):
--   0 success, 1 script error, 2 bad usage or invalid argument,
--   3 function error, 4 service error, 5 transport error, 6 configuration

local fc = require "fc"
local core = require "fc.core"
local json = require "fc.json"
local progress = require "fc.progress"
local stats = require "fc.stats"

local M = {
  EXIT_OK = 0, EXIT_SCRIPT = 1, EXIT_USAGE = 2, EXIT_FUNCTION = 3,
  EXIT_SERVICE = 4, EXIT_TRANSPORT = 5, EXIT_CONFIG = 6,
}

local KIND_EXIT = {invalid = M.EXIT_USAGE, service = M.EXIT_SERVICE,
                   transport = M.EXIT_TRANSPORT, timeout = M.EXIT_TRANSPORT,
                   config = M.EXIT_CONFIG}

-- The exit status for an error value that ended a script.
function M.exit_code(err)
  return fc.Error.is(err) and KIND_EXIT[err.kind] or M.EXIT_SCRIPT
end

M.SUBCOMMANDS = {"invoke", "task", "help", "serve"}

-- Host options (src/fcrun.c parses them); listed here for help and
-- suggestions only.
M.HOST_OPTIONS = {"--endpoint", "--region", "--account-id", "--profile", "--timeout", "--local",
  "--cacert", "--verbose", "--dry-run", "--quiet", "--stats", "--trace", "--help", "--version", "-e", "-v", "-q"}

-- ---- help -----------------------------------------------------------------

local HELP = {}

HELP.usage = [==[
usage: fcrun [options] SCRIPT [ARGS...]   run a Lua script ('-' reads stdin)
       fcrun [options] -e CODE [ARGS...]  run CODE
       fcrun [options] invoke NAME [invoke options]
       fcrun [options] task get|list|stop|wait NAME [ID] [task options]
       fcrun serve --functions DIR [--host ADDR] [--port N] [--access-key-id ID
                 --access-key-secret SECRET] [--security-token TOKEN] [-v]
       fcrun help [invoke|task|serve|options|output|exit-status]
       fcrun --version | --help

options (before or after a subcommand):
  --endpoint URL      FC endpoint (default https://ACCOUNT.REGION.fc.aliyuncs.com)
  --region REGION     region id (default $ALIBABA_CLOUD_REGION_ID)
  --account-id ID     account id (default $ALIBABA_CLOUD_ACCOUNT_ID, $FC_ACCOUNT_ID)
  --profile NAME      credentials profile (~/.aliyun/config.json, ~/.alibabacloud/credentials)
  --timeout SECONDS   default timeout of each request (default 60, at most 604800)
  --cacert FILE       CA bundle to verify HTTPS endpoints with (default
                      $CURL_CA_BUNDLE, $SSL_CERT_FILE, then the system's)
  --local DIR         run against an emulator of DIR's functions, started in-process
  -v, --verbose       each request once on stderr: method, path, status, request id, time
  --dry-run           print each signed request (secrets redacted) instead of sending it
  -q, --quiet         no progress line and no notes on stderr (errors still show)
  --stats             at exit, a summary of every request on stderr
  --trace FILE        every request as one JSON line in FILE ('-': stderr)

exit status: 0 success, 1 script error, 2 bad usage or invalid argument,
  3 function error, 4 service error (HTTP >= 400), 5 transport error, 6 configuration

examples:
  fcrun --local scripts/functions scripts/hello.lua
  fcrun -e 'print(require("fc").invoke("hello", "hi").body)'
  fcrun invoke my-func --qualifier prod --log --payload '{"key":"value"}'
  echo '{}' | fcrun invoke my-func --payload-file - -o json
  fcrun invoke my-func --each events.jsonl -c 8 > results.jsonl
  fcrun task wait my-func nightly_1
  fcrun serve --functions scripts/functions --port 9000
]==]

HELP.invoke = [==[
usage: fcrun [options] invoke NAME [--qualifier Q] [--async] [--task-id ID] [--log]
             [--payload TEXT | --payload-file FILE | --payload-file -]
             [-o text|json] [--each FILE [-c N] [--unordered]]

One invocation of function NAME. By default the function's output goes to
stdout byte for byte and the tail log (--log) to stderr; with --async the
task id goes to stdout.

  --qualifier Q        version or alias (LATEST, 1, prod)
  --async              asynchronous invocation (HTTP 202)
  --task-id ID         the async task id (needs --async)
  --log                ask for the tail log
  --payload TEXT       the event; or --payload-file FILE ('-' reads stdin)
  -o, --output json    one JSON object on stdout instead (see `fcrun help output`)
  --each FILE          one invocation per line of FILE ('-': stdin), each line the
                       payload; one JSON object per line on stdout, with "line"
  -c, --concurrency N  at most N invocations in flight with --each (default 10)
  --unordered          with --each, print results as they complete (default: in
                       the input's order)

exit status: as for fcrun; with --each the worst of all lines (the highest code).
examples:
  fcrun invoke hello --payload '{"name":"Ada"}' -o json | jq .body.message
  fcrun invoke hello --each names.txt -c 20 | jq -c 'select(.ok | not)'
]==]

HELP.task = [==[
usage: fcrun [options] task get NAME ID      the async task, as JSON
       fcrun [options] task list NAME        the function's async tasks, one JSON line each
                 [--status S] [--prefix P] [--limit N]
       fcrun [options] task stop NAME ID     stop a running task
       fcrun [options] task wait NAME ID     wait until the task ends; print it
                 [--wait-timeout SECONDS]
  all: [--qualifier Q] (list: that version's or alias's tasks only), [-o json]
  (a task is printed as JSON either way)

These are fc.AsyncTask's status, stop and wait, and fc.async_tasks (docs/API.md).
exit status of wait: 0 Succeeded, 3 Failed, Stopped, Expired or Invalid, 5 when
--wait-timeout passed first; otherwise as for fcrun.
]==]

HELP.options = HELP.usage

HELP.serve = [==[
usage: fcrun serve --functions DIR [--host ADDR] [--port N] [--access-key-id ID
                   --access-key-secret SECRET] [--security-token TOKEN] [-v]

An FC-compatible emulator of the Lua functions in DIR (docs/EMULATOR.md);
`fcrun serve --help` has the details.
]==]

HELP.output = [==[
fcrun invoke -o json (and every line of --each) prints one JSON object:
  ok           true when the call succeeded and the function did not fail
  status       HTTP status (null when no answer came)
  request_id   x-fc-request-id
  qualifier    the version that ran
  task_id      async task id (--async)
  duration     client-side seconds
  error_type   x-fc-error-type on a function error
  error        the decoded function error body; for a service or transport
               error {kind, code, message, status, retryable}
  log          the decoded tail log (--log)
  report       the tail log parsed: request_id, lines, error, duration_ms,
               billed_ms, memory_mb, max_memory_mb, truncated (--log)
  body         the function's output: JSON when it parses, else a string;
               when it is not UTF-8, base64 with "body_encoding": "base64"
  line         the input line number (--each only)
]==]

HELP["exit-status"] = [==[
exit status: 0 success, 1 script error, 2 bad usage or invalid argument,
  3 function error, 4 service error (HTTP >= 400), 5 transport error (also a
  deadline the script set), 6 configuration (no credentials, no endpoint).
  An uncaught error in a script maps the same way.
]==]

-- ---- did you mean ---------------------------------------------------------

-- Edit distance with transpositions (optimal string alignment).
local function distance(a, b)
  local la, lb = #a, #b
  local d = {}
  for i = 0, la do d[i] = {[0] = i} end
  for j = 0, lb do d[0][j] = j end
  for i = 1, la do
    for j = 1, lb do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[la][lb]
end

-- suggest(word, candidates): the closest candidate, or nil when none is close.
function M.suggest(word, candidates)
  local best, best_d
  local prefixed = {}
  for _, c in ipairs(candidates) do
    if #word >= 3 and c:sub(1, #word) == word then prefixed[#prefixed + 1] = c end
    local d = distance(word, c)
    if not best_d or d < best_d then best, best_d = c, d end
  end
  if #prefixed == 1 then return prefixed[1] end
  if best_d and best_d <= math.max(2, #word // 3) and best_d < #word then return best end
  return nil
end

local function did_you_mean(word, candidates)
  local s = M.suggest(word, candidates)
  return s and (" (did you mean " .. s .. "?)") or ""
end

local function usage(cmd, msg)
  error(fc.Error.new{kind = "invalid", message = cmd .. ": " .. msg ..
    "\n(fcrun help " .. cmd .. " lists its options)"}, 0)
end

-- unknown_option(opt): the host's message for an option it does not know.
function M.unknown_option(opt)
  io.stderr:write("fcrun: unknown option '", opt, "'", did_you_mean(opt, M.HOST_OPTIONS),
                  "\n(fcrun --help lists the options)\n")
  return M.EXIT_USAGE
end

-- script_hint(name): a suggestion when a SCRIPT that does not exist looks
-- like a misspelt subcommand, else "".
function M.script_hint(name)
  if name:find("[/.]") then return "" end
  local s = M.suggest(name, M.SUBCOMMANDS)
  return s and (" (did you mean 'fcrun " .. s .. "'?)") or ""
end

function M.help(topic)
  if topic == nil then io.stdout:write(HELP.usage) return M.EXIT_OK end
  local text = HELP[topic]
  if not text then
    local topics = {"invoke", "task", "serve", "options", "output", "exit-status"}
    io.stderr:write("fcrun: no help topic '", tostring(topic), "'", did_you_mean(topic, topics),
                    "; topics: ", table.concat(topics, ", "), "\n")
    return M.EXIT_USAGE
  end
  io.stdout:write(text)
  return M.EXIT_OK
end

-- ---- run-wide switches -------------------------------------------------------

local run = {quiet = false, stats = false, dry_run = false}

-- setup{quiet, stats, trace, dry_run}: from fcrun's flags, before anything runs.
function M.setup(o)
  run.quiet, run.stats, run.dry_run = o.quiet or false, o.stats or false, o.dry_run or false
  progress.quiet = run.quiet
  if o.trace then
    local ok, err = stats.trace(o.trace)
    if not ok then
      error(fc.Error.new{kind = "invalid", message = "--trace: cannot open " .. err}, 0)
    end
  end
end

-- at_exit(): the --stats summary (once); closes the trace file.
function M.at_exit()
  if run.stats then io.stderr:write(stats.summary()) end
  run.stats = false
  stats.trace(nil)
end

-- A script that ends with os.exit still gets its summary.
local os_exit = os.exit
function os.exit(...) -- luacheck: ignore
  M.at_exit()
  return os_exit(...)
end

local function note(...)
  if not run.quiet then progress.say(...) end
end

-- ---- JSON envelopes ---------------------------------------------------------

-- A JSON text on one line: raw newlines outside strings become spaces,
-- inside strings (which cjson's decoder accepts) their escapes.
local function one_line(s)
  if not s:find("[\r\n]") then return s end
  local out, i, n, instr = {}, 1, #s, false
  while i <= n do
    local j = s:find(instr and '[\\"\r\n]' or '["\r\n]', i)
    if not j then out[#out + 1] = s:sub(i) break end
    out[#out + 1] = s:sub(i, j - 1)
    local c = s:sub(j, j)
    if c == '"' then instr = not instr; out[#out + 1] = c
    elseif c == "\\" then out[#out + 1] = s:sub(j, j + 1); j = j + 1
    elseif instr then out[#out + 1] = c == "\n" and "\\n" or "\\r"
    else out[#out + 1] = " " end
    i = j + 1
  end
  return table.concat(out)
end

-- The body as a JSON value: its own text when it is JSON (never re-encoded,
-- so no number loses digits), else a string, else base64.
local function body_json(body)
  if body == "" then return '""' end
  if json.decode(body) ~= nil then return one_line(body) end
  if utf8.len(body) then return json.encode(body) end
  return json.encode(fc.base64.encode(body)), "base64"
end

local ENVELOPE = {"line", "ok", "status", "request_id", "qualifier", "task_id", "duration",
                  "error_type", "error", "log", "report"}

local function encode_envelope(e, body)
  local parts = {}
  for _, k in ipairs(ENVELOPE) do
    local v = e[k]
    if v == nil then v = json.null end
    if k ~= "line" or e.line then parts[#parts + 1] = '"' .. k .. '":' .. json.encode(v) end
  end
  if body then
    local text, encoding = body_json(body)
    parts[#parts + 1] = '"body":' .. text
    if encoding then parts[#parts + 1] = '"body_encoding":"' .. encoding .. '"' end
  else
    parts[#parts + 1] = '"body":null'
  end
  return "{" .. table.concat(parts, ",") .. "}\n"
end

-- envelope(r): fields of an fc.Result; error_envelope(err): of an fc.Error.
local function envelope(r, want_log)
  local e = {ok = r.ok, status = r.status, request_id = r.request_id, qualifier = r.qualifier,
             task_id = r.task_id, duration = r.duration, error_type = r.error_type,
             error = r.error, log = r.log}
  if want_log then e.report = r.report end
  return e
end

local function error_envelope(err)
  if not fc.Error.is(err) then
    return {ok = false, error = {kind = "script", message = tostring(err)}}
  end
  return {ok = false, status = err.status, request_id = err.request_id,
          error = {kind = err.kind, code = err.code, message = err.message,
                   status = err.status, retryable = err.retryable}}
end

local function exit_for_result(r) return r.ok and M.EXIT_OK or M.EXIT_FUNCTION end

-- ---- fcrun invoke --------------------------------------------------------------

local INVOKE_FLAGS = {"--qualifier", "--async", "--task-id", "--log", "--payload", "--payload-file",
  "--output", "-o", "--each", "--concurrency", "-c", "--unordered", "--help", "-h"}

local function read_file(cmd, flag, path)
  local f, err
  if path == "-" then
    f = io.stdin
  else
    f, err = io.open(path, "rb")
    if not f then usage(cmd, "cannot read " .. flag .. ": " .. err) end
  end
  -- a directory, or a read error, never becomes an empty payload
  local s, rerr = f:read("a")
  if f ~= io.stdin then f:close() end
  if not s then
    usage(cmd, string.format("cannot read %s: %s: %s", flag, path == "-" and "standard input" or path,
      tostring(rerr or "read error")))
  end
  return s
end

-- A parser of subcommand words: flags (with their value-taking ones) and
-- positionals; unknown flags get a suggestion among known and host options.
local function parse(cmd, args, spec)
  local o, pos, i = {}, {}, 1
  local known = {}
  for name in pairs(spec) do known[#known + 1] = name end
  table.sort(known)
  for _, h in ipairs(M.HOST_OPTIONS) do known[#known + 1] = h end
  while i <= #args do
    local a = args[i]
    local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
    name = name or a
    local s = spec[name]
    if s then
      local v = true
      if s.value then
        if inline then v = inline
        else
          i = i + 1
          v = args[i]
          if v == nil then usage(cmd, name .. " needs a value") end
        end
      elseif inline then usage(cmd, name .. " takes no value") end
      local key = s.key or name:gsub("^%-+", ""):gsub("-", "_")
      if s.once and o[key] ~= nil then usage(cmd, s.once) end
      o[key] = v
    elseif a == "--" then
      table.move(args, i + 1, #args, #pos + 1, pos)
      break
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      usage(cmd, "unknown option " .. a .. did_you_mean(name, known))
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return o, pos
end

local INVOKE_SPEC = {
  ["--qualifier"] = {value = true}, ["--async"] = {}, ["--task-id"] = {value = true},
  ["--log"] = {}, ["--unordered"] = {}, ["--help"] = {}, ["-h"] = {key = "help"},
  ["--payload"] = {value = true, once = "give one --payload"},
  ["--payload-file"] = {value = true, once = "give one --payload-file"},
  ["--output"] = {value = true}, ["-o"] = {value = true, key = "output"},
  ["--each"] = {value = true}, ["--concurrency"] = {value = true}, ["-c"] = {value = true, key = "concurrency"},
}

local function check_output(cmd, v)
  if v ~= nil and v ~= "json" and v ~= "text" then
    usage(cmd, "--output must be json or text, not '" .. v .. "'" .. did_you_mean(v, {"json", "text"}))
  end
  return v == "json"
end

-- When FC says the function does not exist, name the closest one it has
-- (up to 1,000 functions are listed; a failure to list is not an error).
local function suggest_function(err, name)
  if not (fc.Error.is(err) and err.code == "FunctionNotFound") then return err end
  local names, token = {}, nil
  for _ = 1, 10 do
    local ok, r = pcall(fc.request, {method = "GET", path = "/2023-03-30/functions",
      action = "ListFunctions", query = {limit = 100, nextToken = token}})
    if not ok or type(r.body) ~= "table" then break end
    for _, f in ipairs(r.body.functions or {}) do names[#names + 1] = f.functionName end
    token = r.body.nextToken
    if not token or token == "" then break end
  end
  local s = M.suggest(name, names)
  if s then err.message = err.message .. " (did you mean " .. s .. "?)" end
  return err
end

-- One invocation, for --each: an envelope and an exit code, never a raise.
local function invoke_one(name, payload, opts, want_log)
  local ok, r = pcall(fc.invoke, name, payload, opts)
  if ok then return envelope(r, want_log), r.body, exit_for_result(r) end
  return error_envelope(r), nil, M.exit_code(r)
end

-- The lines of FILE, every one of them (a last line without "\n" too).
local function lines_of(text)
  local t = {}
  for l in text:gmatch("([^\n]*)\n") do t[#t + 1] = l:gsub("\r$", "") end
  local tail = text:match("([^\n]+)$")
  if tail then t[#t + 1] = tail:gsub("\r$", "") end
  return t
end

local function invoke_each(name, o, opts)
  local n = tonumber(o.concurrency or 10)
  if not n or n < 1 or n ~= math.floor(n) then
    usage("invoke", "--concurrency must be a whole number >= 1, not '" .. tostring(o.concurrency) .. "'")
  end
  if o.payload or o.payload_file then
    usage("invoke", "--each gives the payloads; drop --payload/--payload-file")
  end
  local items = lines_of(read_file("invoke", "--each", o.each))
  local pending, next_out, worst = {}, 1, M.EXIT_OK
  local done, failed = 0, 0
  local line = progress.new(#items) -- fc.map's own line stays silent while this one is up
  local shared = core.isatty(1) and core.isatty(2) -- results and the line on one terminal
  local function emit(text)
    if shared then line:clear() end
    io.stdout:write(text)
    if shared then io.stdout:flush() end
  end
  local ok, err = pcall(fc.map, items, function(payload, i)
    local e, body, code = invoke_one(name, payload, opts, opts.log)
    e.line = i
    if code > worst then worst = code end
    done = done + 1
    if code ~= M.EXIT_OK then failed = failed + 1 end
    line:update(done, failed)
    local text = encode_envelope(e, body)
    if o.unordered then emit(text) return end
    pending[i] = text
    while pending[next_out] do
      emit(pending[next_out])
      pending[next_out] = nil
      next_out = next_out + 1
    end
  end, {concurrency = math.floor(n)})
  line:finish()
  if not ok then error(err, 0) end
  io.stdout:flush()
  return worst
end

-- invoke(args): args are the words after "invoke". Returns the exit code.
function M.invoke(args)
  local o, pos = parse("invoke", args, INVOKE_SPEC)
  if o.help then io.stdout:write(HELP.invoke) return M.EXIT_OK end
  local as_json = check_output("invoke", o.output)
  if #pos == 0 then usage("invoke", "the function NAME is missing") end
  if #pos > 1 then usage("invoke", "one function name only (got '" .. pos[1] .. "' and '" .. pos[2] .. "')") end
  local name = pos[1]
  if o.concurrency and not o.each then usage("invoke", "--concurrency goes with --each") end
  if o.unordered and not o.each then usage("invoke", "--unordered goes with --each") end
  local opts = {qualifier = o.qualifier, async = o.async, task_id = o.task_id, log = o.log}
  if o.payload and o.payload_file then usage("invoke", "give one of --payload and --payload-file") end
  if o.each then return invoke_each(name, o, opts) end
  local payload = o.payload
  if o.payload_file then payload = read_file("invoke", "--payload-file", o.payload_file) end
  local ok, r = pcall(fc.invoke, name, payload, opts)
  if not ok then
    local err = suggest_function(r, name)
    if as_json and fc.Error.is(err) and err.kind ~= "invalid" then
      io.stdout:write(encode_envelope(error_envelope(err)))
      io.stdout:flush()
    end
    error(err, 0)
  end
  if as_json then
    io.stdout:write(encode_envelope(envelope(r, o.log), r.body))
  else
    if r.log then
      progress.clear()
      io.stderr:write(r.log, r.log:sub(-1) == "\n" and "" or "\n")
    end
    io.stdout:write(r.body)
    if r.task_id then io.stdout:write(r.task_id, "\n") end
  end
  io.stdout:flush()
  if r.task_id then note("async task ", r.task_id, " accepted [request ", tostring(r.request_id), "]") end
  if not r.ok then
    progress.say("function error: ", r.error_type, " [request ", tostring(r.request_id), "]")
  end
  return exit_for_result(r)
end

-- ---- fcrun task --------------------------------------------------------------------

local TASK_SPEC = {
  ["--qualifier"] = {value = true}, ["--output"] = {value = true}, ["-o"] = {value = true, key = "output"},
  ["--status"] = {value = true}, ["--prefix"] = {value = true}, ["--limit"] = {value = true},
  ["--wait-timeout"] = {value = true}, ["--help"] = {}, ["-h"] = {key = "help"},
}
local TASK_VERBS = {"get", "list", "stop", "wait"}

local function print_json(v)
  io.stdout:write(json.encode(v), "\n")
end

-- The async task operations, on fc.AsyncTask and fc.async_tasks (docs/API.md).
local TASK = {}

-- An fc.AsyncTask for a task that exists already (fc has no public
-- constructor for one yet: this is the one place that builds it).
local function task_handle(name, id, o)
  return fc.async_task(name, id, o.qualifier)
end

-- Under --dry-run nothing is asked, so a task's state is unknown: "DryRun".

function TASK.get(name, id, o)
  local rec = task_handle(name, id, o):status()
  if run.dry_run then return {taskId = id, status = "DryRun"} end
  return rec
end

function TASK.list(name, _, o)
  local limit = o.limit and math.tointeger(tonumber(o.limit))
  if o.limit and not (limit and limit >= 1) then usage("task", "--limit must be a whole number >= 1") end
  local out = {}
  local ok, err = pcall(function()
    for t in fc.async_tasks(name, {status = o.status, prefix = o.prefix, qualifier = o.qualifier,
                                   limit = limit and math.min(limit, 100) or nil}) do
      out[#out + 1] = t
      if limit and #out >= limit then break end
    end
  end)
  if not ok and not run.dry_run then error(err, 0) end
  return out
end

function TASK.stop(name, id, o)
  task_handle(name, id, o):stop()
  return {taskId = id, stopRequested = true}
end

function TASK.wait(name, id, o)
  local limit = o.wait_timeout and tonumber(o.wait_timeout)
  if o.wait_timeout and not (limit and limit >= 0 and limit < math.huge) then
    usage("task", "--wait-timeout must be a number of seconds >= 0")
  end
  local task = task_handle(name, id, o)
  if run.dry_run then task:status() return {taskId = id, status = "DryRun"} end
  return task:wait{timeout = limit}
end

function M.task(args)
  local o, pos = parse("task", args, TASK_SPEC)
  if o.help then io.stdout:write(HELP.task) return M.EXIT_OK end
  check_output("task", o.output) -- a task is JSON either way
  local verb, name, id = pos[1], pos[2], pos[3]
  if not verb then usage("task", "say get, list, stop or wait") end
  if not TASK[verb] then
    usage("task", "no task operation '" .. verb .. "'" .. did_you_mean(verb, TASK_VERBS) ..
                  "; use get, list, stop or wait")
  end
  if not name then usage("task", verb .. " needs the function NAME") end
  if verb ~= "list" and not id then usage("task", verb .. " needs the task ID") end
  if #pos > (verb == "list" and 2 or 3) then usage("task", "too many words: '" .. pos[#pos] .. "'") end
  local result = TASK[verb](name, id, o)
  if verb == "list" then
    for _, t in ipairs(result) do print_json(t) end
  else
    print_json(result)
  end
  io.stdout:flush()
  if verb == "wait" and result.status ~= "Succeeded" and result.status ~= "DryRun" then
    note("task ", id, " ended ", tostring(result.status),
         result.taskErrorMessage and (": " .. result.taskErrorMessage) or "")
    return M.EXIT_FUNCTION
  end
  return M.EXIT_OK
end

-- main(sub, args): runs subcommand sub with the words after it.
function M.main(sub, args)
  if sub == "invoke" then return M.invoke(args) end
  if sub == "task" then return M.task(args) end
  if sub == "help" then return M.help(args[1]) end
  error("fcrun: no subcommand " .. tostring(sub))
end

return M
