#!/bin/sh
# client.sh FCRUN: what fcrun's client costs against the floor, raw libcurl
# (issue 9). One nginx on loopback (1 worker, keep-alive, a temp prefix,
# random high ports) answers every request with `200 {"ok":true}`, over HTTP
# and over HTTPS (a test CA and certificate made at run time with openssl).
#
#   floor  floor.c: libcurl's multi interface sending the request fcrun sends
#          (the same headers and sizes, fixed values, no signing, no Lua),
#          easy handles reused, keep-alive
#   fcrun  load.lua: signed fc.invoke calls from fc.spawn tasks
#
# at each concurrency, interleaved rounds, medians: requests/s and client CPU
# microseconds per request (each process's own user + system CPU over the
# measured requests, warm-up excluded), and the ratios fcrun/floor. Then:
#   map      100,000 invocations through fc.map at concurrency 64 against
#            64 plain fc.spawn workers: time and peak RSS (map.lua)
#   oneshot  `fcrun invoke` against the curl tool sending the same POST, over
#            HTTP and HTTPS (--cacert on both; hyperfine; skipped when it is
#            not installed)
# HTTPS needs an fcrun that trusts the CA named by CURL_CA_BUNDLE (the client's
# CA option, and --cacert); with an older fcrun that part says so and is skipped.
# A report, never a pass/fail test; it bounds its own time and stops nginx.
#
# Environment: BENCH_REQUESTS (per measured run, default 4000), BENCH_ROUNDS
# (default 3), BENCH_CONC (default "1 64"), BENCH_MAP (fc.map items, default
# 100000; 0 skips), BENCH_ONESHOT (hyperfine runs, default 50; 0 skips),
# BENCH_HTTPS (default 1; 0 skips), BENCH_PROFILE (1: also count instructions
# per request with callgrind, floor and fcrun at concurrency 64 over HTTP,
# and where fcrun's go; stable on a loaded machine, unlike time).
set -eu

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 PATH/TO/fcrun" >&2
  exit 2
