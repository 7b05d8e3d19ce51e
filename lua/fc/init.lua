-- fc: Alibaba Cloud Function Compute 3.0 (API 2023-03-30) from Lua.
-- The reference is docs/API.md; every function there has a tested example.

local core = require "fc.core"
local json = require "fc.json"
local Error = require "fc.error"
local sched = require "fc.sched"
local client = require "fc.client"
local fanout = require "fc.fanout"

local fc = {
  VERSION = "0.1.0",
  API_VERSION = "2023-03-30",
  Error = Error,
  json = json,
  base64 = {encode = core.base64, decode = core.unbase64},
  hex = {encode = core.hex, decode = core.unhex},
  sha256 = core.sha256,
  hmac_sha256 = core.hmac_sha256,
  sign = client.sign,
  spawn = sched.spawn,
  wait = sched.wait,
  sleep = sched.sleep,
  now = sched.now,
  map = fanout.map,
  all = fanout.all,
  logs = require "fc.logs",                 -- fc.logs.parse(text)
  stats = require("fc.stats").snapshot,     -- fc.stats(): this run's requests so far
}

-- The default client's options (fcrun's flags land here) and the client.
local defaults = {}
local default_client

function fc.client(opts)
  return client.new(opts, defaults)
end

-- fc.configure(opts): sets options of the default client (and of every
-- fc.client made afterwards); nil values leave an option as it was.
function fc.configure(opts)
  client.check_options("configure", opts)
  for k, v in pairs(opts) do defaults[k] = v end
  defaults.access_key_secret = require("fc.credentials").seal(defaults.access_key_secret)
  default_client = nil
end

local function default()
  if not default_client then default_client = client.new(nil, defaults) end
  return default_client
end

function fc.invoke(name, payload, opts)
  return default():invoke(name, payload, opts)
end

function fc.request(t)
  return default():request(t)
end

-- Async tasks, listings and chains (lua/fc/async.lua, lua/fc/chain.lua).
fc.AsyncTask = require("fc.async").AsyncTask

function fc.invoke_async(name, payload, opts)
  return default():invoke_async(name, payload, opts)
end

function fc.async_task(name, id, qualifier)
  return default():async_task(name, id, qualifier)
end

function fc.async_tasks(name, filter)
  return default():async_tasks(name, filter)
end

function fc.functions(filter)
  return default():functions(filter)
end

function fc.chain(steps, payload, opts)
  return default():chain(steps, payload, opts)
end

-- fc.run(main, ...) -> status: runs main(...) as fcrun runs a script, for
-- hosts such as stock lua5.4: an error is printed on stderr with a
-- traceback, every task left is run to its end, failures nobody waited for
-- are reported, and the result is fcrun's exit status (0 success, 1 script
-- error or lost task failure, 2-6 by fc.Error kind). os.exit(fc.run(main)).
function fc.run(main, ...)
  if type(main) ~= "function" then
    error("bad argument #1 to 'run' (function expected, got " .. type(main) .. ")", 2)
  end
  local err
  local ok, trace = xpcall(main, function(e)
    err = e
    return debug.traceback(type(e) == "string" and e or tostring(e), 2)
  end, ...)
  local status = 0
  if not ok then
    io.stderr:write((arg and arg[0] or "lua"), ": ", tostring(trace), "\n")
    status = require("fc.cli").exit_code(err)
  end
  local lost = sched.report(io.stderr)
  if status == 0 and lost > 0 then status = 1 end
  return status
end

return fc
