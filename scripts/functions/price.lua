-- price: adds a total to a validated order (unit price 2.50).
local json = require("fc").json -- cjson, with integers kept integers

return function(event)
  local order = json.decode(event)
  order.total = order.quantity * 2.5
  return order
end