fi
FCRUN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
N=${BENCH_REQUESTS:-4000}
ROUNDS=${BENCH_ROUNDS:-3}
CONCS=${BENCH_CONC:-1 64}
MAP_N=${BENCH_MAP:-100000}
ONESHOT=${BENCH_ONESHOT:-50}
HTTPS=${BENCH_HTTPS:-1}
KEY_ID=LTAIbenchkey
KEY_SECRET=bench-secret-not-a-real-one
EXPECT='{"ok":true}'
LIMIT=1800   # seconds: the bound on nginx (and so on the whole run)
RUN_LIMIT=60 # seconds: the bound on one client run
MAP_LIMIT=600

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "$0: nginx not found (third_party/install.sh --bench)" >&2; exit 2; }
CC=${CC:-cc}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fcclient.XXXXXX")
NGINX_PID=''
cleanup() {
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the floor -----------------------------------------------------------------
$CC -O2 -Wall -Wextra -Werror -o "$TMP/floor" "$HERE/floor.c" -lcurl

# --- a test CA and a certificate for 127.0.0.1 ---------------------------------
mkdir -p "$TMP/tls" "$TMP/nginx"
(
  cd "$TMP/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fcrun bench CA" \
    -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key \
    -out server.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile ext.cnf -out server.pem 2>/dev/null
)
CA=$TMP/tls/ca.pem

# --- nginx: HTTP on PORT, HTTPS on PORT + 1 ------------------------------------
servers() { # PORT
  cat <<EOF
  keepalive_timeout 120s;
  default_type application/json;
  server {
    listen 127.0.0.1:$1;
    listen 127.0.0.1:$(($1 + 1)) ssl;
    ssl_certificate $TMP/tls/server.pem;
    ssl_certificate_key $TMP/tls/server.key;
    location / { return 200 '$EXPECT'; }
  }
EOF
}
. "$HERE/nginx.sh"
nginx_up 1 servers
PORT=$NGINX_PORT
HTTP_URL=http://127.0.0.1:$PORT
HTTPS_URL=https://127.0.0.1:$((PORT + 1))

echo "nginx $HTTP_URL and $HTTPS_URL (1 worker), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)," \
     "$N requests per run, median of $ROUNDS runs" >&2

: >"$TMP/results"
record() { # LABEL C: runs the rest of the arguments, keeps its RESULT line
  label=$1 c=$2; shift 2
  if timeout "$RUN_LIMIT" "$@" >"$TMP/run" 2>&1; then :; else
    echo "$label c=$c: exit status $? (124: timed out after $RUN_LIMIT s)" >>"$TMP/run"
  fi
  grep -q '^RESULT ' "$TMP/run" || echo "RESULT label=$label c=$c n=$N failed=1" >>"$TMP/run"
  tee -a "$TMP/results" <"$TMP/run" >&2
}
cells() { # SCHEME URL
  for c in $CONCS; do
    r=0
    while [ $r -lt "$ROUNDS" ]; do # interleaved, so drift hits both alike
      record "floor-$1" "$c" "$TMP/floor" "$2" "$c" "$N" "$EXPECT" "floor-$1"
      record "fcrun-$1" "$c" "$FCRUN" "$HERE/load.lua" "$2" "$KEY_ID" "$KEY_SECRET" hello "$c" "$N" \
        "fcrun-$1" "$EXPECT"
      r=$((r + 1))
    done
  done
}

cells http "$HTTP_URL"

HTTPS_OK=0
if [ "$HTTPS" = 1 ]; then
  export CURL_CA_BUNDLE="$CA"
  if timeout 20 "$FCRUN" "$HERE/load.lua" "$HTTPS_URL" "$KEY_ID" "$KEY_SECRET" hello 1 1 probe \
      "$EXPECT" >"$TMP/probe" 2>&1 && grep -q 'errors=0' "$TMP/probe"; then
    HTTPS_OK=1
    cells https "$HTTPS_URL"
  else
    echo "HTTPS: skipped: this fcrun does not trust the test CA named by CURL_CA_BUNDLE" \
         "(the client's CA option, branch faults); its answer:" >&2
    sed 's/^/  /' "$TMP/probe" | head -n 3 >&2
  fi
  unset CURL_CA_BUNDLE
fi

# --- fc.map against plain tasks -------------------------------------------------
if [ "$MAP_N" -gt 0 ]; then
  for mode in spawn map; do
    if timeout "$MAP_LIMIT" "$FCRUN" "$HERE/map.lua" "$HTTP_URL" "$KEY_ID" "$KEY_SECRET" hello \
        "$mode" 64 "$MAP_N" "$EXPECT" >"$TMP/run" 2>&1; then :; else
      echo "$mode: exit status $? (124: timed out after $MAP_LIMIT s)" >>"$TMP/run"
    fi
    grep -q '^RESULT ' "$TMP/run" || echo "RESULT label=$mode c=64 n=$MAP_N failed=1" >>"$TMP/run"
    sed 's/^RESULT label=/RESULT label=fanout-/' "$TMP/run" | tee -a "$TMP/results" >&2
  done
fi

# --- one shot: fcrun invoke against the curl tool --------------------------------
if [ "$ONESHOT" -gt 0 ] && command -v hyperfine >/dev/null 2>&1 && command -v curl >/dev/null 2>&1; then
  # curl sends floor.c's header set: the same request, fixed values
  awk '/^static const char \*const HEADERS/ { on = 1; next } on && /^};/ { exit }
       on { s = s $0 } on && /",$/ { gsub(/^ *"|",$/, "", s); gsub(/" *"/, "", s); print s; s = "" }' \
    "$HERE/floor.c" >"$TMP/headers"
  oneshot() { # SCHEME URL [CA]: one hyperfine run, curl and fcrun, same POST
    curl_cmd="curl -s -o /dev/null --fail -X POST --data-binary ping${3:+ --cacert $3}"
    while IFS= read -r h; do curl_cmd="$curl_cmd -H '$h'"; done <"$TMP/headers"
    curl_cmd="$curl_cmd $2/2023-03-30/functions/hello/invocations"
    fcrun_cmd="$FCRUN --endpoint $2${3:+ --cacert $3} invoke hello --payload ping"
    if ALIBABA_CLOUD_ACCESS_KEY_ID=$KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$KEY_SECRET timeout 120 \
        hyperfine -N -w 5 -r "$ONESHOT" --export-csv "$TMP/oneshot.csv" \
        -n curl "$curl_cmd" -n fcrun "$fcrun_cmd" >"$TMP/hyperfine" 2>&1; then
      # name,mean,stddev,median,user,system,min,max (seconds)
      awk -F, -v s="$1" 'NR > 1 { printf "RESULT label=oneshot-%s-%s c=1 n=1 median_ms=%.2f cpu_ms=%.2f\n", $1, s, $4 * 1000, ($5 + $6) * 1000 }' \
        "$TMP/oneshot.csv" | tee -a "$TMP/results" >&2
    else
      echo "oneshot $1: hyperfine failed:" >&2; tail -n 5 "$TMP/hyperfine" >&2
    fi
  }
  oneshot http "$HTTP_URL"
  if [ "$HTTPS_OK" = 1 ]; then oneshot https "$HTTPS_URL" "$CA"
  elif [ "$HTTPS" = 1 ]; then echo "oneshot https: skipped (see HTTPS above)" >&2; fi
elif [ "$ONESHOT" -gt 0 ]; then
  echo "oneshot: skipped: hyperfine or curl not installed (third_party/install.sh --bench)" >&2
fi

# --- where the instructions go (callgrind) --------------------------------------
# Each side runs twice (P1 and P2 requests); the difference over P2 - P1 is
# the cost of one request, start-up and warm-up cancelled out.
if [ "${BENCH_PROFILE:-0}" = 1 ] && command -v valgrind >/dev/null 2>&1; then
  P1=500 P2=1500
  for n in $P1 $P2; do
    timeout 600 valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.floor.$n" \
      "$TMP/floor" "$HTTP_URL" 64 "$n" "$EXPECT" >/dev/null 2>&1 || true
    timeout 600 valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.fcrun.$n" \
      "$FCRUN" "$HERE/load.lua" "$HTTP_URL" "$KEY_ID" "$KEY_SECRET" hello 64 "$n" x "$EXPECT" \
      >/dev/null 2>&1 || true
  done
  for f in "$TMP"/cg.*; do
    callgrind_annotate --inclusive=yes --threshold=100 "$f" 2>/dev/null |
      awk '/^ *[0-9,]+ \(/ { v = $1; gsub(/,/, "", v); fn = $0; sub(/ \[.*$/, "", fn)
                             sub(/^.* /, "", fn); sub(/^[^:]*:/, "", fn)
                             if (!(fn in t)) t[fn] = v }
           END { for (k in t) print k, t[k] }' >"$f.inc"
  done
  echo "--- instructions per request at c=64 over HTTP (callgrind, ($P2 - $P1 requests) / $((P2 - P1)))" >&2
  awk -v d=$((P2 - P1)) '
    FNR == 1 { file++ }
    { v[file, $1] = $2 }
    function per(f1, f2, k) { return (v[f2, k] - v[f1, k]) / d / 1000 }
    END {
      # files in order: floor P1, floor P2, fcrun P1, fcrun P2 (the loop above)
      fl = per(1, 2, "main"); fc = per(3, 4, "main")
      if (fl <= 0 || fc <= 0) { print "profile: a run failed"; exit }
      printf "floor %.1fk, fcrun %.1fk instructions per request: %.2fx\n", fl, fc, fc / fl
      n = split("curl_multi_perform:libcurl transfer (the floor does the same)|" \
                "endpoint_start:signing and starting (one C call)|" \
                "fc_wire_sign:  of which fc_wire_sign|" \
                "fc_sign_string_to_sign:    SHA-256 of the canonical request (*)|" \
                "fc_hmac_sha256_keyed:    HMAC-SHA256, prepared key (*)|" \
                "fc_sign_canonical_request:    canonical request|" \
                "fc_http_start:  of which fc_http_start|" \
                "xfer_response:response to Lua tables, transfer freed|" \
                "fc_xfer_free:  of which fc_xfer_free", rows, "|")
      rest = fc
      for (i = 1; i <= n; i++) {
        split(rows[i], kv, ":"); x = per(3, 4, kv[1])
        printf "  %-48s %7.1fk\n", kv[2], x
        if (kv[2] !~ /^ /) rest -= x
      }
      printf "  %-48s %7.1fk\n", "the rest: the Lua VM, GC, scheduler", rest
      print "(*) mbedTLS: valgrind'"'"'s CPU has no SHA extensions; where the CPU has them, fcrun"
      print "    uses them and SHA-256 costs about a quarter of this (bench_sign measures it)"
    }' "$TMP/cg.floor.$P1.inc" "$TMP/cg.floor.$P2.inc" "$TMP/cg.fcrun.$P1.inc" "$TMP/cg.fcrun.$P2.inc" >&2
