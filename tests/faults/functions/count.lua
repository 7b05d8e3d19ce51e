-- count: records each run (its event, an invocation id) in $FC_SOAK_RUNS,
-- one line per run, and echoes the event: the function's own count of runs.
return {
  concurrency = 1000,
  handler = function(event)
    local f = assert(io.open(assert(os.getenv("FC_SOAK_RUNS"), "FC_SOAK_RUNS unset"), "a"))
    f:write(event, "\n")
    f:close()
    return event
  end,
}
