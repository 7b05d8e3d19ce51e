-- The client: configuration, signing, sending, and turning answers into
-- results or fc.Error values. fc's module functions use a default client;
-- fc.client{...} makes others. Every client shares the one connection pool.

local core = require "fc.core"
local json = require "fc.json"
local Error = require "fc.error"
local sched = require "fc.sched"
local credentials = require "fc.credentials"
local retry = require "fc.retry"
local stats = require "fc.stats"
local progress = require "fc.progress"

local M = {}

local VERSION = "2023-03-30"
local MAX_SYNC = 32 * 1024 * 1024 -- FC-PROTOCOL.md §9
local MAX_ASYNC = 128 * 1024
local EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
M.USER_AGENT = "fcrun/0.1 (lua 5.4)"

-- Option names a client accepts, and their checks.
local OPTIONS = {
  endpoint = "string", region = "string", account_id = "string", profile = "string",
  access_key_id = "string", access_key_secret = "string", security_token = "string",
  timeout = "number", connect_timeout = "number", verbose = "boolean", dry_run = "boolean",
  user_agent = "string", max_response = "number", max_connections = "number",
  retry = "retry", ca_file = "string",
}
local MAX_TIMEOUT = 604800 -- 7 days: curl's bound, far past any FC timeout

-- A timeout in seconds: positive and finite (at most 7 days).
function M.check_timeout(fn, name, v)
  if not (v > 0 and v <= MAX_TIMEOUT) then
    Error.invalid(fn, "%s must be positive and at most %d seconds, got %s", name,
      MAX_TIMEOUT, tostring(v))
  end
end

