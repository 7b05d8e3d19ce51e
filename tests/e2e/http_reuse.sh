#!/usr/bin/env bash
# http_reuse.sh FCRUN: requests of one process share curl easy handles (a
# pool's idle handles, issue 9), so nothing of one request may reach the
# next. Pinned here, each request answered as sent:
#   - the wire: a loopback echo server answers every request with what it
#     got (method, Content-Length, Content-Type, Expect, body) for HEAD,
#     POST with and without a body, GET, DELETE, PUT, in an order that
#     switches method and body at every step;
#   - signatures: the emulator verifies every request (method, headers and
#     the body's hash), so a leaked body or method is a 4xx;
#   - the CA: a request with a CA file, then one without on the same pool
#     (must not trust the test CA), then with it again;
#   - lifetime: a pool closed while its transfers run, are done, or are
#     already freed, and a state closed with transfers in flight.
FCRUN=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; cleanup' EXIT
unset CURL_CA_BUNDLE SSL_CERT_FILE

# run LUA: fcrun -e with the test keys, at most 60 s
run() {
  ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
    timeout 60 "$FCRUN" -e "$1" 2>&1
}

# -- the echo server ------------------------------------------------------------
cat >"$WORK/echo.py" <<'EOF'
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the same connections too

    def any(self):
        n = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(n) if n else b""
        shown = body.decode("latin-1") if len(body) <= 32 else "%d bytes" % len(body)
        h = self.headers
        echo = "%s cl=%s ct=%s expect=%s te=%s body=[%s]" % (
            self.command, h.get("content-length", "-"), h.get("content-type", "-"),
            h.get("expect", "-"), h.get("transfer-encoding", "-"), shown)
        self.send_response(200)
        self.send_header("x-echo", echo)
        self.send_header("content-length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = any

    def log_message(self, *args):
        pass

srv = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
print("listening on http://127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
EOF
timeout 300 python3 "$WORK/echo.py" >"$WORK/echo.out" 2>&1 &
PIDS="$PIDS $!"
ECHO=$(listening_url "$WORK/echo.out" "the echo server") || exit 1

# One pool, one request at a time: each takes the handle the last one gave back.
out=$(run "
local core = require 'fc.core'
local h = core.http()
local function send(req)
  req.url = req.url or '$ECHO/x'
  req.timeout = 20
  local x = h:start(req)
  while not x:done() do h:poll(0.05) end
  local r, kind, msg = x:response()
  print(r and (r.status .. ' ' .. tostring(r.headers['x-echo'])) or ('error ' .. kind .. ' ' .. msg))
end
send{method = 'HEAD', headers = {'x-a: 1'}}
send{method = 'POST', body = 'hello', headers = {'content-type: text/plain'}}
send{method = 'GET'}
send{method = 'POST', body = 'second'}
send{method = 'HEAD'}
send{method = 'POST', body = ''}
send{method = 'DELETE'}
send{method = 'PUT', body = 'abc', headers = {'Content-Type: application/json'}}
send{method = 'POST', body = ('z'):rep(1536 * 1024)}
send{method = 'GET', headers = {'x-b: 2'}}
send{method = 'POST'}
send{method = 'PATCH', body = 'p'}
send{method = 'GET'}
")
expect_eq "the wire: each request as sent, on reused handles" "$out" \
"200 HEAD cl=- ct=- expect=- te=- body=[]
200 POST cl=5 ct=text/plain expect=- te=- body=[hello]
200 GET cl=- ct=- expect=- te=- body=[]
200 POST cl=6 ct=- expect=- te=- body=[second]
200 HEAD cl=- ct=- expect=- te=- body=[]
200 POST cl=0 ct=- expect=- te=- body=[]
200 DELETE cl=- ct=- expect=- te=- body=[]
200 PUT cl=3 ct=application/json expect=- te=- body=[abc]
200 POST cl=1572864 ct=- expect=- te=- body=[1572864 bytes]
200 GET cl=- ct=- expect=- te=- body=[]
200 POST cl=- ct=- expect=- te=- body=[]
200 PATCH cl=1 ct=- expect=- te=- body=[p]
200 GET cl=- ct=- expect=- te=- body=[]"

# Many at once, then fewer: handles come back in another order than they left.
out=$(run "
local core = require 'fc.core'
local h = core.http()
local bad = 0
for round = 1, 3 do
  local xs = {}
  for i = 1, 40 // round do
    local body = (i % 3 ~= 0) and ('b' .. round .. '.' .. i) or nil
    local m = body and 'POST' or (i % 2 == 0 and 'HEAD' or 'GET')
    xs[#xs + 1] = {x = h:start{method = m, url = '$ECHO/x', body = body, timeout = 20}, m = m, body = body}
  end
  for k = #xs, 1, -1 do
    local t = xs[k]
    while not t.x:done() do h:poll(0.05) end
    local r = t.x:response()
    local want = t.body and ('POST cl=' .. #t.body .. ' ct=- expect=- te=- body=[' .. t.body .. ']')
      or (t.m .. ' cl=- ct=- expect=- te=- body=[]')
    if not r or r.headers['x-echo'] ~= want then
      bad = bad + 1
      print('round', round, k, r and r.headers['x-echo'], want)
    end
  end
end
print('mismatches', bad)")
expect_eq "the wire: concurrent transfers, handles given back out of order" "$out" "mismatches	0"

# -- signatures: the emulator verifies each request -------------------------------
start_emulator "$here/functions" -v
out=$(run "
local fc = require 'fc'
fc.configure{endpoint = '$ENDPOINT', retry = false}
local path = '/2023-03-30/functions/echo'
local function try(f, ...)
  local ok, r = pcall(f, ...)
  if ok then return r.status .. ' ' .. tostring(r.body) end
  return 'error ' .. tostring(r.kind) .. ' ' .. tostring(r.status) .. ' ' .. tostring(r.code)
end
print(try(fc.request, {method = 'HEAD', action = 'GetFunction', path = path}))
print(try(function() local r = fc.invoke('echo', 'first body'); return {status = r.status, body = r.body} end))
print(try(function() local r = fc.request{action = 'GetFunction', path = path}; return {status = r.status, body = r.body.functionName} end))
print(try(function() local r = fc.invoke('echo'); return {status = r.status, body = '[' .. r.body .. ']'} end))
print(try(fc.request, {method = 'HEAD', action = 'GetFunction', path = path}))
print(try(function() local r = fc.invoke('echo', 'after head'); return {status = r.status, body = r.body} end))
print(try(function() local r = fc.request{action = 'ListFunctions', path = '/2023-03-30/functions'}; return {status = r.status, body = type(r.body)} end))
")
expect_eq "signatures: HEAD, POST, GET, empty POST, HEAD, POST, GET as signed" "$out" \
"error service 400 HTTP400
200 first body
200 echo
200 []
error service 400 HTTP400
200 after head
200 table"
# (a HEAD has no route: its 400 comes after the signature was verified)
got=$(awk '$1 ~ /^(GET|HEAD|POST)$/ { print $1, $3 }' "$WORK/emu.log")
expect_eq "signatures: the emulator accepted each signature" "$got" "HEAD 400
POST 200
GET 200
POST 200
HEAD 400
POST 200
GET 200"

# -- the CA: one request's CA file is not the next one's ------------------------------
P=$WORK/pki
mkdir -p "$P"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$P/ca.key" \
  -out "$P/ca.crt" -days 2 -subj "/CN=fcrun reuse test CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$P/good.key" \
  -out "$P/good.csr" -subj "/CN=127.0.0.1" 2>/dev/null
openssl x509 -req -in "$P/good.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -out "$P/good.crt" -days 2 \
  -extfile <(printf 'subjectAltName=IP:127.0.0.1\n') 2>/dev/null
[ -s "$P/good.crt" ] || { echo "openssl could not make the certificate"; exit 1; }
: >"$WORK/tls.log"
timeout 300 python3 "$here/../faults/server.py" --log "$WORK/tls.log" --tls "$P/good.crt" "$P/good.key" \
  >"$WORK/tls.out" 2>&1 &
PIDS="$PIDS $!"
TLS=$(listening_url "$WORK/tls.out" "the TLS server") || exit 1

out=$(run "
local core = require 'fc.core'
local h = core.http()
local function send(ca)
  local x = h:start{method = 'POST', url = '$TLS/x/ok', body = 'x', timeout = 20, ca_file = ca}
  while not x:done() do h:poll(0.05) end
  local r, kind = x:response()
  print(r and r.status or kind)
end
send('$P/ca.crt')
send(nil)
send('$P/ca.crt')
send(nil)
send('$P/ca.crt')")
expect_eq "the CA: with, without, with, without, with, on one pool" "$out" "200
tls
200
tls
200"

out=$(run "
local fc = require 'fc'
local with = fc.client{endpoint = '$TLS', ca_file = '$P/ca.crt', retry = false}
local without = fc.client{endpoint = '$TLS', retry = false}
local function try(c)
  local ok, r = pcall(c.invoke, c, 'ok', 'x')
  print(ok and r.status or r.code)
end
try(with) try(without) try(with) try(without)")
expect_eq "the CA: two clients of one process, each with its own" "$out" "200
tls
200
tls"

# -- lifetime: transfers that outlive their pool -------------------------------------
out=$(run "
local core = require 'fc.core'
local function pool_closed_with(n_running, n_done, n_freed)
  local h = core.http()
  local done, running = {}, {}
  for i = 1, n_done + n_freed do
    local x = h:start{url = '$ECHO/x', timeout = 20}
    while not x:done() do h:poll(0.05) end
    if i <= n_freed then x:response() else done[#done + 1] = x end
  end
  for i = 1, n_running do running[i] = h:start{url = '$ECHO/x', body = 'r', timeout = 20} end
  h:poll(0)
  getmetatable(h).__close(h) -- frees the pool now; its transfers stay with their owners
  for _, x in ipairs(done) do assert(x:done()); assert(x:response().status == 200) end
  for i, x in ipairs(running) do if i % 2 == 0 then x:cancel() end end
  return h, running
end
pool_closed_with(0, 0, 3)
pool_closed_with(3, 2, 2)
local h, keep = pool_closed_with(5, 0, 0)
collectgarbage() collectgarbage()
-- a state closed with transfers in flight and idle handles in a live pool
_G.live = core.http()
for i = 1, 4 do
  local x = live:start{url = '$ECHO/x', timeout = 20}
  while not x:done() do live:poll(0.05) end
  if i % 2 == 0 then x:response() end
end
_G.inflight = {live:start{url = '$ECHO/x', timeout = 20}, live:start{url = '$ECHO/x', body = 'y', timeout = 20}}
live:poll(0)
print('ok', #keep)")
expect_eq "lifetime: pools closed before their transfers, a state closed mid-flight" "$out" "ok	5"

finish
