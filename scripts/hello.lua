-- hello.lua: invoke a function, read its tail log, handle a function error.
--   fcrun --local scripts/functions scripts/hello.lua [NAME]
local fc = require "fc"

local who = arg[1] or "Ada"

-- A sync invocation of the "prod" alias, asking for the tail log.
local r = fc.invoke("hello", {name = who}, {qualifier = "prod", log = true})
print("status:  " .. r.status)
print("message: " .. r:json().message)
print("request: " .. r.request_id)
print("tail log:")
io.write(r.log)

-- A function error is a result, not an exception: r.ok is false and
-- r.error holds what the function raised.
local bad = fc.invoke("validate", {id = 7, quantity = 0})
if not bad.ok then
  print(string.format("validate failed (%s): %s", bad.error_type, bad.error.errorMessage))
end

-- Service errors are exceptions (fc.Error), caught with pcall.
local ok, err = pcall(fc.invoke, "no-such-function")
if not ok then print("as expected: " .. tostring(err)) end
