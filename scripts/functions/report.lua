-- report: a slow job, meant to be invoked asynchronously. The event says
-- how many seconds it works; it logs its progress.
--
-- The pattern for waiting inside a function: fc.sleep (or ctx.sleep). Both
-- end the call at the function's timeout and on StopAsyncTask, like any Lua
-- code; never busy-wait on os.time, and do not wrap the waits in a pcall
-- that retries (the stop raises again until the call has unwound anyway).
-- Check ctx.deadline before starting a step that cannot finish in time.
local fc = require "fc"

return {
  timeout = 30,
  handler = function(event, ctx)
    local seconds = tonumber(event) or 1
    for i = 1, 4 do
      if os.time() + seconds / 4 > ctx.deadline then
        error(string.format("report: not enough time left for step %d of 4", i))
      end
      fc.sleep(seconds / 4)
      ctx.log(string.format("report %d%% done", i * 25))
    end
    return {rows = 1234, seconds = seconds}
  end,
}
