-- `fcrun invoke NAME ...`: one invocation from the shell. The function's
-- output goes to stdout exactly as bytes, the decoded tail log to stderr.
-- Exit codes (also used for uncaught errors in scripts; see fcrun --help):
--   0 success, 1 script error, 2 bad usage or invalid argument,
--   3 function error, 4 service error, 5 transport error, 6 configuration

local fc = require "fc"

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

M.USAGE = [[
usage: fcrun [options] invoke NAME [--qualifier Q] [--async] [--task-id ID] [--log]
                                   [--payload TEXT | --payload-file FILE | --payload-file -]]

local function usage(msg)
  error(fc.Error.new{kind = "invalid", message = "invoke: " .. msg .. "\n" .. M.USAGE}, 0)
end

local function read_payload(path)
  local f, err
  if path == "-" then
    f = io.stdin
  else
    f, err = io.open(path, "rb")
    if not f then usage("cannot read --payload-file: " .. err) end
  end
  local s = f:read("a")
  if f ~= io.stdin then f:close() end
  return s
end

-- invoke(args): args are the words after "invoke". Returns the exit code.
function M.invoke(args)
  local name, opts, payload, have_payload = nil, {}, nil, false
  local i = 1
  local function value(flag)
    i = i + 1
    if args[i] == nil then usage(flag .. " needs a value") end
    return args[i]
  end
  while i <= #args do
    local a = args[i]
    if a == "--qualifier" then opts.qualifier = value(a)
    elseif a == "--async" then opts.async = true
    elseif a == "--task-id" then opts.task_id = value(a)
    elseif a == "--log" then opts.log = true
    elseif a == "--payload" or a == "--payload-file" then
      if have_payload then usage("give one of --payload and --payload-file") end
      local v = value(a)
      payload = a == "--payload" and v or read_payload(v)
      have_payload = true
    elseif a:sub(1, 1) == "-" and a ~= "-" then usage("unknown option " .. a)
    elseif name then usage("one function name only (got '" .. name .. "' and '" .. a .. "')")
    else name = a end
    i = i + 1
  end
  if not name then usage("the function NAME is missing") end
  local r = fc.invoke(name, payload, opts)
  if r.log then io.stderr:write(r.log, r.log:sub(-1) == "\n" and "" or "\n") end
  io.stdout:write(r.body)
  io.stdout:flush()
  if r.task_id then io.stderr:write("fcrun: async task ", r.task_id, " accepted [request ",
                                    tostring(r.request_id), "]\n") end
  if not r.ok then
    io.stderr:write("fcrun: function error: ", r.error_type, " [request ", tostring(r.request_id), "]\n")
    return M.EXIT_FUNCTION
  end
  return M.EXIT_OK
end

return M
