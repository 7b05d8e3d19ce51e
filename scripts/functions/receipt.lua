-- receipt: renders a priced order as one line of text.
local json = require("fc").json -- cjson, with integers kept integers

return function(event)
  local order = json.decode(event)
  return string.format("order %s: %d x 2.50 = %.2f", order.id, order.quantity, order.total)
end
