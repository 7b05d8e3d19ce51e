-- The parts of fc that need no server: validation before anything is sent,
-- fc.Error, results, the scheduler, client options.
local check = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local fc = require "fc"

-- A client whose every request would fail to connect: validation must
-- raise before that, with kind "invalid".
local c = fc.client{endpoint = "http://127.0.0.1:9", access_key_id = "id", access_key_secret = "s",
                    retry = false}

local function invalid(fn, ...)
  local err = check.raises(fn, ...)
  check.eq(fc.Error.is(err) and err.kind, "invalid", "kind")
end

check.run{
  {"function names follow FC's rule", function()
    invalid(function() c:invoke("1abc") end, "function name '1abc' is invalid", "letters, digits")
    invalid(function() c:invoke("-abc") end, "is invalid")
    invalid(function() c:invoke("a b") end, "is invalid")
    invalid(function() c:invoke(("a"):rep(65)) end, "is invalid")
    invalid(function() c:invoke("") end, "is invalid")
    invalid(function() c:invoke(nil) end, "function name must be a string")
  end},
  {"qualifier and task id rules", function()
    invalid(function() c:invoke("f", nil, {qualifier = "a b"}) end, "qualifier 'a b' is invalid")
    invalid(function() c:invoke("f", nil, {task_id = "t"}) end, "task_id needs async = true")
    invalid(function() c:invoke("f", nil, {async = true, task_id = "9t"}) end, "task_id '9t' is invalid")
    invalid(function() c:invoke("f", nil, {async = true, task_id = ("t"):rep(129)}) end, "is invalid")
  end},
  {"payload limits: 32 MB sync, 128 KB async", function()
    invalid(function() c:invoke("f", ("x"):rep(128 * 1024 + 1), {async = true}) end,
      "131073 bytes, over the async limit of 131072")
    invalid(function() c:invoke("f", ("x"):rep(32 * 1024 * 1024 + 1)) end, "over the sync limit")
    invalid(function() c:invoke("f", 42) end, "payload must be a string, a table or nil, got number")
    invalid(function() c:invoke("f", {f = function() end}) end, "cannot be encoded as JSON")
  end},
  {"headers: x-fc-* only, no CR or LF", function()
    invalid(function() c:invoke("f", nil, {headers = {["x-fc-trace-id"] = "a\nb"}}) end,
      "header 'x-fc-trace-id' holds a CR or LF")
    invalid(function() c:invoke("f", nil, {headers = {authorization = "x"}}) end, "must be named x-fc-*")
    invalid(function() c:invoke("f", nil, {bogus = true}) end, "unknown option 'bogus'")
    invalid(function() c:invoke("f", nil, {log = "yes"}) end, "option 'log' must be a boolean")
  end},
  {"client options are checked", function()
    invalid(function() fc.client{timeout = -1} end, "must be positive")
    invalid(function() fc.client{endpont = "x"} end, "unknown option 'endpont'")
    invalid(function() fc.client{endpoint = "ftp://x"}:invoke("f") end, "must use http or https")
    invalid(function() c:request{path = "x", action = "GetFunction"} end, "path must be a string starting with '/'")
    invalid(function() c:request{path = "/x"} end, "action must be the operation name")
  end},
  {"transport failures are fc.Error values", function()
    local err = check.raises(function() c:invoke("f") end, "connect error", "POST /2023-03-30/functions/f/invocations")
    check.eq(err.kind, "transport")
    check.eq(err.code, "connect")
    check.eq(err.sent, false, "sent")
    check.eq(err.attempts, 1, "attempts")
    check.eq(err.retryable, true, "retryable")
  end},
  {"fc.Error reads well", function()
    local e = fc.Error.new{kind = "service", status = 404, code = "FunctionNotFound",
      message = "function 'x' does not exist.", request_id = "1-abc"}
    check.eq(tostring(e), "FunctionNotFound (HTTP 404): function 'x' does not exist. [request 1-abc]")
    check.eq(e.retryable, false)
    check.eq(fc.Error.new{kind = "service", status = 429, code = "ResourceExhausted"}.retryable, true)
    check.eq(fc.Error.new{kind = "service", status = 400, code = "Throttling.User"}.retryable, true)
    check.eq(fc.Error.is({}), false)
  end},
  {"the secret is held in C memory, out of every table a script can reach", function()
    local secret = "SECRET-" .. ("x"):rep(8) .. "-only-here"
    local function reaches(root)
      local seen, found = {}, {}
      local function walk(v, where)
        local t = type(v)
        if t == "string" then
          if v:find(secret, 1, true) then found[#found + 1] = where end
        elseif (t == "table" or t == "userdata" or t == "function") and not seen[v] then
          seen[v] = true
          if t == "table" then
            for k, x in next, v do walk(k, where .. ".<key>"); walk(x, where .. "." .. tostring(k)) end
          elseif t == "userdata" then
            walk(tostring(v), where .. "<tostring>")
          else
            for i = 1, 255 do
              local n, x = debug.getupvalue(v, i)
              if not n then break end
              walk(x, where .. "^" .. n)
            end
          end
          walk(getmetatable(v), where .. "<mt>")
        end
      end
      walk(root, "client")
      return found
    end
    local d = fc.client{endpoint = "http://127.0.0.1:9", access_key_id = "id",
                        access_key_secret = secret, retry = false}
    check.eq(type(d.opts.access_key_secret), "userdata", "opts hold a sealed key")
    pcall(d.invoke, d, "f", "x") -- resolves the credentials and signs
    check.eq(type(d.creds.key), "userdata", "the credentials hold a key")
    check.eq(d.creds.access_key_secret, nil, "and no secret")
    check.eq(#reaches(d), 0, "no table, upvalue or tostring reachable from the client holds it")
    fc.configure{access_key_secret = secret}
    check.eq(type(fc.client().opts.access_key_secret), "userdata", "configure seals it too")
    check.eq(tostring(d.creds.key), "fc.core.Key(id)", "a key shows its id only")
    fc.configure{access_key_secret = "s"}
  end},
  {"dry run signs and sends nothing", function()
    local d = fc.client{endpoint = "http://127.0.0.1:9", access_key_id = "id", access_key_secret = "s",
      dry_run = true}
    local r = d:invoke("f", "x", {qualifier = "prod"})
    check.eq(r.dry_run, true)
    check.eq(r.ok, true)
    check.eq(r.status, 0)
    local q = d:request{method = "PUT", path = "/2023-03-30/functions/f", action = "UpdateFunction",
                        body = '{"timeout":9}', headers = {["Content-Type"] = "application/json"}}
    check.eq(q.request_headers["content-type"], "application/json", "the caller's content type")
    local t = d:request{method = "PUT", path = "/2023-03-30/functions/f", action = "UpdateFunction",
                        body = {timeout = 9}}
    check.eq(t.request_headers["content-type"], "application/json", "a table body is JSON")
    check.eq(t.request_headers["x-acs-action"], "UpdateFunction")
    local u = d:request{path = "/2023-03-30/functions", action = "ListFunctions",
                        query = {["a-b"] = 2, a = 1, z = "x y*"}}
    check.eq(u.url, "http://127.0.0.1:9/2023-03-30/functions?a=1&a-b=2&z=x%20y%2A",
             "the wire query is the canonical query")
  end},
  {"spawn, wait, sleep", function()
    local order = {}
    local a = fc.spawn(function(x) fc.sleep(0.05); order[#order + 1] = "a"; return x * 2 end, 21)
    local b = fc.spawn(function() order[#order + 1] = "b"; return "b", nil, 3 end)
    check.eq(fc.wait(a), 42)
    local r1, r2, r3 = fc.wait(b)
    check.eq(r1, "b"); check.eq(r2, nil); check.eq(r3, 3)
    check.eq(table.concat(order, ","), "b,a", "order")
    local t = fc.spawn(function() error("boom") end)
    check.raises(function() fc.wait(t) end, "boom")
    check.raises(function() fc.wait({}) end, "fc.Task expected")
  end},
  {"a finished transfer is seen at once", function()
    -- A refused connection ends inside the first curl perform. The loop
    -- once slept a whole poll interval (1 s) after that anyway, before the
    -- main chunk saw its task finish. The bound is half the poll interval,
    -- a constant of the scheduler, not a guess at machine speed: ten
    -- refused connections take milliseconds.
    local now = require("fc.core").now
    local t = now()
    fc.wait(fc.spawn(function() for _ = 1, 10 do pcall(c.invoke, c, "f") end end))
    local in_task = now() - t
    t = now()
    for _ = 1, 10 do pcall(c.invoke, c, "f") end
    local in_main = now() - t
    assert(in_task < 0.5 and in_main < 0.5,
      string.format("10 refused connections took %.2f s in a task, %.2f s in main", in_task, in_main))
  end},
  {"requests in tasks run concurrently", function()
    -- Four connection attempts to a closed port, each failing at once: the
    -- point is that tasks yield on requests and all finish.
    local tasks = {}
    for i = 1, 4 do
      tasks[i] = fc.spawn(function() return pcall(c.invoke, c, "f") end)
    end
    for i = 1, 4 do
      local ok, err = fc.wait(tasks[i])
      check.eq(ok, false)
      check.eq(err.code, "connect")
    end
  end},
}