local function check_options(fn, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then Error.invalid(fn, "options must be a table, got %s", type(opts)) end
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then Error.invalid(fn, "unknown option '%s'", tostring(k)) end
    if want == "retry" then
      retry.check(fn, v)
    else
      if type(v) ~= want then Error.invalid(fn, "option '%s' must be a %s, got %s", k, want, type(v)) end
      if k == "max_response" then
        if not (math.tointeger(v) and v >= 1) then
          Error.invalid(fn, "option 'max_response' must be a whole number of bytes, at least 1, got %s", tostring(v))
        end
      elseif k == "max_connections" then
        if not (v > 0) then Error.invalid(fn, "option '%s' must be positive", k) end
      elseif want == "number" then
        M.check_timeout(fn, "option '" .. k .. "'", v)
      end
    end
  end
  if opts.max_connections and math.type(opts.max_connections) ~= "integer" then
    Error.invalid(fn, "option 'max_connections' must be a positive integer")
  end
  return opts
end
M.check_options = check_options

local Client = {}
Client.__index = Client
Client.__name = "fc.Client"
function Client:__tostring() -- never the credentials
  return "fc.Client(" .. (self.opts.endpoint or "account endpoint") .. ")"
end

-- "https://host:port/base" -> scheme, authority (host[:port]), base path
local function parse_endpoint(url)
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then scheme, rest = "https", url end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then
    Error.invalid("client", "endpoint '%s' must use http or https", url)
  end
  local authority, base = rest:match("^([^/?#]+)(/?[^?#]*)$")
  if not authority or not authority:match("^[%w._~%-]+$") and not authority:match("^[%w._~%-]+:%d+$")
     and not authority:match("^%[[%x:.]+%]:?%d*$") or base:find("[%c ]") then
    Error.invalid("client", "endpoint '%s' is not of the form [http[s]://]host[:port][/path]", url)
  end
  return scheme, authority, (base:gsub("/+$", ""))
end

-- The secret is sealed in C memory at once (credentials.seal): the options
-- a script can reach hold a core.Key in its place, never the text.
function M.new(opts, defaults)
  opts = check_options("client", opts)
  local o = {}
  for k, v in pairs(defaults or {}) do o[k] = v end
  for k, v in pairs(opts) do o[k] = v end
  o.access_key_secret = credentials.seal(o.access_key_secret)
  return setmetatable({opts = o}, Client)
end

-- The endpoint, resolved on first use: explicit, or the account endpoint.
function Client:endpoint()
  if self.scheme then return self.scheme, self.authority, self.base end
  local o = self.opts
  local url = o.endpoint
  if not url then
    local account = o.account_id or os.getenv("ALIBABA_CLOUD_ACCOUNT_ID") or os.getenv("FC_ACCOUNT_ID")
    local region = o.region or os.getenv("ALIBABA_CLOUD_REGION_ID")
    if not region and self:credentials().region then region = self.creds.region end
    if not (account and account ~= "" and region and region ~= "") then
      error(Error.new{kind = "config", message = "no endpoint: give --endpoint URL, or the account id " ..
        "(--account-id, ALIBABA_CLOUD_ACCOUNT_ID or FC_ACCOUNT_ID) and the region " ..
        "(--region or ALIBABA_CLOUD_REGION_ID)" .. (account and "" or "; the account id is missing") ..
        (region and "" or "; the region is missing")}, 0)
    end
    url = string.format("https://%s.%s.fc.aliyuncs.com", account, region)
  end
  self.scheme, self.authority, self.base = parse_endpoint(url)
  return self.scheme, self.authority, self.base
end

-- The CA bundle: the ca_file option (fcrun --cacert), else CURL_CA_BUNDLE,
-- else SSL_CERT_FILE, else the system's. Verification itself is never off.
function Client:ca_file()
  if self.ca ~= nil then return self.ca or nil end
  local o = self.opts
  local path, from = o.ca_file, "option ca_file"
  if not path then
    for _, var in ipairs{"CURL_CA_BUNDLE", "SSL_CERT_FILE"} do
      local v = os.getenv(var)
      if v and v ~= "" then path, from = v, var; break end
    end
  end
  if path then
    local f, err = io.open(path, "rb")
    local ok = f and f:read(0)
    if f then f:close() end
    if not ok then
      local e = Error.new{kind = from == "option ca_file" and "invalid" or "config",
        message = string.format("the CA file from %s cannot be read: %s", from,
          err or (path .. ": not a readable file"))}
      error(e, 0)
    end
  end
  self.ca = path or false
  return path
end

-- The C half of the endpoint (fc.core.endpoint): scheme, host, CA file,
-- user agent and limits, made once; returns the base path.
function Client:wire_endpoint()
  if self.wire then return self.base end
  local o = self.opts
  local scheme, authority = self:endpoint()
  self.wire = core.endpoint{scheme = scheme, host = authority, version = VERSION,
    user_agent = o.user_agent or M.USER_AGENT, ca_file = self:ca_file(),
    connect_timeout = o.connect_timeout or 10, max_body = o.max_response}
  return self.base
end

-- The current credentials, asked for per request: cheap while they are
-- fresh, refreshed by their source before they expire.
function Client:credentials()
  if not self.source then self.source = credentials.resolve(self.opts) end
  self.creds = self.source:get()
  return self.creds
end

-- A header name is an HTTP token; a value is one line with no NUL. Anything
-- else could put another header line on the wire.
local function check_header(fn, name, v)
  if type(name) ~= "string" then Error.invalid(fn, "header names must be strings") end
  if not name:match("^[%w!#$%%&'*+.^_`|~-]+$") then
    Error.invalid(fn, "header name '%s' is invalid: use letters, digits and - (no spaces, ':', CR or LF)",
      (name:gsub("%c", "?")))
  end
  if type(v) ~= "string" then
    Error.invalid(fn, "header '%s' must be a string, got %s", name, type(v))
  end
  if v:find("[\r\n%z]") then
    Error.invalid(fn, "header '%s' holds a CR or LF or a NUL byte; header values must be one line of text", name)
  end
end

-- The method goes on the request line: upper-case letters only.
local function check_method(fn, m)
  if type(m) ~= "string" or not m:match("^%a+$") then
    Error.invalid(fn, "method must be a word such as GET or POST, got '%s'", (tostring(m):gsub("%c", "?")))
  end
  return m:upper()
end

-- fc.sign{...}: see init.lua. Fills in what FC requires and signs.
function M.sign(t)
  if type(t) ~= "table" then Error.invalid("sign", "argument must be a table, got %s", type(t)) end
  local body = t.body or ""
  if type(body) ~= "string" then Error.invalid("sign", "body must be a string, got %s", type(body)) end
  if type(t.access_key_id) ~= "string" or type(t.access_key_secret) ~= "string" then
    Error.invalid("sign", "access_key_id and access_key_secret are required strings")
  end
  local method = check_method("sign", t.method or "GET")
  local headers = {}
  for k, v in pairs(t.headers or {}) do
    check_header("sign", k, v)
    headers[k:lower()] = v
  end
  if t.host then headers.host = t.host end
  headers["x-acs-version"] = headers["x-acs-version"] or VERSION
  headers["x-acs-date"] = t.date or headers["x-acs-date"] or os.date("!%Y-%m-%dT%H:%M:%SZ")
  headers["x-acs-signature-nonce"] = t.nonce or headers["x-acs-signature-nonce"]
    or core.hex(core.random(16))
  headers["x-acs-content-sha256"] = #body == 0 and EMPTY_SHA256 or core.hex(core.sha256(body))
  if t.security_token then
    headers["x-acs-security-token"] = t.security_token
    headers["x-acs-accesskey-id"] = t.access_key_id
  end
  local s = core.sign{
    method = method, path = t.path or "/", query = t.query,
    headers = headers, payload_hash = headers["x-acs-content-sha256"],
    access_key_id = t.access_key_id, access_key_secret = t.access_key_secret,
  }
  headers.authorization = s.authorization
  s.headers = headers
  return s
end

local function check_query(query)
  for k, v in pairs(query or {}) do
    local tv = type(v)
    if type(k) ~= "string" or (tv ~= "string" and tv ~= "number" and tv ~= "boolean") then
      Error.invalid("request", "query '%s' must be a string, number or boolean, got %s", tostring(k), tv)
    end
  end
end

local REDACT = {["x-acs-security-token"] = true}

-- A signed request can be replayed for 15 minutes: printed, the signature is hidden.
local function redact_signature(v)
  return (v:gsub("Signature=%x+", "Signature=<redacted>"))
end

-- Verbose and dry-run lines go to stderr; secrets never do.
local function note(fmt, ...)
  progress.say(string.format(fmt, ...))
end

-- A field of an FC error body, as text: strings and numbers only (JSON null
-- and tables are ignored), so that any body gives a readable fc.Error.
local function text_field(doc, ...)
  for _, k in ipairs{...} do
    local v = doc[k]
    if type(v) == "string" and v ~= "" then return v end
    if math.type(v) == "integer" then return tostring(v) end
  end
end

local function service_error(method, path, resp, raw)
  local body = resp.body
  local code, message, rid
  local doc = json.decode(body)
  if type(doc) == "table" then
    code = text_field(doc, "Code", "code", "ErrorCode", "errorCode")
    message = text_field(doc, "Message", "message", "ErrorMessage", "errorMessage")
    rid = text_field(doc, "RequestId", "requestId")
  end
  code = code and not code:match("^%d+$") and code or ("HTTP" .. resp.status)
  rid = resp.headers["x-fc-request-id"] or rid
  if not message then
    message = #body > 0 and body or "(empty body)"
  end
  local status = resp.status
  if status < 200 or status >= 300 or status == 204 then
    if status >= 300 and status < 400 then
      message = string.format("a %d redirect to %s; signed requests are never redirected (%s)",
        status, resp.headers.location or "(no location)", message)
    elseif status < 400 then
      message = string.format("an unexpected HTTP %d answer for this operation (%s)", status, message)
    end
  end
  return Error.new{kind = "service", status = status, code = code, message = message,
    request_id = rid, where = method .. " " .. path, headers = resp.headers,
    body = raw and body or nil, sent = true}
end

-- The slots that cap this client's requests in flight (and so its
-- connections) at max_connections. Admission happens here rather than in
-- curl's queue (CURLMOPT_MAX_HOST_CONNECTIONS) so that a request's timeout
-- starts when it is sent, not when it was queued, and a queued request
-- holds no curl handle, buffers or socket.
function Client:slots()
  local s = self.slot_pool
  if not s then
    s = sched.slots(self.opts.max_connections or M.MAX_CONNECTIONS, "a connection (max_connections)")
    self.slot_pool = s
  end
  return s
