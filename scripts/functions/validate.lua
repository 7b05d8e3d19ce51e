-- validate: accepts an order only when it has a positive quantity;
-- anything else is an unhandled function error, as a real handler's
-- uncaught exception would be.
local json = require("fc").json -- cjson, with integers kept integers

return function(event, ctx)
  local order = json.decode(event)
  if type(order) ~= "table" then error("event is not a JSON object") end
  print("validating order " .. tostring(order.id))
  if type(order.quantity) ~= "number" or order.quantity <= 0 then
    error(string.format("order %s: quantity must be a positive number", tostring(order.id)))
  end
  order.valid = true
  return order
end
