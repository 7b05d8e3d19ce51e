#!/usr/bin/env bash
# tls.sh FCRUN: the client over HTTPS against loopback TLS servers with a CA
# made here with openssl: which CA bundle is used (--cacert, ca_file,
# CURL_CA_BUNDLE, SSL_CERT_FILE, in that order), keep-alive and TLS session
# reuse, and the exact errors for an unknown CA, a wrong host name and an
# expired certificate. Then the client's end-to-end tests (client.sh) run
# again with the emulator behind a TLS front.
FCRUN=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
FAULTS=$here/../faults
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; cleanup' EXIT

# -- certificates ---------------------------------------------------------------
P=$WORK/pki
mkdir -p "$P"
key() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$P/$1.key" \
          -out "$P/$1.csr" -subj "/CN=$2" 2>/dev/null; }
ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$P/$1.key" \
         -out "$P/$1.crt" -days 2 -subj "/CN=$2" 2>/dev/null; }
# sign NAME CA DAYS SAN
sign() { openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.crt" -CAkey "$P/$2.key" -out "$P/$1.crt" \
           -days "$3" -extfile <(printf 'subjectAltName=%s\n' "$4") 2>/dev/null; }
ca ca "fcrun test CA"
ca other "some other CA"
key good 127.0.0.1 && sign good ca 2 "IP:127.0.0.1,DNS:localhost"
key wronghost other.example && sign wronghost ca 2 "DNS:other.example"
key expired 127.0.0.1 && sign expired ca -1 "IP:127.0.0.1"
key unknown 127.0.0.1 && sign unknown other 2 "IP:127.0.0.1"
for c in good wronghost expired unknown; do
  [ -s "$P/$c.crt" ] || { echo "openssl could not make the $c certificate"; exit 1; }
done

# start NAME [server.py flags]: a TLS fault server with certificate NAME; sets URL_NAME
start() {
  local name=$1; shift
  : >"$WORK/$name.log"
  timeout 600 python3 "$FAULTS/server.py" --log "$WORK/$name.log" --tls "$P/$name.crt" "$P/$name.key" \
    "$@" >"$WORK/$name.out" 2>&1 &
  PIDS="$PIDS $!"
  local url
  url=$(listening_url "$WORK/$name.out" "TLS server $name") || exit 1
  eval "URL_$name=\$url"
}
start good
start wronghost
start expired
start unknown
# shellcheck disable=SC2154
ENDPOINT=$URL_good

# tfc ARGS: fcrun with test keys, no CA variables but those given, one attempt per call
unset CURL_CA_BUNDLE SSL_CERT_FILE
tfc() { ALIBABA_CLOUD_ACCESS_KEY_ID=a ALIBABA_CLOUD_ACCESS_KEY_SECRET=b timeout 60 "$FCRUN" "$@"; }
ONE="require('fc').configure{retry = false}"
requests() { grep -c "^REQ " "$WORK/$1.log"; }

# -- which CA ---------------------------------------------------------------------
out=$(tfc --endpoint "$URL_good" -e "$ONE
  local ok, e = pcall(require('fc').invoke, 'ok', 'x'); print(e.kind, e.code, e.sent); print(e.message)" 2>&1)
expect_in "the system's CAs do not vouch for the test CA" "$out" "transport	tls	false"
expect_in "  ... and curl says why" "$out" "SSL certificate problem: unable to get local issuer certificate"
tfc --endpoint "$URL_good" invoke ok --payload x >/dev/null 2>&1
expect_eq "  ... exit 5" "$?" "5"

out=$(tfc --endpoint "$URL_good" --cacert "$P/ca.crt" invoke ok --payload hello 2>&1)
expect_eq "--cacert FILE verifies the server" "$out" "hello"
out=$(tfc --endpoint "$URL_good" -e "local c = require('fc').client{ca_file = '$P/ca.crt'}
  print(c:invoke('ok', 'opt').body)" 2>&1)
expect_eq "client option ca_file" "$out" "opt"
out=$(CURL_CA_BUNDLE=$P/ca.crt tfc --endpoint "$URL_good" invoke ok --payload env1 2>&1)
expect_eq "CURL_CA_BUNDLE" "$out" "env1"
out=$(SSL_CERT_FILE=$P/ca.crt tfc --endpoint "$URL_good" invoke ok --payload env2 2>&1)
expect_eq "SSL_CERT_FILE" "$out" "env2"
out=$(CURL_CA_BUNDLE=$P/other.crt tfc --endpoint "$URL_good" --cacert "$P/ca.crt" invoke ok --payload first 2>&1)
expect_eq "--cacert comes before CURL_CA_BUNDLE" "$out" "first"
out=$(CURL_CA_BUNDLE=$P/ca.crt SSL_CERT_FILE=$P/other.crt tfc --endpoint "$URL_good" invoke ok --payload second 2>&1)
expect_eq "CURL_CA_BUNDLE comes before SSL_CERT_FILE" "$out" "second"
out=$(CURL_CA_BUNDLE=$P/other.crt tfc --endpoint "$URL_good" invoke ok --payload x 2>&1); rc=$?
expect_eq "a bundle without the server's CA fails (exit 5)" "$rc" "5"
expect_in "  ... naming the CA file" "$out" "(CA file $P/other.crt)"

before=$(requests good)
tfc --endpoint "$URL_good" --cacert "$WORK/nope.crt" invoke ok >/dev/null 2>"$WORK/err"; rc=$?
expect_eq "an unreadable --cacert is a usage error (exit 2)" "$rc" "2"
expect_in "  ... naming the file" "$(cat "$WORK/err")" "$WORK/nope.crt"
CURL_CA_BUNDLE=$WORK tfc --endpoint "$URL_good" invoke ok >/dev/null 2>"$WORK/err"; rc=$?
expect_eq "an unreadable CURL_CA_BUNDLE is a configuration error (exit 6)" "$rc" "6"
expect_in "  ... naming the variable" "$(cat "$WORK/err")" "CURL_CA_BUNDLE"
expect_eq "  ... and nothing was sent" "$(requests good)" "$before"

# Verification cannot be turned off by accident: no option does it.
tfc --endpoint "$URL_good" --insecure invoke ok >/dev/null 2>&1
expect_eq "there is no --insecure" "$?" "2"
tfc --endpoint "$URL_good" -e "require('fc').client{ssl_verify = false}" >/dev/null 2>&1
expect_eq "there is no client option to skip verification" "$?" "2"
out=$(CURL_CA_BUNDLE="" SSL_CERT_FILE="" tfc --endpoint "$URL_good" -e "$ONE
  local ok, e = pcall(require('fc').invoke, 'ok', 'x'); print(e.code)" 2>&1)
expect_eq "empty CA variables fall back to the system's bundle" "$out" "tls"

# -- keep-alive and session reuse -------------------------------------------------
conns() { grep -c "^CONN " "$WORK/$1.log"; }
c0=$(conns good)
out=$(tfc --endpoint "$URL_good" --cacert "$P/ca.crt" -e "$ONE
  local fc = require 'fc'
  for i = 1, 3 do assert(fc.invoke('ok', 'k' .. i).body == 'k' .. i) end
  print('ok')" 2>&1)
expect_eq "three calls over HTTPS" "$out" "ok"
expect_eq "  ... on one kept-alive connection" "$(( $(conns good) - c0 ))" "1"
r0=$(grep -c '^TLS-RESUMED' "$WORK/good.log")
c0=$(conns good)
out=$(tfc --endpoint "$URL_good" --cacert "$P/ca.crt" -e "$ONE
  local fc = require 'fc'
  for i = 1, 3 do assert(fc.invoke('ok_close', 'c' .. i).status == 200) end
  print('ok')" 2>&1)
expect_eq "three calls the server closes after each" "$out" "ok"
expect_eq "  ... on three connections" "$(( $(conns good) - c0 ))" "3"
expect_eq "  ... the second and third resume the first's TLS session" \
  "$(( $(grep -c '^TLS-RESUMED' "$WORK/good.log") - r0 ))" "2"

# -- exact errors -------------------------------------------------------------------
# check NAME WANT-MESSAGE: kind tls, sent false, exit 5, nothing read by the server
check() {
  local name=$1 want=$2 url
  url=$(eval "echo \$URL_$name")
  out=$(tfc --endpoint "$url" --cacert "$P/ca.crt" -e "$ONE
    local ok, e = pcall(require('fc').invoke, 'ok', 'x'); print(e.kind, e.code, e.sent); print(e.message); error(e)" 2>&1)
  local rc=$?
  expect_in "$name: transport tls, sent false" "$out" "transport	tls	false"
  expect_in "$name: the exact error" "$out" "$want"
  expect_eq "$name: exit 5" "$rc" "5"
  expect_eq "$name: the server read no request" "$(requests "$name")" "0"
}
check wronghost "SSL: no alternative certificate subject name matches target host name '127.0.0.1'"
check expired "SSL certificate problem: certificate has expired"
check unknown "SSL certificate problem: unable to get local issuer certificate"

# -- the client's end-to-end tests over HTTPS ---------------------------------------
# (FC_E2E_TLS_CLIENT=0 skips this part: the sanitizer run does, to keep CI short.)
if [ "${FC_E2E_TLS_CLIENT:-1}" = 1 ]; then
  FC_E2E_TLS=$P bash "$here/client.sh" "$FCRUN" >"$WORK/client-tls.out" 2>&1
  rc=$?
  sed 's/^/  client.sh over TLS: /' "$WORK/client-tls.out" | grep -v '^  client.sh over TLS: ok ' || true
  expect_eq "client.sh passes over HTTPS ($(tail -n 1 "$WORK/client-tls.out"))" "$rc" "0"
  expect_in "client.sh ran over HTTPS" "$(cat "$WORK/client-tls.out")" "over https://127.0.0.1:"
fi

finish
