-- The network half of the credential providers: STS (API 2015-04-01, RPC
-- style) AssumeRole and AssumeRoleWithOIDC, the ECS metadata service, and
-- a credentials URI. Every call goes through the shared connection pool and
-- the scheduler, so a fetch inside a task lets the other tasks run.
-- FC-PROTOCOL.md §8; the official libraries (credentials-go providers/) send
-- the same requests.
--
-- Each fetch returns {access_key_id, access_key_secret, security_token,
-- expires (seconds since the epoch), expiration (the text)} or nil, why.
-- No message ever holds a secret, a token, a request body or a URL's query.

local core = require "fc.core"
local json = require "fc.json"
local sched = require "fc.sched"

local M = {}

M.USER_AGENT = "fcrun/0.1 (lua 5.4) credentials"

local function nonempty(v)
  return type(v) == "string" and v ~= "" and v or nil
end

-- "2006-01-02T15:04:05Z" -> seconds since the epoch (UTC), or nil.
function M.parse_time(s)
  local y, mo, d, h, mi, sec = tostring(s):match("^(%d%d%d%d)-(%d%d)-(%d%d)T(%d%d):(%d%d):(%d%d)Z$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  -- days from 1970-01-01 to y-mo-d in the proleptic Gregorian calendar
  if mo <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * (mo + (mo > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

-- A URL without its query and fragment, for messages: a credentials URI
-- may carry a token in its query.
function M.public_url(url)
  return (url:gsub("[?#].*$", ""))
end

-- One HTTP exchange: {status, headers, body} or nil, why.
function M.http(t)
  local lines = {"User-Agent: " .. M.USER_AGENT}
  for _, h in ipairs(t.headers or {}) do lines[#lines + 1] = h end
  local ok, x = pcall(sched.pool().start, sched.pool(), {method = t.method or "GET", url = t.url,
    headers = lines, body = t.body, timeout = t.timeout or 10,
    connect_timeout = t.connect_timeout or 5, max_body = 1024 * 1024})
  if not ok then return nil, tostring(x) end
  sched.await(x)
  local resp, kind, msg = x:response()
  if not resp then return nil, string.format("%s error: %s", kind, msg) end
  return resp
end

-- The credentials in a decoded answer (the fields are the same in STS's
-- "Credentials", the metadata service's answer and a credentials URI's).
local function session(doc, what)
  if type(doc) ~= "table" then return nil, what .. " is not a JSON object" end
  local id, secret = nonempty(doc.AccessKeyId), nonempty(doc.AccessKeySecret)
  local token, exp = nonempty(doc.SecurityToken), nonempty(doc.Expiration)
  if not (id and secret and token and exp) then
    return nil, what .. " lacks AccessKeyId, AccessKeySecret, SecurityToken or Expiration"
  end
  local expires = M.parse_time(exp)
  if not expires then
    return nil, string.format("%s has Expiration '%s', not of the form 2006-01-02T15:04:05Z", what, exp)
  end
  return {access_key_id = id, access_key_secret = secret, security_token = token,
          expires = expires, expiration = exp}
end

local function decode(body)
  return (json.decode(body))
end

-- STS's answer to a failed call, as one line: "Code: Message [request id]".
local function sts_error(resp)
  local doc = decode(resp.body)
  if type(doc) == "table" and (doc.Code or doc.Message) then
    return string.format("%s (HTTP %d): %s%s", tostring(doc.Code or "error"), resp.status,
      tostring(doc.Message or ""), doc.RequestId and (" [request " .. tostring(doc.RequestId) .. "]") or "")
  end
  return string.format("HTTP %d", resp.status)
end

-- The STS endpoint as a base URL: ALIBABA_CLOUD_STS_ENDPOINT, the
-- profile's sts_endpoint, sts[-vpc].<region>.aliyuncs.com for the profile's
-- sts_region or ALIBABA_CLOUD_STS_REGION, else sts.aliyuncs.com. A value
-- without a scheme means https.
function M.endpoint(p)
  p = p or {}
  local e = nonempty(os.getenv("ALIBABA_CLOUD_STS_ENDPOINT")) or nonempty(p.sts_endpoint)
  if not e then
    local vpc = p.enable_vpc == true or
      (os.getenv("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED") or ""):lower() == "true"
    local region = nonempty(p.sts_region) or nonempty(os.getenv("ALIBABA_CLOUD_STS_REGION"))
    e = region and string.format("%s.%s.aliyuncs.com", vpc and "sts-vpc" or "sts", region)
      or "sts.aliyuncs.com"
  end
  if not e:match("^%a[%w+.-]*://") then e = "https://" .. e end
  return (e:gsub("/+$", ""))
end

local function pct(s) return (core.urlencode(tostring(s))) end

-- name=value pairs, sorted by name, RFC 3986-encoded: the canonical query
-- of the RPC signature, which is also a valid query string and form body.
local function canonical(params)
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for i, k in ipairs(keys) do out[i] = pct(k) .. "=" .. pct(params[k]) end
  return table.concat(out, "&")
end

-- The RPC signature (SignatureVersion 1.0) of a POST to "/" with these
-- query and form parameters: base64(HMAC-SHA1(secret .. "&",
-- "POST&%2F&" .. pct(canonical(all parameters)))), by key (a core.Key).
function M.rpc_signature(key, params)
  local sts = "POST&%2F&" .. pct(canonical(params))
  return key:rpc_signature(sts), sts
end

local function timestamp() return os.date("!%Y-%m-%dT%H:%M:%SZ") end

-- One STS call: common query parameters, a form body, the answer's
-- Credentials. creds (optional) signs the call.
local function sts_call(base, action, form, creds)
  local query = {Action = action, Format = "JSON", Version = "2015-04-01", Timestamp = timestamp()}
  if creds then
    query.SignatureMethod = "HMAC-SHA1"
    query.SignatureVersion = "1.0"
    query.SignatureNonce = core.hex(core.random(16))
    query.AccessKeyId = creds.access_key_id
    query.SecurityToken = creds.key:token()
    local all = {}
    for k, v in pairs(query) do all[k] = v end
    for k, v in pairs(form) do all[k] = v end
    query.Signature = M.rpc_signature(creds.key, all)
  end
  local resp, why = M.http{method = "POST", url = base .. "/?" .. canonical(query),
    body = canonical(form),
    headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"}}
  local where = string.format("STS %s at %s", action, base)
  if not resp then return nil, where .. ": " .. why end
  if resp.status ~= 200 then return nil, where .. ": " .. sts_error(resp) end
  local doc = decode(resp.body)
  local c, bad = session(type(doc) == "table" and doc.Credentials, "the answer's Credentials")
  if not c then return nil, where .. ": " .. bad end
  return c
end

-- r: role_arn, role_session_name, duration (seconds), policy, external_id,
-- and the STS settings of M.endpoint; creds: the key pair that signs.
function M.assume_role(r, creds)
  return sts_call(M.endpoint(r), "AssumeRole", {RoleArn = r.role_arn,
    RoleSessionName = r.role_session_name, DurationSeconds = tostring(r.duration),
    Policy = nonempty(r.policy), ExternalId = nonempty(r.external_id)}, creds)
end

-- r: role_arn, oidc_provider_arn, oidc_token_file (read on every call),
-- role_session_name, duration, policy.
function M.assume_role_with_oidc(r)
  local f, err = io.open(r.oidc_token_file, "rb")
  if not f then return nil, "OIDC token file: " .. tostring(err) end
  local token = f:read("a") or ""
  f:close()
  token = token:gsub("%s+$", "")
  if token == "" then return nil, "OIDC token file " .. r.oidc_token_file .. " is empty" end
  return sts_call(M.endpoint(r), "AssumeRoleWithOIDC", {RoleArn = r.role_arn,
    OIDCProviderArn = r.oidc_provider_arn, OIDCToken = token,
    RoleSessionName = r.role_session_name, DurationSeconds = tostring(r.duration),
    Policy = nonempty(r.policy)})
end

-- The ECS metadata service: FCRUN_ECS_METADATA_ENDPOINT, else
-- http://100.100.100.200.
function M.metadata_endpoint()
  local e = nonempty(os.getenv("FCRUN_ECS_METADATA_ENDPOINT")) or "http://100.100.100.200"
  if not e:match("^%a[%w+.-]*://") then e = "http://" .. e end
  return (e:gsub("/+$", ""))
end

-- r: role_name (nil: asked of the service), imdsv1_disabled. An IMDSv2
-- session token is asked for first; without one the requests go out as
-- IMDSv1, unless that is disabled.
function M.ecs_role(r)
  local base = M.metadata_endpoint()
  local where = "ECS metadata service at " .. base
  local opts = {timeout = 1, connect_timeout = 1}
  local headers = {}
  local resp, why = M.http{method = "PUT", url = base .. "/latest/api/token", timeout = 1,
    connect_timeout = 1, headers = {"X-aliyun-ecs-metadata-token-ttl-seconds: 21600"}}
  if not resp then return nil, where .. ": " .. why end -- nobody there: no use asking again
  if resp.status == 200 and resp.body ~= "" then
    headers[1] = "X-aliyun-ecs-metadata-token: " .. resp.body
  elseif r.imdsv1_disabled then
    return nil, string.format("%s: no IMDSv2 session token (%s) and IMDSv1 is disabled",
      where, "HTTP " .. resp.status)
  end
  local role = nonempty(r.role_name)
  if not role then
    resp, why = M.http{url = base .. "/latest/meta-data/ram/security-credentials/",
      headers = headers, timeout = opts.timeout, connect_timeout = opts.connect_timeout}
    if not resp then return nil, where .. ": " .. why end
    if resp.status ~= 200 then
      return nil, string.format("%s: asking for the role name: HTTP %d", where, resp.status)
    end
    role = resp.body:match("^%s*(.-)%s*$")
    if role == "" then return nil, where .. ": the instance has no RAM role" end
  end
  resp, why = M.http{url = base .. "/latest/meta-data/ram/security-credentials/" .. pct(role),
    headers = headers, timeout = opts.timeout, connect_timeout = opts.connect_timeout}
  if not resp then return nil, where .. ": " .. why end
  if resp.status ~= 200 then
    return nil, string.format("%s: role '%s': HTTP %d", where, role, resp.status)
  end
  local doc = decode(resp.body)
  if type(doc) == "table" and doc.Code ~= "Success" then
    return nil, string.format("%s: role '%s': Code is '%s', not Success", where, role, tostring(doc.Code))
  end
  local c, bad = session(doc, "the answer")
  if not c then return nil, string.format("%s: role '%s': %s", where, role, bad) end
  return c
end

-- A credentials URI: GET it, read the JSON.
function M.uri(url)
  local where = "credentials URI " .. M.public_url(url)
  local resp, why = M.http{url = url, headers = {"Accept: application/json"}}
  if not resp then return nil, where .. ": " .. why end
  if resp.status ~= 200 then return nil, string.format("%s: HTTP %d", where, resp.status) end
  local c, bad = session(decode(resp.body), "the answer")
  if not c then return nil, where .. ": " .. bad end
  return c
end

return M
