-- Where credentials come from, in order (FC-PROTOCOL.md §8):
--   1. explicit options (access_key_id, access_key_secret, security_token)
--   2. ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN
--   3. the aliyun CLI's ~/.aliyun/config.json (ALIBABA_CLOUD_CONFIG_FILE),
--      modes AK and StsToken; profile from the profile option,
--      ALIBABA_CLOUD_PROFILE, or the file's "current"
--   4. ~/.alibabacloud/credentials (ALIBABA_CLOUD_CREDENTIALS_FILE), an
--      INI file, type access_key; profile as above, else "default"
-- When none has a key pair, the error lists every source tried and why.

local json = require "fc.json"
local Error = require "fc.error"

local M = {}

local function home(rel)
  local h = os.getenv("HOME")
  return h and h ~= "" and (h .. "/" .. rel) or nil
end

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

local function nonempty(v)
  return type(v) == "string" and v ~= "" and v or nil
end

-- The key pair of one profile entry, or nil with the reason added to tried.
-- field names the entry's kind ("mode" in the CLI file, "type" in the INI
-- file); supported lists the lower-cased kinds that hold a static key pair.
local function key_pair(where, p, field, default, supported, hint, tried)
  local kind = nonempty(p[field]) or default
  if not supported[kind:lower()] then
    tried[#tried + 1] = string.format("%s has %s %s, which fcrun does not support (use %s)",
                                      where, field, kind, hint)
    return nil
  end
  local id, secret = nonempty(p.access_key_id), nonempty(p.access_key_secret)
  if not (id and secret) then
    tried[#tried + 1] = where .. " has no access_key_id/access_key_secret"
    return nil
  end
  return {access_key_id = id, access_key_secret = secret, source = where}, kind:lower()
end

local function cli_profile(path, profile, tried)
  local text = read_file(path, "~/.aliyun/config.json", tried)
  if not text then return nil end
  local ok, doc = pcall(json.decode, text)
  if not ok or type(doc) ~= "table" then
    tried[#tried + 1] = path .. ": not valid JSON"
    return nil
  end
  local name = profile or nonempty(doc.current) or "default"
  for _, p in ipairs(type(doc.profiles) == "table" and doc.profiles or {}) do
    if type(p) == "table" and p.name == name then
      local c, mode = key_pair(string.format("%s: profile '%s'", path, name), p, "mode", "AK",
                               {ak = true, ststoken = true}, "AK or StsToken", tried)
      if c then
        c.security_token = mode == "ststoken" and nonempty(p.sts_token) or nil
        c.region = nonempty(p.region_id)
      end
      return c
    end
  end
  tried[#tried + 1] = string.format("%s: no profile '%s'", path, name)
  return nil
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

local function ini_profile(path, profile, tried)
  local text = read_file(path, "~/.alibabacloud/credentials", tried)
  if not text then return nil end
  local name = profile or "default"
  local s = parse_ini(text)[name]
  if not s then
    tried[#tried + 1] = string.format("%s: no profile '%s'", path, name)
    return nil
  end
  return (key_pair(string.format("%s: profile '%s'", path, name), s, "type", "(none)",
                   {access_key = true}, "access_key", tried))
end

-- resolve(opts) -> {access_key_id, access_key_secret, security_token, source}
-- Raises an fc.Error of kind "config" naming every source that was tried.
function M.resolve(opts)
  local tried = {}
  local id, secret = nonempty(opts.access_key_id), nonempty(opts.access_key_secret)
  if id and secret then
    return {access_key_id = id, access_key_secret = secret,
            security_token = nonempty(opts.security_token), source = "options"}
  elseif id or secret then
    tried[#tried + 1] = "options: access_key_id and access_key_secret must be given together"
  else
    tried[#tried + 1] = "options: none given"
  end

  id = nonempty(os.getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"))
  secret = nonempty(os.getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"))
  if id and secret then
    return {access_key_id = id, access_key_secret = secret,
            security_token = nonempty(os.getenv("ALIBABA_CLOUD_SECURITY_TOKEN")),
            source = "environment"}
  elseif id or secret then
    tried[#tried + 1] = "environment: ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET must both be set"
  else
    tried[#tried + 1] = "environment: ALIBABA_CLOUD_ACCESS_KEY_ID is not set"
  end

  local profile = nonempty(opts.profile) or nonempty(os.getenv("ALIBABA_CLOUD_PROFILE"))
  local c = cli_profile(nonempty(os.getenv("ALIBABA_CLOUD_CONFIG_FILE")) or home(".aliyun/config.json"),
                        profile, tried)
  if c then return c end
  c = ini_profile(nonempty(os.getenv("ALIBABA_CLOUD_CREDENTIALS_FILE")) or home(".alibabacloud/credentials"),
                  profile, tried)
  if c then return c end

  error(Error.new{kind = "config", message = "no credentials found; tried:\n  " ..
    table.concat(tried, "\n  ") ..
    "\nset ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or configure a profile with `aliyun configure`"}, 0)
end

M.parse_ini = parse_ini
return M
