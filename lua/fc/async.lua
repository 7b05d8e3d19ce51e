-- Asynchronous tasks and listings: fc.invoke_async returns an fc.AsyncTask
-- (status, wait, stop), fc.async_tasks and fc.functions iterate over
-- ListAsyncTasks and ListFunctions across every page.
-- FC-PROTOCOL.md §7.1 (async task API) and §7.3 (ListFunctions).

local Error = require "fc.error"
local sched = require "fc.sched"
local client = require "fc.client"

local M = {}

local VERSION = "2023-03-30"

-- The states an async task ends in (it never leaves them).
local FINAL = {Succeeded = true, Failed = true, Stopped = true, Expired = true, Invalid = true}
-- Every status FC reports; fc.async_tasks checks its status filter against them.
local STATUSES = {Enqueued = true, Dequeued = true, Running = true, Retrying = true,
                  Stopping = true}
for s in pairs(FINAL) do STATUSES[s] = true end

local AsyncTask = {FINAL = FINAL}
AsyncTask.__index = AsyncTask
AsyncTask.__name = "fc.AsyncTask"
M.AsyncTask = AsyncTask

function AsyncTask:__tostring()
  return string.format("fc.AsyncTask(%s %s)", self.function_name, self.id or "(no task id)")
end

function AsyncTask.is(v)
  return getmetatable(v) == AsyncTask
end

local function check_self(self, method)
  if getmetatable(self) ~= AsyncTask then
    Error.invalid("AsyncTask:" .. method, "call it with ':' on an fc.AsyncTask (got %s)", type(self))
  end
  if not self.id and self.dry_run then
    Error.invalid("AsyncTask:" .. method, "task of function '%s' has no id: it was a dry run " ..
                  "(pass task_id to name it)", self.function_name)
  elseif not self.id then
    -- FC returns a task id only when the function's async task mode is on.
    error(Error.new{kind = "config", message = string.format(
      "fc.AsyncTask:%s: FC returned no async task id for function '%s' [request %s]: its " ..
      "async task mode is off. Turn it on with PutAsyncInvokeConfig, e.g. fc.request{method = " ..
      "\"PUT\", action = \"PutAsyncInvokeConfig\", path = \"/2023-03-30/functions/%s/" ..
      "async-invoke-config\", body = {asyncTask = true}} (console: the function's " ..
      "asynchronous invocation settings, \"Asynchronous task\"), then invoke again",
      method, self.function_name, tostring(self.request_id), self.function_name)}, 0)
  end
end

local function task_path(self)
  return "/" .. VERSION .. "/functions/" .. self.function_name .. "/async-tasks/" .. self.id
end

local function qualifier_query(self)
  return self.qualifier and {qualifier = self.qualifier} or nil
end

-- client:invoke_async(name, payload [, opts]) -> fc.AsyncTask. opts as for
-- invoke (async is implied); task_id names the task, else FC's id is used.
function M.invoke(c, name, payload, opts)
  if opts ~= nil and type(opts) ~= "table" then
    Error.invalid("invoke_async", "options must be a table, got %s", type(opts))
  end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.async == false then Error.invalid("invoke_async", "option 'async' cannot be false here") end
  o.async = true
  local r = c:invoke(name, payload, o)
  return setmetatable({id = r.task_id or o.task_id, function_name = name, qualifier = o.qualifier,
                       request_id = r.request_id, client = c, dry_run = r.dry_run}, AsyncTask)
end

-- client:async_task(name, id [, qualifier]) -> the fc.AsyncTask of a task
-- started elsewhere (another run, the console), to follow or stop it.
function M.handle(c, name, id, qualifier)
  client.check_function_name("async_task", name)
  client.check_task_id("async_task", id)
  client.check_qualifier("async_task", qualifier)
  return setmetatable({id = id, function_name = name, qualifier = qualifier, client = c}, AsyncTask)
end

local function get(self, timeout, retry)
  return self.client:request{method = "GET", action = "GetAsyncTask", path = task_path(self),
                             query = qualifier_query(self), timeout = timeout, retry = retry}.body
end

-- task:status() -> the GetAsyncTask record (a table, as FC returns it).
function AsyncTask:status()
  check_self(self, "status")
  return get(self)
end

local WAIT_OPTIONS = {timeout = true, interval = true, max_interval = true}

-- task:wait([opts]) -> the final record. Polls GetAsyncTask at once, then
-- after opts.interval seconds (default 0.1), doubling up to opts.max_interval
-- (default 5). With opts.timeout (seconds), raises an fc.Error of kind
-- "timeout" when the task has not reached a final state by then; the task
-- keeps running. Until that deadline a poll that failed in a way safe to
-- retry (a throttled or dropped GetAsyncTask) is one more poll without news;
-- without a deadline, the client's retry policy decides.
function AsyncTask:wait(opts)
  if opts ~= nil and type(opts) ~= "table" then
    Error.invalid("AsyncTask:wait", "options must be a table, got %s", type(opts))
  end
  opts = opts or {}
  for k, v in pairs(opts) do
    if not WAIT_OPTIONS[k] then Error.invalid("AsyncTask:wait", "unknown option '%s'", tostring(k)) end
    -- As fc.wait: a timeout of 0 polls once (a deadline that has just passed).
    if type(v) ~= "number" or not (k == "timeout" and v >= 0 or v > 0) or v == math.huge then
      Error.invalid("AsyncTask:wait", "option '%s' must be a finite number of seconds %s", k,
                    k == "timeout" and ">= 0" or "> 0")
    end
  end
  check_self(self, "wait")
  local delay, cap = opts.interval or 0.1, opts.max_interval or 5
  if delay > cap then cap = delay end
  local deadline = opts.timeout and sched.now() + opts.timeout
  local per_request = self.client.opts.timeout or 60
  local last, failure
  while true do
    local ok, rec
    if deadline then
      -- A poll never outlives the deadline by more than a moment.
      local left = math.max(deadline - sched.now(), 0.05)
      ok, rec = pcall(get, self, math.min(left, per_request), false)
      if not ok then
        if not (Error.is(rec) and rec.retryable) then error(rec, 0) end
        failure = rec
      end
    else
      ok, rec = true, get(self)
    end
    if ok then
      failure = nil
      if type(rec) ~= "table" or type(rec.status) ~= "string" then
        error(Error.new{kind = "service", status = 200, code = "InvalidResponse",
          message = "GetAsyncTask answered without a status: " .. tostring(rec),
          where = "GET " .. task_path(self)}, 0)
      end
      if FINAL[rec.status] then return rec end
      last = rec.status
    end
    local now = sched.now()
    if deadline and now >= deadline then
      error(Error.new{kind = "timeout", task_id = self.id, function_name = self.function_name,
        last_status = last, cause = failure, message = string.format(
          "fc.AsyncTask:wait: task '%s' of function '%s' is not done after %g seconds " ..
          "(last status: %s%s); it keeps running", self.id, self.function_name, opts.timeout,
          tostring(last or "unknown"), failure and ("; last poll: " .. tostring(failure)) or "")},
        0)
    end
    sched.sleep(deadline and math.min(delay, deadline - now) or delay)
    delay = math.min(delay * 2, cap)
  end
