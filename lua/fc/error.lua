-- fc.Error: what a failed call raises. A table with kind, status, code,
-- message, request_id, sent, attempts and retryable, whose tostring reads like
--   FunctionNotFound (HTTP 404): function 'x' does not exist. [request 1-...]
-- kinds: "service" (FC answered >= 400), "transport" (no usable answer:
-- code is connect, dns, timeout, tls, toobig, nomem or transport),
-- "invalid" (bad arguments, nothing was sent), "config" (no credentials,
-- no endpoint), "timeout" (a deadline the script set passed: fc.wait),
-- "cancelled" (an fc.map item never started: fail_fast).

local Error = {}
Error.__index = Error
Error.__name = "fc.Error"

-- Throttling answers: FC refused the request before running anything.
local THROTTLE_CODE = {
  ResourceExhausted = true, ResourceThrottled = true,
  Throttling = true, ["Throttling.User"] = true, ["Throttling.Api"] = true,
}

function Error.throttled(e)
  return e.kind == "service" and (e.status == 429 or e.status == 503 or THROTTLE_CODE[e.code] == true)
end

-- Whether sending the request again cannot run the function twice (and may
-- help). idempotent: the call is safe to repeat even if it reached FC.
function Error.safe_to_retry(e, idempotent)
  if e.kind == "transport" then
    if e.code == "toobig" or e.code == "nomem" then return false end -- the same again
    return e.sent == false or idempotent == true
  end
  if e.kind == "service" then
    if Error.throttled(e) then return true end
    local s = e.status
    return (s == 500 or s == 502 or s == 504) and idempotent == true
  end
  return false
end

function Error.__tostring(e)
  local s
  if e.kind == "service" then
    s = string.format("%s (HTTP %d): %s", e.code or "Error", e.status or 0, e.message or "")
  elseif e.kind == "transport" then
    s = string.format("%s error: %s", e.code or "transport", e.message or "")
  else
    s = e.message or "error"
  end
  if e.request_id then s = s .. " [request " .. e.request_id .. "]" end
  if e.where then s = s .. " (" .. e.where .. ")" end
  return s
end

function Error.new(t)
  if t.retryable == nil then t.retryable = Error.safe_to_retry(t, false) end
  return setmetatable(t, Error)
end

function Error.is(v)
  return getmetatable(v) == Error
end

-- Raises an "invalid" error naming the function, the argument and the rule.
function Error.invalid(fn, fmt, ...)
  error(Error.new{kind = "invalid", message = "fc." .. fn .. ": " .. string.format(fmt, ...)}, 0)
end

return Error
