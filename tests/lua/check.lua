-- A table-driven test runner, in lua-cjson's tests/test.lua shape: each case
-- is {name, fn}; fn raises on failure. Prints "N passed, N failed" and
-- exits non-zero when something failed.
local M = {}

function M.eq(got, want, what)
  if got ~= want then
    error(string.format("%s:\n    got:  %q\n    want: %q", what or "value", tostring(got), tostring(want)), 2)
  end
end

-- Runs fn, which must raise; checks the message contains each pattern (plain).
function M.raises(fn, ...)
  local ok, err = pcall(fn)
  if ok then error("expected an error, got none", 2) end
  local msg = tostring(err)
  for _, want in ipairs{...} do
    if not msg:find(want, 1, true) then
      error(string.format("error %q does not contain %q", msg, want), 2)
    end
  end
  return err
end

function M.run(cases)
  local passed, failed = 0, 0
  for _, c in ipairs(cases) do
    local ok, err = xpcall(c[2], debug.traceback)
    if ok then
      passed = passed + 1
      print("ok   " .. c[1])
    else
      failed = failed + 1
      print("FAIL " .. c[1] .. "\n  " .. tostring(err):gsub("\n", "\n  "))
    end
  end
  print(string.format("%d passed, %d failed", passed, failed))
  os.exit(failed == 0 and 0 or 1)
end

return M
