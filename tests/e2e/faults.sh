#!/usr/bin/env bash
# faults.sh FCRUN: the client against a hostile loopback server
# (tests/faults/server.py). First the defects of issue 7, each as its own
# check; then the fault matrix (docs/FAULTS.md), one row per fault: the
# exact error kind, code and `sent`, fcrun's exit status, an upper bound on
# the elapsed time and the number of requests the server received.
# With no retry policy, every call is a single attempt.
FCRUN=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
FAULTS=$here/../faults

SRV_LOG=$WORK/server.log
: >"$SRV_LOG"
timeout 600 python3 "$FAULTS/server.py" --log "$SRV_LOG" >"$WORK/server.out" 2>&1 &
SRV_PID=$!
trap 'kill $SRV_PID 2>/dev/null; cleanup' EXIT
ENDPOINT=$(listening_url "$WORK/server.out" "the fault server") || exit 1

# fcx CODE [ARGS]: fcrun -e CODE with no retry policy: every call one attempt
fcx() { local code=$1; shift; fc -e "require('fc').configure{retry = false}; $code" "$@"; }
# requests NAME: how many requests for NAME the server has read so far
requests() { grep -c "^REQ $1 " "$SRV_LOG"; }
now() { date +%s.%N; }
# within NAME T0 SECONDS: the time since T0 is at most SECONDS
within() {
  local el; el=$(echo "$(now) - $2" | bc)
  if [ "$(echo "$el <= $3" | bc)" = 1 ]; then ok "$1 (${el%??????}s <= $3 s)"
  else fail "$1" "took $el s, bound $3 s"; fi
}

# ---------------------------------------------------------------------------
# Defects
# ---------------------------------------------------------------------------

