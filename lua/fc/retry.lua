-- Retries, safe by design: the policy (how many attempts, how long between
-- them) and the wait before the next attempt. Which failures may be
-- retried at all is fc.Error's to say (Error.safe_to_retry).

local Error = require "fc.error"

local M = {}

M.DEFAULT = {attempts = 3, base = 0.1, cap = 10}

-- Checks a `retry` option: false, or a table {attempts, base, cap}.
function M.check(fn, v)
  if v == false then return end
  if type(v) ~= "table" then
    Error.invalid(fn, "option 'retry' must be false or a table {attempts = N, base = S, cap = S}, got %s",
      type(v))
  end
  for k, x in pairs(v) do
    if k ~= "attempts" and k ~= "base" and k ~= "cap" then
      Error.invalid(fn, "retry has no field '%s' (fields: attempts, base, cap)", tostring(k))
    end
    if type(x) ~= "number" or not (x >= 0) or x == math.huge then
      Error.invalid(fn, "retry.%s must be a finite number >= 0, got %s", k, tostring(x))
    end
  end
  if v.attempts and (math.type(v.attempts) ~= "integer" or v.attempts < 1) then
    Error.invalid(fn, "retry.attempts must be an integer >= 1 (1: no retry), got %s", tostring(v.attempts))
  end
end

-- The policy in force: the call's, else the client's, else the default.
function M.policy(call, client)
  local p = call
  if p == nil then p = client end
  if p == nil then return M.DEFAULT end
  if p == false then return nil end
  local d = M.DEFAULT
  return {attempts = p.attempts or d.attempts, base = p.base or d.base, cap = p.cap or d.cap}
end

-- What the server asked for, in seconds: Retry-After (delta-seconds), or
-- the TimeLeft (ms) of FC's rate-limit headers (FC-PROTOCOL.md §1.8).
function M.server_hint(headers)
  if not headers then return nil end
  local ra = headers["retry-after"]
  if ra and ra:match("^%s*%d+%s*$") then return tonumber(ra) end
  for _, h in ipairs{"x-ratelimit-user-api", "x-ratelimit-user"} do
    local ms = headers[h] and headers[h]:match("TimeLeft:%s*(%d+)")
    if ms then return tonumber(ms) / 1000 end
  end
  return nil
end

-- Seconds to wait before attempt `attempt + 1`, or nil for no retry:
-- full jitter (a uniform draw up to base * 2^(attempt-1), capped), but never
-- less than the server asked for; nil when the server asks for more than
-- the cap (the error then carries retry_after for the script to decide).
function M.delay(policy, attempt, err)
  if not policy or attempt >= policy.attempts then return nil end
  local d = math.random() * math.min(policy.cap, policy.base * 2 ^ (attempt - 1))
  local hint = err.retry_after
  if hint then
    if hint > policy.cap then return nil end
    if hint > d then d = hint end
  end
  return d
end

return M
