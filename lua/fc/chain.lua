-- fc.chain: invocations in sequence, the body of one the payload of the
-- next, byte for byte; Lua functions may transform between them.

local Error = require "fc.error"
local sched = require "fc.sched"
local client = require "fc.client"
local retry = require "fc.retry"

local M = {}

-- The options of fc.invoke that make sense for a step of a synchronous chain.
local STEP_OPTIONS = {qualifier = "string", log = "boolean", timeout = "number", headers = "table",
                      retry = "retry", idempotent = "boolean"}
local OPTION_NAMES = "qualifier, log, timeout, headers, retry, idempotent"

local function check_option(where, o, v)
  local want = STEP_OPTIONS[o]
  if not want then Error.invalid("chain", "%sunknown option '%s' (use %s)", where, tostring(o), OPTION_NAMES) end
  if want == "retry" then
    local ok, err = pcall(retry.check, "chain", v)
    if not ok then
      err.message = err.message:gsub("^fc%.chain: ", "fc.chain: " .. where)
      error(err, 0)
    end
  elseif type(v) ~= want then
    Error.invalid("chain", "%soption '%s' must be a %s, got %s", where, o, want, type(v))
  end
  if o == "timeout" and not (v > 0) then Error.invalid("chain", "%soption 'timeout' must be positive", where) end
end

-- Checks every step before anything is sent; returns them normalised:
-- {name, opts} for an invocation, {fn, name = "file:line"} for a Lua step.
local function normalise(steps, defaults)
  if type(steps) ~= "table" then Error.invalid("chain", "steps must be an array, got %s", type(steps)) end
  if #steps == 0 then Error.invalid("chain", "steps must hold at least one step") end
  local out = {}
  for k = 1, #steps do
    local s = steps[k]
    if type(s) == "function" then
      local info = debug.getinfo(s, "S")
      out[k] = {fn = s, name = info.short_src .. ":" .. info.linedefined}
    elseif type(s) == "string" or type(s) == "table" then
      local name, opts = s, {}
      for o, v in pairs(defaults) do opts[o] = v end
      if type(s) == "table" then
        name = s[1]
        for o, v in pairs(s) do
          if o ~= 1 then
            check_option("step " .. k .. ": ", o, v)
            opts[o] = v
          end
        end
      end
      if type(name) ~= "string" then
        Error.invalid("chain", "step %d: a table step needs the function name first, {name, ...}", k)
      end
      local ok, err = pcall(client.check_function_name, "chain", name)
      if ok then ok, err = pcall(client.check_qualifier, "chain", opts.qualifier) end
      if not ok then
        err.message = err.message:gsub("^fc%.chain: ", "fc.chain: step " .. k .. ": ")
        error(err, 0)
      end
      out[k] = {name = name, opts = opts}
    else
      Error.invalid("chain", "step %d must be a function name, a table {name, ...} or a Lua " ..
                    "function, got %s", k, type(s))
    end
  end
  return out
end

local function check_opts(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then Error.invalid("chain", "options must be a table, got %s", type(opts)) end
  for o, v in pairs(opts) do check_option("", o, v) end
  return opts
end

-- client:chain(steps [, payload [, opts]]) -> result, report. opts (the
-- STEP_OPTIONS) apply to every invocation step that does not set its own.
function M.run(c, steps, payload, opts)
  steps = normalise(steps, check_opts(opts))
  local report = {}
  local value, result = payload, nil
  for k, s in ipairs(steps) do
    local t0 = sched.now()
    local entry = {name = s.name}
    report[k] = entry
    if s.fn then
      local input = result and result.body or value
      local ok, out = pcall(s.fn, input)
      entry.duration = sched.now() - t0
      entry.ok = ok
      if not ok then
        entry.error = tostring(out) -- a string: err.report must not hold err itself
        report.failed = k
        if type(out) == "table" then
          out.step, out.report = k, report
        elseif type(out) == "string" then
          out = string.format("fc.chain: step %d (%s): %s", k, s.name, out)
        end
        error(out, 0)
      end
      value, result = out, nil
    else
      entry.qualifier = s.opts.qualifier
      local ok, r = pcall(c.invoke, c, s.name, result and result.body or value, s.opts)
      if not ok then
        entry.duration = sched.now() - t0
        entry.ok, entry.error = false, tostring(r)
        report.failed = k
        if type(r) == "table" then r.step, r.report = k, report end
        error(r, 0)
      end
      entry.status, entry.ok, entry.request_id = r.status, r.ok, r.request_id
      entry.duration, entry.error_type, entry.error = r.duration, r.error_type, r.error
      entry.qualifier = r.qualifier or entry.qualifier
      result = r
      if not r.ok then
        report.failed = k
        return r, report
      end
    end
  end
  if result then return result, report end
  return value, report
end

return M
