-- report: a slow job, meant to be invoked asynchronously. The event says
-- how many seconds it works; it logs its progress.
local fc = require "fc"

return {
  timeout = 30,
  handler = function(event, ctx)
    local seconds = tonumber(event) or 1
    for i = 1, 4 do
      fc.sleep(seconds / 4)
      ctx.log(string.format("report %d%% done", i * 25))
    end
    return {rows = 1234, seconds = seconds}
  end,
}