elif [ "${BENCH_PROFILE:-0}" = 1 ]; then
  echo "profile: skipped: valgrind not installed" >&2
fi

# --- the table ------------------------------------------------------------------
awk '
  /^RESULT / {
    delete f
    for (i = 2; i <= NF; i++) { k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v); f[k] = v }
    key = f["label"] SUBSEP f["c"]
    if (f["failed"] || f["errors"] > 0) bad[key]++
    n[key]++; rps[key, n[key]] = f["rps"]; cpu[key, n[key]] = f["cpu_us"]
    rss[key] = f["rss_mb"]; secs[key] = f["secs"]; ms[key] = f["median_ms"]; cms[key] = f["cpu_ms"]
    if (!(key in seen)) { seen[key] = 1; order[++m] = key }
  }
  function median(arr, key,   i, j, t, a, k) {
    k = n[key]; for (i = 1; i <= k; i++) a[i] = arr[key, i] + 0
    for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  END {
    printf "\n%-14s %11s %12s %14s\n", "client", "concurrency", "requests/s", "cpu us/req"
    for (i = 1; i <= m; i++) {
      key = order[i]; split(key, p, SUBSEP)
      if (p[1] !~ /^(floor|fcrun)-/) continue
      if (key in bad) { printf "%-14s %11s %12s\n", p[1], p[2], "failed"; continue }
      R[key] = median(rps, key); C[key] = median(cpu, key)
      printf "%-14s %11s %12.0f %14.1f\n", p[1], p[2], R[key], C[key]
    }
    for (i = 1; i <= m; i++) {
      key = order[i]; split(key, p, SUBSEP)
      if (p[1] !~ /^fcrun-/) continue
      s = substr(p[1], 7); fl = "floor-" s SUBSEP p[2]
      if (!(R[key] > 0 && R[fl] > 0)) { printf "%s c=%s: ratios n/a (a run failed)\n", s, p[2]; continue }
      printf "%-5s c=%-3s fcrun/floor: cpu per request %.2f (target <= 1.25), requests/s %.2f (target >= 0.8)\n",
        s, p[2], C[key] / C[fl], R[key] / R[fl]
    }
    sp = "fanout-spawn" SUBSEP 64; mp = "fanout-map" SUBSEP 64
    if ((sp in seen) && (mp in seen)) {
      if ((sp in bad) || (mp in bad)) print "fc.map: n/a (a run failed)"
      else printf "fc.map 64 vs 64 fc.spawn workers: time %.2fx (target <= 1.2), peak RSS %.1f MB vs %.1f MB (target < 64)\n",
        secs[mp] / secs[sp], rss[mp], rss[sp]
    }
    split("http https", schemes, " ")
    for (i = 1; i <= 2; i++) {
      oc = "oneshot-curl-" schemes[i] SUBSEP 1; of = "oneshot-fcrun-" schemes[i] SUBSEP 1
      if ((oc in seen) && (of in seen))
        printf "one shot %-5s: fcrun invoke %.2f ms, curl %.2f ms: %.2fx (target <= 1.3); cpu %.2f vs %.2f ms\n",
          schemes[i], ms[of], ms[oc], ms[of] / ms[oc], cms[of], cms[oc]
    }
  }' "$TMP/results"
