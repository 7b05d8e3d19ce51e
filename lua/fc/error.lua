-- fc.Error: what a failed call raises. A table with kind, status, code,
-- message, request_id and retryable, whose tostring reads like
--   FunctionNotFound (HTTP 404): function 'x' does not exist. [request 1-...]
-- kinds: "service" (FC answered >= 400), "transport" (no usable answer:
-- code is connect, dns, timeout, tls, toobig, nomem or transport),
-- "invalid" (bad arguments, nothing was sent), "config" (no credentials,
-- no endpoint).

local Error = {}
Error.__index = Error
Error.__name = "fc.Error"

-- HTTP statuses and FC codes worth another try (FC-PROTOCOL.md §6.3).
local RETRY_STATUS = {[429] = true, [500] = true, [502] = true, [503] = true, [504] = true}
local RETRY_CODE = {
  ResourceExhausted = true, ResourceThrottled = true, InternalServerError = true,
  Throttling = true, ["Throttling.User"] = true, ["Throttling.Api"] = true,
}
local RETRY_TRANSPORT = {connect = true, dns = true, timeout = true}

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
  if t.retryable == nil then
    t.retryable = (t.kind == "service" and (RETRY_STATUS[t.status] or RETRY_CODE[t.code]))
      or (t.kind == "transport" and RETRY_TRANSPORT[t.code]) or false
  end
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