# 1. A request the server read is never re-sent on another pooled connection,
# whatever the body (a payload, an empty one, no body at all).
for case in 'payload|"x"' 'empty payload|""' 'no payload|nil' 'GET without a body|GET'; do
  label=${case%%|*} arg=${case#*|}
  before=$(requests replay)
  out=$(fcx '
    local fc = require "fc"
    local tasks = {}
    for i = 1, 20 do tasks[i] = fc.spawn(fc.invoke, "replay", "warm") end
    for i = 1, 20 do assert(fc.wait(tasks[i]).status == 200) end
    local ok, e
    if arg[1] == "GET" then
      ok, e = pcall(fc.request, {method = "GET", action = "GetFunction", path = "/2023-03-30/functions/replay"})
    else
      ok, e = pcall(fc.invoke, "replay", load("return " .. arg[1])())
    end
    print(ok, e.kind, e.code, e.sent)' "$arg" 2>&1)
  expect_eq "defect 1: a dead reused connection is not re-sent ($label)" "$out" "false	transport	closed	true"
  expect_eq "defect 1: the server got it exactly once ($label)" "$(( $(requests replay) - before ))" "21"
done

# 2. A timeout under 0.5 ms is still a timeout.
t0=$(now)
fc --timeout 0.0004 invoke headers_never >/dev/null 2>"$WORK/err"; rc=$?
expect_eq "defect 2: --timeout 0.0004 exits 5" "$rc" "5"
expect_in "defect 2: --timeout 0.0004 is a timeout" "$(cat "$WORK/err")" "timeout error"
within "defect 2: --timeout 0.0004 does not hang" "$t0" 5
out=$(fcx 'local ok, e = pcall(require("fc").invoke, "headers_never", "", {timeout = 0.0001}); print(e.code)' 2>&1)
expect_eq "defect 2: invoke{timeout = 0.0001} times out" "$out" "timeout"

# 3. A response cut inside its headers is a transport error, not a success.
out=$(fcx 'local ok, e = pcall(require("fc").invoke, "headers_cut", "x"); print(ok, e.kind, e.code, e.sent)' 2>&1)
expect_eq "defect 3: headers cut mid-line is a transport error" "$out" "false	transport	closed	true"

# 4. FC error bodies with null or non-string fields give a readable fc.Error.
for f in s503_null s503_types; do
  out=$(fcx '
    local ok, e = pcall(require("fc").invoke, arg[1], "x")
    print(e.kind, e.status, e.code, type(e.message), type(e.request_id), #tostring(e) > 0)' "$f" 2>&1)
  expect_eq "defect 4: $f gives a readable fc.Error" "$out" "service	503	HTTP503	string	string	true"
done

# 5. An unreadable --payload-file is a usage error naming the file.
before=$(requests ok)
fc invoke ok --payload-file "$WORK" >/dev/null 2>"$WORK/err"; rc=$?
expect_eq "defect 5: --payload-file DIR exits 2" "$rc" "2"
expect_in "defect 5: the error names the file" "$(cat "$WORK/err")" "$WORK"
expect_eq "defect 5: nothing was sent" "$(requests ok)" "$before"

# 6. 3xx and 204 are service errors that say what came back; no redirect is followed.
out=$(fcx 'local ok, e = pcall(require("fc").invoke, "redirect", "x"); print(ok, e.kind, e.status, e.code); print(e)' 2>&1)
expect_in "defect 6: a 302 is a service error" "$out" "false	service	302	HTTP302"
expect_in "defect 6: the error names the redirect" "$out" "http://127.0.0.1:9/elsewhere"
out=$(fcx 'local ok, e = pcall(require("fc").invoke, "no_content", "x"); print(ok, e.kind, e.status, e.code)' 2>&1)
expect_eq "defect 6: a 204 is a service error" "$out" "false	service	204	HTTP204"

# 7. An unbounded response buffer is refused in the binding (the core's
# overflow is covered by unit.buf).
out=$(fcx '
  local core = require "fc.core"
  for _, v in ipairs{-1, 0, 0.5, math.huge} do
    local ok, e = pcall(core.http().start, core.http(), {url = "http://127.0.0.1:9/", max_body = v})
    print(ok, (tostring(e):gsub("^.-max_body", "max_body")))
  end' 2>&1)
expect_eq "defect 7: max_body must be a positive integer" "$out" "false	max_body must be a positive integer
false	max_body must be a positive integer
false	max_body must be a positive integer
false	max_body must be a positive integer"

# 8. Numbers given where the signer takes strings stay valid through a
# garbage collection (under ASan, a use-after-free otherwise).
out=$(fcx '
  local core = require "fc.core"
  collectgarbage("incremental", 1, 1000)
  local function sign(id, secret)
    return core.sign{method = "GET", path = "/", access_key_id = id, access_key_secret = secret,
                     payload_hash = 1, headers = {["x-n"] = 7}}.authorization
  end
  local want = sign("12345", "67890")
  for i = 1, 200 do assert(sign(12345, 67890) == want, "differs at " .. i) end
  print("same")' 2>&1)
expect_eq "defect 8: luaL_optstring on numbers keeps a live string" "$out" "same"

# 9. Header injection: names, methods, credentials and NUL bytes are refused
# before anything is sent.
before=$(requests ok)
for code in \
  'fc.request{action = "GetFunction", path = "/x/ok", headers = {["x-a\r\nx-b"] = "v"}}' \
  'fc.request{action = "GetFunction", path = "/x/ok", headers = {["x-a:b"] = "v"}}' \
  'fc.request{action = "GetFunction", path = "/x/ok", headers = {["x-a"] = "v\0w"}}' \
  'fc.request{action = "GetFunction", path = "/x/ok", method = "GET /evil HTTP/1.1\r\nx:"}' \
  'fc.sign{access_key_id = "a", access_key_secret = "b", headers = {["x-a\nx-b"] = "v"}}' \
  'fc.invoke("ok", "x", {headers = {["x-fc-a"] = "v\0"}})' \
  'fc.client{access_key_id = "a\r\nx-evil: 1", access_key_secret = "b"}:invoke("ok")' \
  'fc.client{access_key_id = "a", access_key_secret = "b", security_token = "t\nx: 1"}:invoke("ok")'; do
  out=$(fcx "local fc = require 'fc'; $code" 2>&1); rc=$?
  expect_eq "defect 9: refused with exit 2: $code" "$rc" "2"
done
mkdir -p "$WORK/home/.alibabacloud"
printf '[default]\ntype = access_key\naccess_key_id = LTAI\rx-evil: 1\naccess_key_secret = s\n' \
  >"$WORK/home/.alibabacloud/credentials"
HOME=$WORK/home timeout 20 env -u ALIBABA_CLOUD_ACCESS_KEY_ID -u ALIBABA_CLOUD_ACCESS_KEY_SECRET \
  "$FCRUN" --endpoint "$ENDPOINT" invoke ok >/dev/null 2>"$WORK/err"; rc=$?
expect_eq "defect 9: a CR in a credentials file is refused with exit 2" "$rc" "2"
expect_in "defect 9: ... saying so" "$(cat "$WORK/err")" "access key id holds a control character"
expect_eq "defect 9: none of them was sent" "$(requests ok)" "$before"

# 10. Dry run and verbose never print a usable signature.
out=$(fc --dry-run -v invoke ok --payload x 2>&1)
expect_in "defect 10: dry run redacts the signature" "$out" "Signature=<redacted>"
if echo "$out" | grep -Eq 'Signature=[0-9a-f]{64}'; then fail "defect 10: no signature in dry-run output" "$out"
else ok "defect 10: no signature in dry-run output"; fi
out=$(fcx 'local s = require("fc").sign{access_key_id = "a", access_key_secret = "b"}; print(#s.signature)')
expect_eq "defect 10: fc.sign still returns the signature" "$out" "64"

# 11. Memory held by finished transfers is freed when the result reaches Lua.
# (ASan's quarantine would hold freed memory: kept small here.)
out=$(ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1" fcx '
  local fc = require "fc"
  local c = fc.client{max_response = 8 * 1024 * 1024}
  for i = 1, 50 do
    local ok, e = pcall(c.invoke, c, "body_over", tostring(9 * 1024 * 1024))
    assert(not ok and e.code == "toobig", tostring(e))
  end
  for l in io.lines("/proc/self/status") do
    local kb = l:match("^VmHWM:%s*(%d+)")
    if kb then print(tonumber(kb) < 64 * 1024 and "bounded" or ("peak " .. kb .. " kB")) end
  end' 2>&1)
expect_eq "defect 11: 50 toobig failures stay under 64 MB peak" "$out" "bounded"

# 12. Labels and exit codes.
out=$(fcx 'local ok, e = pcall(require("fc").invoke, "reset_before_status", "x"); print(e.code, e.sent)' 2>&1)
expect_eq "defect 12: broken after the request was sent is 'closed', not 'connect'" "$out" "closed	true"
out=$(fcx 'local ok, e = pcall(require("fc").invoke, "header_line_100k", "x"); print(e.code)' 2>&1)
expect_eq "defect 12: a 100 KB header line is toobig" "$out" "toobig"
for args in "--timeout 1e9" "--timeout inf" "--timeout nan"; do
  # shellcheck disable=SC2086
  ALIBABA_CLOUD_ACCESS_KEY_ID=a ALIBABA_CLOUD_ACCESS_KEY_SECRET=b timeout 20 "$FCRUN" --endpoint "$ENDPOINT" $args invoke ok >/dev/null 2>&1
  expect_eq "defect 12: $args exits 2" "$?" "2"
done
ALIBABA_CLOUD_ACCESS_KEY_ID=a ALIBABA_CLOUD_ACCESS_KEY_SECRET=b timeout 20 "$FCRUN" --endpoint "http://a b" invoke ok >/dev/null 2>&1
expect_eq "defect 12: --endpoint 'http://a b' exits 2" "$?" "2"
for code in 'fc.client{max_response = 0.5}' 'fc.client{timeout = 1e9}' 'fc.client{timeout = math.huge}' \
            'fc.invoke("ok", "", {timeout = 0/0})' 'fc.sleep(0/0)'; do
  fcx "local fc = require 'fc'; $code" >/dev/null 2>&1
  expect_eq "defect 12: $code exits 2" "$?" "2"
done
timeout 20 "$FCRUN" serve --functions "$WORK" --port 0 --access-key-id a --access-key-secret "" \
  >/dev/null 2>"$WORK/err"
expect_eq "defect 12: serve --access-key-secret '' exits 2" "$?" "2"
expect_in "... naming the option" "$(cat "$WORK/err")" "--access-key-secret is empty"
fc invoke s500_huge --payload x >/dev/null 2>"$WORK/err"; rc=$?
expect_eq "defect 12: a 4 MB error message exits 4" "$rc" "4"
if [ "$(wc -c <"$WORK/err")" -lt 4096 ]; then ok "defect 12: a 4 MB error message is capped when shown"
else fail "defect 12: a 4 MB error message is capped when shown" "$(wc -c <"$WORK/err") bytes on stderr"; fi
out=$(fcx 'local e; pcall(require("fc").invoke, "s500_huge", "x")
  local ok, e = pcall(require("fc").invoke, "s500_huge", "x"); print(#e.message)' 2>&1)
expect_eq "defect 12: err.message keeps the whole message" "$out" "$((4 << 20))"
out=$(fcx 'local v, msg = require("fc").json.decode("{bad"); print(v, type(msg))' 2>&1)
expect_eq "defect 12: fc.json.decode returns nil, message" "$out" "nil	string"

# ---------------------------------------------------------------------------
# The fault matrix (docs/FAULTS.md): one row per fault. Columns: the fault
# (a function name the server acts on), the payload, the expected kind,
# code and sent of the fc.Error ("ok - -" for a result), fcrun's exit
# status, the bound on the elapsed seconds, the requests the server must
# have read, and extra fcrun flags. No retry policy: one attempt each.
# ---------------------------------------------------------------------------
row() {
  local fault=$1 payload=$2 want="$3	$4	$5" exit=$6 secs=$7 reqs=$8
  shift 8
  local before t0 out rc el got_reqs
  before=$(requests "$fault")
  t0=$(now)
  out=$(fc "$@" "$FAULTS/row.lua" "$fault" "$payload" 2>"$WORK/row.err"); rc=$?
  el=$(echo "$(now) - $t0" | bc)
  got_reqs=$(( $(requests "$fault") - before ))
  out=$(printf '%s' "$out" | cut -f1-3)
  if [ "$out" = "$want" ] && [ "$rc" = "$exit" ] && [ "$(echo "$el <= $secs" | bc)" = 1 ] &&
     [ "$got_reqs" = "$reqs" ]; then
    ok "matrix: $fault -> $want, exit $rc, ${el%??????} s, $got_reqs request(s)"
  else
    fail "matrix: $fault" "got [$out] exit $rc in $el s, $got_reqs request(s); want [$want] exit $exit within $secs s, $reqs request(s); stderr: $(head -c 300 "$WORK/row.err")"
  fi
}

while read -r fault payload kind code sent exit secs reqs flags; do
  case $fault in ''|'#'*) continue ;; esac
  # shellcheck disable=SC2086
  row "$fault" "$payload" "$kind" "$code" "$sent" "$exit" "$secs" "$reqs" $flags
done <<'MATRIX'
# fault              payload   kind      code              sent  exit secs reqs flags
refused              x         transport connect           false 5    5    0    --endpoint http://127.0.0.1:9
reset_before_status  x         transport closed            true  5    5    1
close_no_reply       x         transport closed            true  5    5    1
reset_mid_body       x         transport closed            true  5    5    1
headers_cut          x         transport closed            true  5    5    1
headers_never        x         transport timeout           true  5    6    1    --timeout 1
body_stall           x         transport timeout           true  5    6    1    --timeout 1
truncated_body       x         transport closed            true  5    5    1
bad_chunking         x         transport closed            true  5    5    1
s500_json            x         service   Fault500          true  4    5    1
s502_json            x         service   Fault502          true  4    5    1
s503_json            x         service   Fault503          true  4    5    1
s504_json            x         service   Fault504          true  4    5    1
s429_json            x         service   Fault429          true  4    5    1
s500_html            x         service   HTTP500           true  4    5    1
s502_html            x         service   HTTP502           true  4    5    1
s503_html            x         service   HTTP503           true  4    5    1
s504_html            x         service   HTTP504           true  4    5    1
s429_html            x         service   HTTP429           true  4    5    1
s500_empty           x         service   HTTP500           true  4    5    1
s502_empty           x         service   HTTP502           true  4    5    1
s503_empty           x         service   HTTP503           true  4    5    1
s504_empty           x         service   HTTP504           true  4    5    1
s429_empty           x         service   HTTP429           true  4    5    1
s500_null            x         service   HTTP500           true  4    5    1
s502_null            x         service   HTTP502           true  4    5    1
s503_null            x         service   HTTP503           true  4    5    1
s504_null            x         service   HTTP504           true  4    5    1
s429_null            x         service   HTTP429           true  4    5    1
s503_types           x         service   HTTP503           true  4    5    1
retry_after          x         service   ResourceThrottled true  4    5    1
log_oversized        x         transport toobig            true  5    5    1
log_not_base64       x         ok        -                 -     0    5    1
header_line_100k     x         transport toobig            true  5    5    1
headers_over         x         transport toobig            true  5    5    1
body_over            33554433  transport toobig            true  5    10   1
redirect             x         service   HTTP302           true  4    5    1
no_content           x         service   HTTP204           true  4    5    1
interim_100          x         ok        -                 -     0    5    1
slow                 x         ok        -                 -     0    8    1    --timeout 6
MATRIX

# Rows that need more than one call, or more than the columns say.
out=$(fcx 'local ok, e = pcall(require("fc").invoke, "retry_after", "x"); print(e.status, e.retryable, e.retry_after)' 2>&1)
expect_eq "matrix: retry_after: 429 with Retry-After is retryable and says when" "$out" "429	true	2"
out=$(fcx '
  local fc = require "fc"
  local a = fc.invoke("idle_close", "1")
  fc.sleep(0.6)
  local b = fc.invoke("idle_close", "2")
  print(a.status, b.status)' 2>&1)
expect_eq "matrix: idle_close: a pooled connection closed while idle, the next call succeeds" "$out" "200	200"
expect_eq "matrix: idle_close: each call reached the server once" "$(requests idle_close)" "2"
expect_eq "matrix: idle_close: on two connections" \
  "$(grep '^REQ idle_close ' "$SRV_LOG" | cut -d' ' -f3 | sort -u | wc -l)" "2"

# ---------------------------------------------------------------------------
# Retries (the policy of the composition issue): what is sent again, and how
# often. A sync invocation that may have reached the function is never
# re-sent unless the call says it is idempotent; throttling and failures
# where nothing was sent are.
# ---------------------------------------------------------------------------
while read -r fault mode attempts cap outcome code made retryable reqs; do
  case $fault in ''|'#'*) continue ;; esac
  before=$(requests "$fault")
  ep=$ENDPOINT
  [ "$fault" = refused ] && ep=http://127.0.0.1:9
  out=$(ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
    timeout 60 "$FCRUN" --endpoint "$ep" --timeout 1 "$FAULTS/retry_row.lua" "$fault" "$mode" "$attempts" "$cap" 2>&1)
  expect_eq "retry: $fault ($mode, $attempts attempts): outcome" "$out" "$outcome	$code	$made	$retryable"
  [ "$fault" = refused ] || expect_eq "retry: $fault ($mode): requests the server read" \
    "$(( $(requests "$fault") - before ))" "$reqs"
done <<'RETRIES'
# fault          mode       attempts cap outcome   code              made retryable reqs
s503_json        sync       3        10  service   Fault503          3    true      3
s429_json        sync       3        10  service   Fault429          3    true      3
s500_json        sync       3        10  service   Fault500          1    false     1
s502_json        sync       3        10  service   Fault502          1    false     1
s504_json        sync       3        10  service   Fault504          1    false     1
s500_json        idempotent 3        10  service   Fault500          3    true      3
s504_json        keyed      3        10  service   Fault504          3    true      3
close_no_reply   sync       3        10  transport closed            1    false     1
close_no_reply   idempotent 3        10  transport closed            3    true      3
close_no_reply   keyed      3        10  transport closed            3    true      3
headers_never    sync       3        10  transport timeout           1    false     1
refused          sync       3        10  transport connect           3    true      0
redirect         idempotent 3        10  service   HTTP302           1    false     1
retry_after      sync       1        10  service   ResourceThrottled 1    true      1
retry_after      sync       3        1   service   ResourceThrottled 1    true      1
RETRIES
t0=$(now)
out=$(fc -e 'local ok, e = pcall(require("fc").invoke, "retry_after", "x", {retry = {attempts = 2}})
  print(e.attempts)' 2>&1)
expect_eq "retry: Retry-After 2 s is honoured (2 attempts)" "$out" "2"
el=$(echo "$(now) - $t0" | bc)
if [ "$(echo "$el >= 2" | bc)" = 1 ]; then ok "retry: ... waiting at least the 2 s asked for (${el%??????}s)"
else fail "retry: ... waiting at least the 2 s asked for" "took $el s"; fi
within "retry: ... and not much longer" "$t0" 10

before=$(requests ok)
out=$(fcx '
  local fc = require "fc"
  local faults = {"close_no_reply", "reset_mid_body", "s503_json", "headers_cut", "truncated_body",
                  "reset_before_status", "bad_chunking", "s429_null", "redirect", "header_line_100k"}
  local tasks, good, bad = {}, 0, 0
  for i = 1, 50 do
    local name = i % 5 == 0 and faults[i // 5] or "ok"
    tasks[i] = {name = name, task = fc.spawn(fc.invoke, name, "payload " .. i)}
  end
  for i, t in ipairs(tasks) do
    local ok, r = pcall(fc.wait, t.task)
    if t.name == "ok" then
      if ok and r.body == "payload " .. i then good = good + 1 end
    elseif not ok and fc.Error.is(r) and r.sent then
      bad = bad + 1
    end
  end
  print(good, bad)' 2>&1)
expect_eq "matrix: 10 faults among 50 concurrent tasks leave the other 40 untouched" "$out" "40	10"
expect_eq "matrix: the 40 reached the server once each" "$(( $(requests ok) - before ))" "40"

finish
