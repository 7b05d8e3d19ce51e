-- Where credentials come from, in the official libraries' order
-- (FC-PROTOCOL.md §8.5), after fcrun's explicit options:
--   1. explicit options (access_key_id, access_key_secret, security_token)
--   2. ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN
--   3. OIDC: ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and
--      ALIBABA_CLOUD_OIDC_TOKEN_FILE (all three), STS AssumeRoleWithOIDC
--   4. the aliyun CLI's ~/.aliyun/config.json (ALIBABA_CLOUD_CONFIG_FILE;
--      off with ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true): modes AK,
--      StsToken, RamRoleArn, ChainableRamRoleArn, EcsRamRole, OIDC,
--      CredentialsURI; profile from the profile option,
--      ALIBABA_CLOUD_PROFILE, or the file's "current"
--   5. ~/.alibabacloud/credentials (ALIBABA_CLOUD_CREDENTIALS_FILE), an INI
--      file: types access_key, ram_role_arn, ecs_ram_role; profile as
--      above, else "default"
--   6. the ECS RAM role of the instance, from its metadata service (off
--      with ALIBABA_CLOUD_ECS_METADATA_DISABLED=true)
--   7. ALIBABA_CLOUD_CREDENTIALS_URI
-- The first source that serves is kept. When none serves, the error lists
-- every source tried and why.
--
-- Credentials that expire are refreshed before they do: when less than
-- 180 s (or half their lifetime, if shorter) remain, the next caller starts
-- one refresh (a task, shared by every caller) and goes on with the current
-- credentials; only a caller without valid credentials waits for it. A
-- failed refresh keeps the current credentials until they expire, says so
-- once on stderr, and is tried again later.

local core = require "fc.core"
local json = require "fc.json"
local Error = require "fc.error"
local sched = require "fc.sched"
local sts = require "fc.sts"

local M = {}