end

-- task:stop() -> true once FC accepted the stop (StopAsyncTask).
function AsyncTask:stop()
  check_self(self, "stop")
  self.client:request{method = "PUT", action = "StopAsyncTask", path = task_path(self) .. "/stop",
                      query = qualifier_query(self)}
  return true
end

-- An iterator over every record of a paged list: fetch(token) returns the
-- records of one page and the next token ("" or nil on the last page).
local function pages(what, fetch)
  local page, i, token, last = {}, 0, nil, false
  local seen = {}
  return function()
    while i >= #page do
      if last then return nil end
      local records, nexttoken = fetch(token)
      if type(records) ~= "table" then
        error(Error.new{kind = "service", status = 200, code = "InvalidResponse",
          message = what .. " answered without a list: " .. tostring(records)}, 0)
      end
      page, i = records, 0
      if type(nexttoken) ~= "string" or nexttoken == "" then
        last = true
      elseif seen[nexttoken] then -- a server that pages in a circle must not hang us
        error(Error.new{kind = "service", status = 200, code = "InvalidResponse",
          message = what .. " returned nextToken '" .. tostring(nexttoken) .. "' twice"}, 0)
      else
        seen[nexttoken], token = true, nexttoken
      end
    end
    i = i + 1
    return page[i]
  end
end

local function check_filter(fn, filter, allowed)
  if filter == nil then return {} end
  if type(filter) ~= "table" then Error.invalid(fn, "filter must be a table, got %s", type(filter)) end
  for k, v in pairs(filter) do
    local want = allowed[k]
    if not want then Error.invalid(fn, "unknown filter '%s'", tostring(k)) end
    if type(v) ~= want then Error.invalid(fn, "filter '%s' must be a %s, got %s", k, want, type(v)) end
  end
  if filter.limit and (math.type(filter.limit) ~= "integer" or filter.limit < 1 or filter.limit > 100) then
    Error.invalid(fn, "filter 'limit' (records per page) must be an integer from 1 to 100")
  end
  return filter
end

local TASK_FILTER = {status = "string", prefix = "string", started_after = "number",
                     started_before = "number", limit = "number", qualifier = "string"}

local function ms(seconds) return string.format("%d", math.floor(seconds * 1000)) end

-- client:async_tasks(name [, filter]) -> iterator over AsyncTask records.
-- filter: status, prefix (of the task id), started_after / started_before
-- (epoch seconds, as os.time()), limit (records per page, 1-100),
-- qualifier (the tasks of that version or alias only).
function M.tasks(c, name, filter)
  client.check_function_name("async_tasks", name)
  filter = check_filter("async_tasks", filter, TASK_FILTER)
  client.check_qualifier("async_tasks", filter.qualifier)
  if filter.status and not STATUSES[filter.status] then
    local names = {}
    for s in pairs(STATUSES) do names[#names + 1] = s end
    table.sort(names)
    Error.invalid("async_tasks", "status '%s' is not one FC reports (%s)", filter.status,
                  table.concat(names, ", "))
  end
  local query = {status = filter.status, prefix = filter.prefix, limit = filter.limit,
    qualifier = filter.qualifier,
    startedTimeBegin = filter.started_after and ms(filter.started_after),
    startedTimeEnd = filter.started_before and ms(filter.started_before)}
  local path = "/" .. VERSION .. "/functions/" .. name .. "/async-tasks"
  return pages("ListAsyncTasks", function(token)
    query.nextToken = token
    local body = c:request{method = "GET", action = "ListAsyncTasks", path = path, query = query}.body
    if type(body) ~= "table" then return body end
    return type(body.tasks) == "table" and body.tasks or {}, body.nextToken
  end)
end

-- client:functions([filter]) -> iterator over Function records.
-- filter: prefix (of the name), limit (records per page, 1-100).
function M.functions(c, filter)
  filter = check_filter("functions", filter, {prefix = "string", limit = "number"})
  local query = {prefix = filter.prefix, limit = filter.limit}
  return pages("ListFunctions", function(token)
    query.nextToken = token
    local body = c:request{method = "GET", action = "ListFunctions", path = "/" .. VERSION ..
                           "/functions", query = query}.body
    if type(body) ~= "table" then return body end
    return type(body.functions) == "table" and body.functions or {}, body.nextToken
  end)
end

return M
