-- hello: greets whoever the event names. Try:
--   fcrun --local scripts/functions -e 'print(require"fc".invoke("hello", {name="Ada"}).body)'
local json = require("fc").json -- cjson, with integers kept integers

return {
  timeout = 5,
  memory = 128,
  qualifiers = {"prod"},
  handler = function(event, ctx)
    local who = "world"
    if event ~= "" then who = json.decode(event).name or who end
    ctx.log("greeting " .. who .. " (qualifier " .. ctx.qualifier .. ")")
    return {message = "hello, " .. who, request_id = ctx.request_id}
  end,
}
