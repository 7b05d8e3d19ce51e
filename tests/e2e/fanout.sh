#!/usr/bin/env bash
# fanout.sh FCRUN [N]: composition at size, end to end against `fcrun serve`:
# N (10,000) spawned invocations under the connection cap, fc.map of N
# items over a function limited to 8 concurrent instances (AIMD, exact run
# counts), and the fanout runbook at 2,000. (The sanitizer build runs N =
# 2,000: ASan makes every invocation several times slower.)
FCRUN=$1
N=${2:-10000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
start_emulator "$here/fanout" -v
PORT=${ENDPOINT##*:}

# Samples the server's established connections every 20 ms into FILE until
# killed; prints nothing.
sample_connections() {
  while :; do
    ss -Htn state established "( sport = :$PORT )" | wc -l
    sleep 0.02
  done >"$1"
}
max_of() { sort -n "$1" | tail -n 1; }
count_429() { grep -c " 429 " "$WORK/emu.log"; }
# Like lib.sh's fc, with a bound that fits N invocations.
fcn() {
  ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET N=$N WORK=$WORK \
    timeout 240 "$FCRUN" --endpoint "$ENDPOINT" "$@"
}

# --- N tasks, one invocation each, under the default cap (64) --------------
sample_connections "$WORK/conn1" & SAMPLER=$!
out=$(fcn -e '
local fc = require "fc"
local n = tonumber(os.getenv("N"))
local tasks = {}
for i = 1, n do tasks[i] = fc.spawn(fc.invoke, "echo", tostring(i)) end
local bad = 0
for i = 1, n do
  if fc.wait(tasks[i]).body ~= tostring(i) then bad = bad + 1 end
end
print("wrong bodies: " .. bad)' 2>&1); rc=$?
kill $SAMPLER; wait $SAMPLER 2>/dev/null
expect_eq "$N spawned invocations all succeed" "$rc:$out" "0:wrong bodies: 0"
peak=$(max_of "$WORK/conn1")
if [ "$peak" -le 64 ] && [ "$peak" -ge 2 ]; then ok "the server saw at most 64 connections (peak $peak)"
else fail "the server saw at most 64 connections" "peak $peak"; fi

# --- a lower cap holds too, and queued requests do not time out -------------
sample_connections "$WORK/conn2" & SAMPLER=$!
out=$(fcn -e '
local fc = require "fc"
fc.configure{max_connections = 4, timeout = 2}
local tasks = {}
for i = 1, 400 do tasks[i] = fc.spawn(fc.invoke, "limited",
  {i = i, ms = 20, file = os.getenv("WORK") .. "/cap.runs"}) end
local okc = 0
for i = 1, 400 do if fc.wait(tasks[i]).ok then okc = okc + 1 end end
print("ok " .. okc)' 2>&1); rc=$?
kill $SAMPLER; wait $SAMPLER 2>/dev/null
# 400 x 20 ms at 4 at a time is 2 s of queueing: past the 2 s timeout if the
# timeout counted from spawning rather than from sending.
expect_eq "max_connections = 4: 400 slow invocations, none timed out" "$rc:$out" "0:ok 400"
peak=$(max_of "$WORK/conn2")
if [ "$peak" -le 4 ]; then ok "the server saw at most 4 connections (peak $peak)"
else fail "the server saw at most 4 connections" "peak $peak"; fi

# --- fc.map over a throttled function: AIMD, every item once ----------------
before=$(count_429)
out=$(fcn -e '
local fc = require "fc"
local items = {}
for i = 1, tonumber(os.getenv("N")) do items[i] = i end
local file = os.getenv("WORK") .. "/map.runs"
local t0 = fc.now()
local results, errors = fc.map(items, function(i)
  local r = fc.invoke("limited", {i = i, ms = 2, file = file})
  assert(r.ok, r.error_type)
  return r:json().i
end, {concurrency = 64})
local good = 0
for i = 1, #items do if results[i] == i then good = good + 1 end end
print(string.format("succeeded %d errors %d", good, errors.n))
io.stderr:write(string.format("map of %d took %.2f s\n", #items, fc.now() - t0))
if errors.n > 0 then for i, e in pairs(errors) do if i ~= "n" then print(i, e) break end end end' 2>"$WORK/map.err"); rc=$?
throttled=$(( $(count_429) - before ))
expect_eq "fc.map of $N over a function limited to 8: every item succeeded" "$rc:$out" "0:succeeded $N errors 0"
runs=$(wc -l <"$WORK/map.runs")
distinct=$(sort -un "$WORK/map.runs" | wc -l)
expect_eq "the function ran exactly once per item (runs, distinct items)" "$runs $distinct" "$N $N"
if [ "$throttled" -lt $((N / 10)) ]; then ok "far fewer 429 answers than items: $throttled for $N"
else fail "far fewer 429 answers than items" "$throttled 429 answers for $N items"; fi
echo "  ($(cat "$WORK/map.err"); $throttled answers were 429)"

# --- the runbook at 2,000 --------------------------------------------------
out=$(timeout 120 "$FCRUN" --local "$here/../../scripts/functions" "$here/../../scripts/fanout.lua" 2000 2>&1); rc=$?
expect_eq "scripts/fanout.lua 2000 exits 0" "$rc" "0"
expect_eq "... with 2,000 answers" "$(printf '%s\n' "$out" | grep -c 'hello, caller')" "2000"
expect_not_in "... and no traceback" "$out" "traceback"

finish