local MARGIN = 180 -- seconds before expiry to refresh (the official libraries' figure)

local function nonempty(v)
  return type(v) == "string" and v ~= "" and v or nil
end

local function env(name) return nonempty(os.getenv(name)) end
local function env_true(name) return (os.getenv(name) or ""):lower() == "true" end

local function home(rel)
  local h = env("HOME")
  return h and (h .. "/" .. rel) or nil
end

-- ---- providers --------------------------------------------------------------

-- A provider has a name (for messages) and fetch() -> creds | nil, why.
-- Static ones carry their credentials from the start.
local Provider = {}
Provider.__index = Provider
Provider.__name = "fc.credentials.Provider"
function Provider:__tostring() return "fc.credentials.Provider(" .. self.name .. ")" end

local function provider(name, fetch, extra)
  local p = setmetatable({name = name, fetch = fetch}, Provider)
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

-- Credentials become header text: one line, no NUL, whatever source they came from.
local function check(what, v)
  if v ~= nil and (type(v) ~= "string" or v:find("[%c]")) then
    Error.invalid("client", "the %s holds a control character (CR, LF, NUL...); check where it came from", what)
  end
end

-- The secret of explicit options (fc.client, fc.configure), sealed in C
-- memory as soon as it is given: a core.Key without an id yet. nil for
-- none; a sealed secret is kept as it is.
function M.seal(secret)
  if secret == nil or type(secret) == "userdata" then return secret end
  check("access key secret", secret)
  return secret ~= "" and core.key("", secret) or nil
end

-- A key pair (secret a string, or sealed) and token as a core.Key: the only
-- place the secret lives from then on (see fc.core.key).
local function key(id, secret, token)
  check("access key id", id)
  check("security token", token)
  if type(secret) == "string" then check("access key secret", secret) end
  return core.key(id, secret, token)
end

-- Credentials: {access_key_id, key (a core.Key), source, region[, expires,
-- expiration, refresh_at]}; never the secret itself.
local function static(name, id, secret, token, region)
  return provider(name, nil, {creds = {access_key_id = id, key = key(id, secret, token),
    source = name, region = region}})
end

local function warn(fmt, ...)
  require("fc.progress").say(string.format(fmt, ...))
end

-- Runs fn as one task shared by every caller until it ends; returns the
-- task. fn's errors come back as values: nil, why.
local function shared(self, fn)
  if self.pending then return self.pending end
  local t = sched.spawn(function()
    local ok, a, b = pcall(fn)
    self.pending = nil
    if ok then return a, b end
    return nil, a
  end)
  self.pending = t
  return t
end

local function install(self, c)
  local now = os.time()
  c.key = key(c.access_key_id, c.access_key_secret, c.security_token)
  c.access_key_secret, c.security_token = nil, nil
  c.source, c.region = self.name, self.region
  if c.expires then
    local margin = math.min(MARGIN, (c.expires - now) / 2)
    c.refresh_at = c.expires - margin
  end
  self.creds, self.failing, self.retry_at = c, nil, nil
end

-- Starts one fetch (a task shared by every caller until it ends) that
-- installs what it gets; returns the task, whose results are creds | nil, why.
local function start_refresh(self)
  return shared(self, function()
    local c, why = self.fetch()
    if c then
      install(self, c)
      return c
    end
    why = tostring(why)
    local cur, now = self.creds, os.time()
    if cur and cur.expires and now < cur.expires then
      self.retry_at = now + math.min(10, math.max(1, (cur.expires - now) / 4))
      if not self.failing then
        warn("refreshing the credentials from %s failed (%s); the current ones serve until %s",
             self.name, why, cur.expiration or "they expire")
      end
    end
    self.failing = why
    return nil, why
  end)
end

-- The current credentials: at once when fresh (a time comparison); when
-- expiring soon, after starting a refresh in the background; when expired
-- or missing, after a refresh. Raises an fc.Error when there are none.
function Provider:get()
  local c = self.creds
  if c and not c.expires then return c end
  local now = os.time()
  if c and now < c.refresh_at then return c end
  if c and now < c.expires then
    if now >= (self.retry_at or 0) then start_refresh(self) end
    return c
  end
  local got, why = sched.wait(start_refresh(self))
  if got then return got end
  if c then
    error(Error.new{kind = "config", message = string.format(
      "the credentials from %s expired at %s and refreshing them failed: %s",
      self.name, c.expiration, tostring(why))}, 0)
  end
  error(Error.new{kind = "config", message = string.format("no credentials from %s: %s",
    self.name, tostring(why))}, 0)
end

-- Role session name and duration, as the official libraries choose them.
local function session_name(v)
  return nonempty(v) or env("ALIBABA_CLOUD_ROLE_SESSION_NAME") or ("fcrun-" .. os.time())
end

local function duration(where, v)
  local d = tonumber(v) or 3600
  if d < 900 then
    return nil, string.format("%s: the session duration is %s s; STS needs at least 900", where, tostring(v))
  end
  return math.floor(d)
end

-- AssumeRole with the credentials of source (a provider).
local function ram_role_arn(name, source, r)
  return provider(name, function()
    local ok, c = pcall(source.get, source)
    if not ok then return nil, "the source credentials: " .. tostring(c) end
    return sts.assume_role(r, c)
  end)
end

local function oidc(name, r)
  return provider(name, function() return sts.assume_role_with_oidc(r) end)
end

local function ecs_role(name, role)
  return provider(name, function()
    return sts.ecs_role{role_name = role, imdsv1_disabled = env_true("ALIBABA_CLOUD_IMDSV1_DISABLED")}
  end)
end

local function uri(name, url)
  return provider(name, function() return sts.uri(url) end)
end

-- ---- profile files ----------------------------------------------------------

-- The text of a profile file, or nil with the reason added to tried.
local function read_file(path, default_name, tried)
  local f = path and io.open(path, "rb")
  if not f then
    tried[#tried + 1] = (path or default_name) .. ": no such file"
    return nil
  end
  local s = f:read("a")
  f:close()
  return s
end

-- The key pair of a profile entry, or nil, why.
local function key_pair(where, p)
  local id, secret = nonempty(p.access_key_id), nonempty(p.access_key_secret)
  if not (id and secret) then return nil, where .. " has no access_key_id/access_key_secret" end
  return id, secret
end

local CLI_MODES = "AK, StsToken, RamRoleArn, ChainableRamRoleArn, EcsRamRole, OIDC or CredentialsURI"

-- The provider of one CLI profile (by name), or nil, why. seen guards
-- ChainableRamRoleArn loops.
local function cli_provider(path, doc, name, seen)
  local p
  for _, e in ipairs(type(doc.profiles) == "table" and doc.profiles or {}) do
    if type(e) == "table" and e.name == name then p = e break end
  end
  if not p then return nil, string.format("%s: no profile '%s'", path, name) end
  local where = string.format("%s: profile '%s'", path, name)
  local mode = nonempty(p.mode) or "AK"
  local m = mode:lower()
  local region = nonempty(p.region_id)
  local sts_opts = {sts_region = p.sts_region, sts_endpoint = p.sts_endpoint, enable_vpc = p.enable_vpc}
  local function role(source)
    local arn = nonempty(p.ram_role_arn)
    if not arn then return nil, where .. " has no ram_role_arn" end
    local d, bad = duration(where, p.expired_seconds)
    if not d then return nil, bad end
    local r = {role_arn = arn, role_session_name = session_name(p.ram_session_name), duration = d,
               policy = p.policy, external_id = p.external_id}
    for k, v in pairs(sts_opts) do r[k] = v end
    local pr = ram_role_arn(where .. " (" .. mode .. ")", source, r)
    pr.region = region
    return pr
  end
  if m == "ak" or m == "ststoken" then
    local id, secret = key_pair(where, p)
    if not id then return nil, secret end
    return static(where, id, secret, m == "ststoken" and nonempty(p.sts_token) or nil, region)
  elseif m == "ramrolearn" then
    local id, secret = key_pair(where, p)
    if not id then return nil, secret end
    return role(static(where, id, secret))
  elseif m == "chainablerolearn" or m == "chainableramrolearn" then
    local src = nonempty(p.source_profile)
    if not src then return nil, where .. " has no source_profile" end
    if seen[src] then return nil, string.format("%s: source_profile '%s' leads back to itself", where, src) end
    seen[name] = true
    local sp, why = cli_provider(path, doc, src, seen)
    if not sp then return nil, why end
    return role(sp)
  elseif m == "ecsramrole" then
    local pr = ecs_role(where .. " (EcsRamRole)", nonempty(p.ram_role_name) or env("ALIBABA_CLOUD_ECS_METADATA"))
    pr.region = region
    return pr
  elseif m == "oidc" then
    local arn, parn, file = nonempty(p.ram_role_arn), nonempty(p.oidc_provider_arn), nonempty(p.oidc_token_file)
    if not (arn and parn and file) then
      return nil, where .. " needs ram_role_arn, oidc_provider_arn and oidc_token_file"
    end
    local d, bad = duration(where, p.expired_seconds)
    if not d then return nil, bad end
    local r = {role_arn = arn, oidc_provider_arn = parn, oidc_token_file = file, duration = d,
               role_session_name = session_name(p.ram_session_name), policy = p.policy}
    for k, v in pairs(sts_opts) do r[k] = v end
    local pr = oidc(where .. " (OIDC)", r)
    pr.region = region
    return pr
  elseif m == "credentialsuri" then
    local u = nonempty(p.credentials_uri)
    if not u then return nil, where .. " has no credentials_uri" end
    local pr = uri(where .. " (CredentialsURI)", u)
    pr.region = region
    return pr
  end
  return nil, string.format("%s has mode %s, which fcrun does not support (use %s)", where, mode, CLI_MODES)
end

local function cli_profile(path, profile, tried)
  local text = read_file(path, "~/.aliyun/config.json", tried)
  if not text then return nil end
  local doc = json.decode(text)
  if type(doc) ~= "table" then
    tried[#tried + 1] = path .. ": not valid JSON"
    return nil
  end
  local p, why = cli_provider(path, doc, profile or nonempty(doc.current) or "default", {})
  if not p then tried[#tried + 1] = why end
  return p
end

-- A minimal INI reader: [section] and key = value lines, ';'/'#' comments.
local function parse_ini(text)
  local sections, cur = {}, nil
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\r$", ""):match("^%s*(.-)%s*$")
    local sec = line:match("^%[%s*(.-)%s*%]$")
    if sec then
      cur = sections[sec] or {}
      sections[sec] = cur
    elseif cur and line ~= "" and not line:match("^[;#]") then
      local k, v = line:match("^([^=]-)%s*=%s*(.*)$")
      if k then cur[k] = v:gsub("^([\"'])(.*)%1$", "%2") end
    end
  end
  return sections
end

local function ini_provider(path, name, s)
  local where = string.format("%s: profile '%s'", path, name)
  local kind = nonempty(s.type) or "(none)"
  local k = kind:lower()
  if k == "access_key" then
    local id, secret = key_pair(where, s)
    if not id then return nil, secret end
    return static(where, id, secret)
  elseif k == "ram_role_arn" then
    local id, secret = key_pair(where, s)
    if not id then return nil, secret end
    local arn = nonempty(s.role_arn)
    if not arn then return nil, where .. " has no role_arn" end
    local d, bad = duration(where, s.duration_seconds)
    if not d then return nil, bad end
    return ram_role_arn(where .. " (ram_role_arn)", static(where, id, secret), {role_arn = arn,
      role_session_name = session_name(s.role_session_name), duration = d, policy = s.policy,
      external_id = s.external_id, sts_region = s.sts_region, sts_endpoint = s.sts_endpoint})
  elseif k == "ecs_ram_role" then
    return ecs_role(where .. " (ecs_ram_role)", nonempty(s.role_name) or env("ALIBABA_CLOUD_ECS_METADATA"))
  end
  return nil, string.format("%s has type %s, which fcrun does not support (use access_key, " ..
    "ram_role_arn or ecs_ram_role)", where, kind)
end

local function ini_profile(path, profile, tried)
  local text = read_file(path, "~/.alibabacloud/credentials", tried)
  if not text then return nil end
  local name = profile or "default"
  local s = parse_ini(text)[name]
  if not s then
    tried[#tried + 1] = string.format("%s: no profile '%s'", path, name)
    return nil
  end
  local p, why = ini_provider(path, name, s)
  if not p then tried[#tried + 1] = why end
  return p
end

-- ---- the chain --------------------------------------------------------------

-- The candidates in order, each a function(tried) -> provider | nil.
local function candidates(profile)
  return {
    function(tried)
      local id, secret = env("ALIBABA_CLOUD_ACCESS_KEY_ID"), env("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
      if id and secret then
        return static("environment", id, secret, env("ALIBABA_CLOUD_SECURITY_TOKEN"))
      elseif id or secret then
        tried[#tried + 1] = "environment: ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET must both be set"
      else
        tried[#tried + 1] = "environment: ALIBABA_CLOUD_ACCESS_KEY_ID is not set"
      end
    end,
    function(tried)
      local arn, parn = env("ALIBABA_CLOUD_ROLE_ARN"), env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN")
      local file = env("ALIBABA_CLOUD_OIDC_TOKEN_FILE")
      if arn and parn and file then
        return oidc("OIDC (ALIBABA_CLOUD_OIDC_TOKEN_FILE)", {role_arn = arn, oidc_provider_arn = parn,
          oidc_token_file = file, role_session_name = session_name(), duration = 3600})
      elseif arn or parn or file then
        tried[#tried + 1] = "OIDC: ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and " ..
          "ALIBABA_CLOUD_OIDC_TOKEN_FILE must all be set"
      else
        tried[#tried + 1] = "OIDC: ALIBABA_CLOUD_OIDC_TOKEN_FILE is not set"
      end
    end,
    function(tried)
      if env_true("ALIBABA_CLOUD_CLI_PROFILE_DISABLED") then
        tried[#tried + 1] = "aliyun CLI profile: ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true"
        return nil
      end
      return cli_profile(env("ALIBABA_CLOUD_CONFIG_FILE") or home(".aliyun/config.json"), profile, tried)
    end,
    function(tried)
      return ini_profile(env("ALIBABA_CLOUD_CREDENTIALS_FILE") or home(".alibabacloud/credentials"),
                         profile, tried)
    end,
    function(tried)
      if env_true("ALIBABA_CLOUD_ECS_METADATA_DISABLED") then
        tried[#tried + 1] = "ECS RAM role: ALIBABA_CLOUD_ECS_METADATA_DISABLED=true"
        return nil
      end
      return ecs_role("ECS RAM role", env("ALIBABA_CLOUD_ECS_METADATA"))
    end,
    function(tried)
      local u = env("ALIBABA_CLOUD_CREDENTIALS_URI")
      if u then return uri("credentials URI " .. sts.public_url(u), u) end
      tried[#tried + 1] = "credentials URI: ALIBABA_CLOUD_CREDENTIALS_URI is not set"
    end,
  }
end

local Chain = {}
Chain.__index = Chain
Chain.__name = "fc.credentials.Chain"

-- Tries each candidate in turn; keeps the first that serves.
function Chain:run()
  local tried = self.tried0 and {table.unpack(self.tried0)} or {}
  for _, candidate in ipairs(candidates(self.profile)) do
    local p = candidate(tried)
    if p then
      local ok, c = pcall(p.get, p)
      if ok then
        self.chosen = p
        return c
      end
      tried[#tried + 1] = tostring(c):gsub("^no credentials from ", "")
    end
  end
  self.failed = true
  return nil, Error.new{kind = "config", message = "no credentials found; tried:\n  " ..
    table.concat(tried, "\n  ") ..
    "\nset ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or configure a profile with `aliyun configure`"}
end

function Chain:get()
  if self.chosen then return self.chosen:get() end
  local c, err = sched.wait(shared(self, function() return self:run() end))
  if not c then error(err, 0) end
  return c
end

local chains = {} -- profile name -> the chain that served, shared by clients

-- resolve(opts) -> a source whose get() returns the current
-- credentials (see static above)
-- (raising an fc.Error of kind "config" naming every source tried).
-- Nothing is fetched until get() is called.
function M.resolve(opts)
  local id, secret = nonempty(opts.access_key_id), M.seal(opts.access_key_secret)
  if id and secret then
    return static("options", id, secret, nonempty(opts.security_token))
  end
  local first = (id or secret) and "options: access_key_id and access_key_secret must be given together"
    or "options: none given"
  local profile = nonempty(opts.profile) or env("ALIBABA_CLOUD_PROFILE")
  local key = (profile or "") .. (first == "options: none given" and "" or "\0partial")
  local c = chains[key]
  if not c or c.failed then
    c = setmetatable({profile = profile, tried0 = {first}}, Chain)
    chains[key] = c
  end
  return c
end

M.parse_ini = parse_ini
return M