end
M.MAX_CONNECTIONS = 64
M.MAX_ABSORBED = 16 -- throttled attempts an fc.map window may take off one call's count

-- One attempt: sign (a fresh date and nonce), send, wait. Returns the raw
-- response {status, headers, body, seconds}, or nil, an fc.Error, and
-- whether an fc.map's window took the failure as its own signal (a
-- throttled answer it shrinks for: the retry costs the call no attempt).
-- Signing and starting are one C call (fc.core's endpoint:start).
function Client:attempt(r, key, path, group, attempt)
  local o = self.opts
  local wire = self.wire
  if o.dry_run then
    local url, lines = wire:sign(key, r.method, path, r.query, r.headers, r.body)
    table.sort(lines)
    note("dry run: %s %s", r.method, url)
    local shown = {}
    for _, l in ipairs(lines) do
      local k, v = l:match("^([^:]+): (.*)$")
      v = REDACT[k] and "<redacted>" or redact_signature(v)
      note("  %s: %s", k, v)
      if k ~= "user-agent" and k ~= "accept" then shown[k] = v end
    end
    note("  (%d body bytes)", r.body and #r.body or 0)
    return {dry_run = true, status = 0, headers = {}, body = "", seconds = 0, url = url,
            request_headers = shown}
  end
  if group then group:acquire() end
  local slots = self:slots()
  slots:acquire()
  local started = group and sched.now()
  local ok, x = pcall(wire.start, wire, sched.pool(), key, r.method, path, r.query, r.headers,
    r.body, r.timeout or o.timeout or 60)
  if ok then sched.await(x) end
  slots:release()
  if group then group:release() end
  if not ok then error(x, 0) end
  local resp, kind, msg, sent = x:response()
  stats.record(r, attempt, x, resp, kind)
  if not resp then
    local where = r.method .. " " .. path
    if o.verbose then note("%s -> %s error: %s", where, kind, msg) end
    if kind == "tls" and self:ca_file() then msg = msg .. " (CA file " .. self:ca_file() .. ")" end
    return nil, Error.new{kind = "transport", code = kind, message = msg, where = where,
      sent = sent, retryable = false}
  end
  local status = resp.status
  if o.verbose then
    note("%s %s -> %d [%s] %.1f ms", r.method, path, status, resp.headers["x-fc-request-id"] or "-",
         resp.seconds * 1000)
  end
  -- Only the answers FC gives this operation are results: anything else
  -- (a redirect, 204, an error) is a service error that says what came back.
  local expect = r.expect
  if expect and status ~= expect or not expect and (status < 200 or status >= 300) then
    local err = service_error(r.method, path, resp)
    return nil, err, group ~= nil and Error.throttled(err) and group:throttled(started)
  end
  if group then group:succeeded() end
  return resp
end

-- Sends one signed request, retrying what is safe to retry under the
-- policy in force; returns the raw response {status, headers, body,
-- seconds, attempts}, or {dry_run = true, ...}. Raises fc.Error for failures,
-- with sent, attempts and retryable set.
-- r: method, path (decoded), query, headers (a table of the call's own,
-- lower-case names, checked), body, content_type, action, timeout, retry,
-- idempotent (the call is safe to repeat even if it reached FC), expect
-- (the one status that is a result; else any 2xx), on_conflict.
function Client:send(r)
  local o = self.opts
  local base = self:wire_endpoint()
  local key = self:credentials().key
  local headers = r.headers
  headers["x-acs-action"] = r.action
  if r.body and r.content_type and not headers["content-type"] then
    headers["content-type"] = r.content_type
  end
  if r.query then check_query(r.query) end
  local path = base .. r.path
  local task = sched.current()
  local group = task and task.group
  local policy -- the retry policy, worked out at the first failure
  local attempt, spent = 0, 0 -- attempts made; attempts that count against the policy
  while true do
    attempt = attempt + 1
    local resp, err, absorbed = self:attempt(r, key, path, group, attempt)
    if resp then
      resp.attempts = attempt
      return resp
    end
    err.attempts = attempt
    if not absorbed or attempt - spent > M.MAX_ABSORBED then spent = spent + 1 end
    err.retryable = Error.safe_to_retry(err, r.idempotent)
    err.retry_after = retry.server_hint(err.headers)
    if attempt > 1 and r.on_conflict and err.status == 409 then
      local done = r.on_conflict(err) -- an earlier attempt did land
      if done then
        done.attempts = attempt
        return done
      end
    end
    if policy == nil then policy = retry.policy(r.retry, o.retry) or false end
    local wait = err.retryable and retry.delay(policy or nil, spent, err)
    if not wait then error(err, 0) end
    if o.verbose then
      note("%s %s: %s; attempt %d in %.0f ms", r.method, path, tostring(err.code), attempt + 1, wait * 1000)
    end
    sched.sleep(wait)
  end
end

local function decode_body(resp)
  local ct = resp.headers["content-type"] or ""
  if #resp.body > 0 and (ct:find("json", 1, true) or ct == "") then
    local v = json.decode(resp.body)
    if v ~= nil then return v end
  end
  return resp.body
end

-- client:request{method, path, query, headers, body, action, timeout}
function Client:request(t)
  if type(t) ~= "table" then Error.invalid("request", "argument must be a table, got %s", type(t)) end
  if type(t.path) ~= "string" or t.path:sub(1, 1) ~= "/" then
    Error.invalid("request", "path must be a string starting with '/'")
  end
  if type(t.action) ~= "string" or not t.action:match("^%a+$") then
    Error.invalid("request", "action must be the operation name, e.g. 'GetFunction'")
  end
  local body = t.body
  if type(body) == "table" then body = json.encode(body) end
  if body ~= nil and type(body) ~= "string" then
    Error.invalid("request", "body must be a string or a table, got %s", type(body))
  end
  local headers = {}
  for k, v in pairs(t.headers or {}) do
    check_header("request", k, v)
    headers[k:lower()] = v
  end
  if t.retry ~= nil then retry.check("request", t.retry) end
  local method = check_method("request", t.method or "GET")
  local idempotent = t.idempotent
  if idempotent == nil then idempotent = method == "GET" or method == "HEAD" end
  local resp = self:send{method = method, path = t.path, query = t.query, headers = headers,
    body = body, content_type = type(t.body) == "table" and "application/json" or "application/octet-stream",
    action = t.action, timeout = t.timeout, retry = t.retry, idempotent = idempotent}
  if resp.dry_run then return resp end
  return {status = resp.status, headers = resp.headers, body = decode_body(resp),
          raw = resp.body, request_id = resp.headers["x-fc-request-id"], duration = resp.seconds,
          attempts = resp.attempts}
end

-- Results of fc.invoke: a table with a json() method, and r.report, the
-- tail log parsed (fc.logs.parse) on first access and kept in the table.
-- Every other field is a raw field, so this __index never runs for them.
local Result = {}
Result.__name = "fc.Result"
local unparsable = setmetatable({}, {__mode = "k"}) -- logs that are not FC's format
function Result.__index(r, k)
  local m = Result[k]
  if m ~= nil or k ~= "report" then return m end
  local log = rawget(r, "log")
  if not log or unparsable[r] then return nil end
  local report = require("fc.logs").parse(log)
  if report then rawset(r, "report", report) else unparsable[r] = true end
  return report
end
function Result:json()
  local v, err = json.decode(self.body)
  if v == nil then
    error(Error.new{kind = "invalid", message = "fc.Result:json: the body is not JSON (" ..
      tostring(err) .. ")", request_id = self.request_id}, 2)
  end
  return v
end
function Result:__tostring()
  return string.format("fc.Result(%s %s, %d bytes%s)", tostring(self.status),
    self.ok and "ok" or (self.error_type or "failed"), #(self.body or ""),
    self.request_id and (" [request " .. self.request_id .. "]") or "")
end
M.Result = Result

local NAME_RULE = "1 to 64 letters, digits, '_' or '-', not starting with a digit or '-'"
local ID_RULE = "1 to 128 letters, digits, '_' or '-', starting with a letter or '_'"
local QUALIFIER_RULE = "a version number, LATEST, or an alias of 1 to 128 letters, digits, '_' or '-'"

local valid_names, nvalid = {}, 0 -- names that passed, so a hot loop checks each once

function M.check_function_name(fn, name)
  if valid_names[name] then return end
  if type(name) ~= "string" then
    Error.invalid(fn, "function name must be a string, got %s", type(name))
  end
  if #name < 1 or #name > 64 or not name:match("^[%a_][%w_-]*$") then
    Error.invalid(fn, "function name '%s' is invalid: use %s", name, NAME_RULE)
  end
  if nvalid == 4096 then valid_names, nvalid = {}, 0 end
  valid_names[name], nvalid = true, nvalid + 1
end

function M.check_qualifier(fn, q)
  if q == nil then return end
  if type(q) ~= "string" or #q < 1 or #q > 128 or not q:match("^[%w_-]+$") then
    Error.invalid(fn, "qualifier '%s' is invalid: use %s", tostring(q), QUALIFIER_RULE)
  end
end

function M.check_task_id(fn, id)
  if type(id) ~= "string" or #id > 128 or not id:match("^[%a_][%w_-]*$") then
    Error.invalid(fn, "task_id '%s' is invalid: use %s", tostring(id), ID_RULE)
  end
end

local INVOKE_OPTIONS = {qualifier = "string", async = "boolean", task_id = "string", log = "boolean",
                        headers = "table", timeout = "number", retry = "retry", idempotent = "boolean"}

-- client:invoke(name, payload, opts) -> fc.Result; see init.lua.
local NO_OPTIONS = {}
local FUNCTIONS = "/" .. VERSION .. "/functions/"

function Client:invoke(name, payload, opts)
  M.check_function_name("invoke", name)
  opts = opts or NO_OPTIONS
  if type(opts) ~= "table" then Error.invalid("invoke", "options must be a table, got %s", type(opts)) end
  for k, v in pairs(opts) do
    if not INVOKE_OPTIONS[k] then Error.invalid("invoke", "unknown option '%s'", tostring(k)) end
    if INVOKE_OPTIONS[k] == "retry" then
      retry.check("invoke", v)
    elseif type(v) ~= INVOKE_OPTIONS[k] then
      Error.invalid("invoke", "option '%s' must be a %s, got %s", k, INVOKE_OPTIONS[k], type(v))
    end
  end
  M.check_qualifier("invoke", opts.qualifier)
  if opts.task_id then
    if not opts.async then Error.invalid("invoke", "task_id needs async = true") end
    M.check_task_id("invoke", opts.task_id)
  end
  if opts.timeout then M.check_timeout("invoke", "timeout", opts.timeout) end
  local body
  if type(payload) == "table" then
    local ok, s = pcall(json.encode, payload)
    if not ok then Error.invalid("invoke", "payload table cannot be encoded as JSON: %s", s) end
    body = s
  elseif type(payload) == "string" then
    body = payload
  elseif payload ~= nil then
    Error.invalid("invoke", "payload must be a string, a table or nil, got %s", type(payload))
  end
  local limit = opts.async and MAX_ASYNC or MAX_SYNC
  if body and #body > limit then
    Error.invalid("invoke", "payload is %d bytes, over the %s limit of %d bytes",
      #body, opts.async and "async" or "sync", limit)
  end
  -- all four in the constructor, so that the table is made at its size
  local headers = {["x-fc-invocation-type"] = "Sync", ["x-fc-log-type"] = "None",
    ["x-acs-action"] = "InvokeFunction", ["content-type"] = body and "application/octet-stream" or nil}
  if opts.headers then
    for k, v in pairs(opts.headers) do
      if type(k) ~= "string" or not k:lower():match("^x%-fc%-[%w-]+$") then
        Error.invalid("invoke", "extra header '%s' must be named x-fc-*", tostring(k))
      end
      check_header("invoke", k, v)
      headers[k:lower()] = v
    end
  end
  headers["x-fc-invocation-type"] = opts.async and "Async" or "Sync"
  headers["x-fc-log-type"] = opts.log and "Tail" or "None"
  if opts.task_id then headers["x-fc-async-task-id"] = opts.task_id end

  -- An async invocation with a task id is safe to repeat: FC accepts the id
  -- once, and a 409 on a later attempt means an earlier one was accepted.
  local keyed = opts.task_id ~= nil
  local t0 = sched.now()
  local resp = self:send{method = "POST", path = FUNCTIONS .. name .. "/invocations",
    query = opts.qualifier and {qualifier = opts.qualifier} or nil, headers = headers,
    body = body or "", content_type = body and "application/octet-stream" or nil,
    action = "InvokeFunction", timeout = opts.timeout, retry = opts.retry,
    idempotent = opts.idempotent or keyed,
    expect = opts.async and 202 or 200,
    on_conflict = keyed and function(err)
      if err.code ~= "AsyncTaskAlreadyExists" then return nil end
      return {status = 202, body = "", seconds = 0, headers = {["x-fc-async-task-id"] = opts.task_id,
              ["x-fc-request-id"] = err.request_id}}
    end or nil}
  local h = resp.headers
  local r = setmetatable({status = resp.status, body = resp.body, headers = h,
    request_id = h["x-fc-request-id"], duration = sched.now() - t0,
    task_id = h["x-fc-async-task-id"], error_type = h["x-fc-error-type"],
    qualifier = h["x-fc-invocation-service-version"], dry_run = resp.dry_run,
    attempts = resp.attempts}, Result)
  r.ok = r.error_type == nil
  if h["x-fc-log-result"] then
    r.log = core.unbase64(h["x-fc-log-result"]) -- nil if FC sent something else
  end
  if r.error_type then
    local v = json.decode(r.body)
    r.error = v == nil and r.body or v
  end
  return r
end

-- Async tasks, listings and chains have their own modules.
function Client:invoke_async(...) return require("fc.async").invoke(self, ...) end
function Client:async_task(...) return require("fc.async").handle(self, ...) end
function Client:async_tasks(...) return require("fc.async").tasks(self, ...) end
function Client:functions(...) return require("fc.async").functions(self, ...) end
function Client:chain(...) return require("fc.chain").run(self, ...) end

M.Client = Client
return M
