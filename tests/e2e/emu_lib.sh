# emu_lib.sh: helpers shared by the emulator's end-to-end tests (source after lib.sh).
#   lua_checks <<'EOF' ... EOF   runs a Lua body with check(name, cond, detail) and helpers
#   record "$(lua_checks ...)"   counts its "ok"/"FAIL" lines into PASSED/FAILED
# Runs a Lua test body under fcrun; each check prints "ok NAME" or "FAIL NAME".
lua_checks() {
  local file="$WORK/checks.lua"
  {
    cat <<'EOF'
local fc = require "fc"
local now = require("fc.core").now
local function check(name, cond, detail)
  if cond then print("ok   " .. name)
  else print("FAIL " .. name); if detail ~= nil then print("  " .. tostring(detail)) end end
end
local function service_error(f, ...)
  local ok, e = pcall(f, ...)
  if ok then return {code = "no error", status = 0} end
  if type(e) ~= "table" then return {code = tostring(e), status = 0} end
  return e
end
local function get(path, query, action)
  if not action then
    action = path == "" and "ListFunctions" or path:find("/async%-tasks/") and "GetAsyncTask"
             or path:find("/async%-tasks$") and "ListAsyncTasks" or "GetFunction"
  end
  return fc.request{method = "GET", path = "/2023-03-30/functions" .. path, query = query,
                    action = action}
end
local function stop(name, id)
  return fc.request{method = "PUT", action = "StopAsyncTask",
                    path = "/2023-03-30/functions/" .. name .. "/async-tasks/" .. id .. "/stop"}
end
local function wait_status(name, id, want, seconds)
  local t
  for _ = 1, seconds * 20 do
    t = get("/" .. name .. "/async-tasks/" .. id).body
    if t.status == want then return t end
    fc.sleep(0.05)
  end
  return t
end
EOF
    cat
  } >"$file"
  fc "$file" 2>&1
}

record() {
  local out=$1
  printf '%s\n' "$out"
  PASSED=$((PASSED + $(printf '%s\n' "$out" | grep -c '^ok   ')))
  FAILED=$((FAILED + $(printf '%s\n' "$out" | grep -c '^FAIL ')))
  if ! printf '%s\n' "$out" | grep -q '^ok   '; then
    FAILED=$((FAILED + 1)); echo "FAIL the Lua checks did not run"
  fi
}

