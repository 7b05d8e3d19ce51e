#!/bin/sh
# emu_vs_nginx.sh FCRUN: invocations per second of `fcrun serve` running a
# trivial Lua function (functions/hello.lua), beside nginx answering
# `return 200 "hello"` on the same loopback in the same run, both driven by
# the same fcrun client script (load.lua: fc.invoke in C fc.spawn tasks) at
# concurrency 1 and 64; wrk against nginx is a second anchor. Prints a table
# and the emulator/nginx ratio at each concurrency. A report, never a
# pass/fail test.
#
# Besides requests/s it shows each server's CPU time per request (from
# /proc/PID/stat over the run, warm-up included): when the client is the
# bottleneck (client_cpu near 1.00 in the RESULT lines) requests/s hides the
# servers' difference and the CPU cost shows it.
#
# Environment: BENCH_REQUESTS (per measured run, default 4000), BENCH_ROUNDS
# (runs per cell, the median is shown, default 3), BENCH_CONC (default
# "1 64"), NGINX_WORKERS (default 1), BENCH_CLIENT (the fcrun that runs
# load.lua, default FCRUN), BENCH_PERF=1 (perf profile of the emulator during
# one extra run at the highest concurrency).
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
NGINX_WORKERS=${NGINX_WORKERS:-1}
CLIENT=${BENCH_CLIENT:-$FCRUN}
KEY_ID=LTAIbenchkey
KEY_SECRET=bench-secret-not-a-real-one
LIMIT=600     # seconds: the bound on the servers (and so on the whole run)
RUN_LIMIT=30  # seconds: the bound on one client run (4000 requests take < 5 s)
HZ=$(getconf CLK_TCK)

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "$0: nginx not found (apt-get install nginx-light)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fcbench.XXXXXX")
SERVE_PID='' NGINX_PID=''
cleanup() {
  # timeout(1) forwards the TERM to the process it runs
  for p in $SERVE_PID $NGINX_PID; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPU ticks (user + system, all threads) of the given pids and their children.
cpu_ticks() {
  for p in "$@"; do echo "$p"; pgrep -P "$p" || true; done | sort -u | while read -r p; do
    # the fields after "(comm)": state is $1, utime $12, stime $13
    sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null || true
  done | awk '{ t += $12 + $13 } END { print t + 0 }'
}

# --- the emulator, on an ephemeral port -----------------------------------
timeout "$LIMIT" "$FCRUN" serve --functions "$HERE/functions" --host 127.0.0.1 --port 0 \
  --access-key-id "$KEY_ID" --access-key-secret "$KEY_SECRET" >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVE_PID=$!
EMU=''
i=0
while [ $i -lt 100 ]; do # up to 10 s
  EMU=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$TMP/serve.out" | head -n 1)
  [ -n "$EMU" ] && break
  kill -0 "$SERVE_PID" 2>/dev/null || break
  sleep 0.1; i=$((i + 1))
done
if [ -z "$EMU" ]; then
  echo "$0: fcrun serve did not start:" >&2; cat "$TMP/serve.out" "$TMP/serve.err" >&2; exit 1
fi

# --- nginx, private prefix and config, a random high port -------------------
servers() { # PORT
  cat <<EOF
  server {
    listen 127.0.0.1:$1;
    location / { return 200 "hello"; }
  }
EOF
}
. "$HERE/nginx.sh"
nginx_up "$NGINX_WORKERS" servers
NG=http://127.0.0.1:$NGINX_PORT
# the real servers are timeout's children; nginx's master has the workers
SRV_EMU=$(pgrep -P "$SERVE_PID")
SRV_NGINX=$(pgrep -P "$NGINX_PID")

# --- measurements ------------------------------------------------------------
echo "emulator $EMU, nginx $NG ($NGINX_WORKERS worker), $(nproc) CPUs," \
     "$N requests per run, median of $ROUNDS runs" >&2

: >"$TMP/results"
load() { # TARGET-LABEL ENDPOINT CONCURRENCY SERVER-PID
  t0=$(cpu_ticks "$4")
  if timeout "$RUN_LIMIT" "$CLIENT" "$HERE/load.lua" "$2" "$KEY_ID" "$KEY_SECRET" hello "$3" "$N" "$1" \
      >"$TMP/run" 2>&1; then :; else
    rc=$?
    if [ $rc = 124 ]; then echo "$1 c=$3: timed out after $RUN_LIMIT s" >>"$TMP/run"
    else echo "$1 c=$3: exit status $rc" >>"$TMP/run"; fi
  fi
  t1=$(cpu_ticks "$4")
  if grep -q '^RESULT ' "$TMP/run"; then # server CPU per request, warm-up included
    warm=$(sed -n 's/^RESULT .* warm=\([0-9]*\) .*/\1/p' "$TMP/run")
    us=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n=$((N + warm)) 'BEGIN { printf "%.0f", d / hz * 1e6 / n }')
    sed -i "s/^RESULT .*/& srv_us=$us/" "$TMP/run"
  else # crashed or timed out: a failed cell
    echo "RESULT label=$1 c=$3 n=$N failed=1" >>"$TMP/run"
  fi
  tee -a "$TMP/results" <"$TMP/run" >&2
}
for c in $CONCS; do
  r=0
  while [ $r -lt "$ROUNDS" ]; do # interleaved, so drift hits both alike
    load emulator "$EMU" "$c" "$SRV_EMU"
    load nginx "$NG" "$c" "$SRV_NGINX"
    r=$((r + 1))
  done
done

if command -v wrk >/dev/null 2>&1; then
  for c in $CONCS; do
    t0=$(cpu_ticks "$SRV_NGINX")
    timeout 30 wrk -t1 -c"$c" -d3s "$NG/" >"$TMP/wrk" 2>&1 || true
    t1=$(cpu_ticks "$SRV_NGINX")
    line=$(awk -v d=$((t1 - t0)) -v hz="$HZ" '
      / requests in / { n = $1 } /^Requests\/sec:/ { rps = $2 }
      END { if (n > 0) printf "rps=%.0f srv_us=%.0f", rps, d / hz * 1e6 / n; else print "failed=1" }' "$TMP/wrk")
    echo "RESULT label=wrk-nginx c=$c $line" | tee -a "$TMP/results" >&2
  done
fi

if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null 2>&1; then
  top=$(echo "$CONCS" | tr ' ' '\n' | sort -n | tail -n 1)
  timeout 60 perf record -q -g -o "$TMP/perf.data" -p "$SRV_EMU" 2>/dev/null &
  perf_pid=$!
  sleep 0.5
  load perf-emulator "$EMU" "$top" "$SRV_EMU" >/dev/null 2>&1 || true
  kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true
  echo "--- perf: where the emulator spends its time at c=$top (self %, top 25)" >&2
  perf report -i "$TMP/perf.data" --stdio --no-children --sort dso,sym 2>/dev/null \
    | grep -E '^ +[0-9.]+%' | head -n 25 >&2 || true
fi

# --- the table ---------------------------------------------------------------
# The median per (label, c) of the RESULT lines, then the ratios at each c.
awk '
  /^RESULT / {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (f["label"] == "perf-emulator") next
    key = f["label"] SUBSEP f["c"]
    if (f["failed"] || f["errors"] > 0) bad[key]++  # a cell with any failed run shows as failed
    n[key]++; v[key, n[key]] = f["rps"]; u[key, n[key]] = f["srv_us"]; cc[key, n[key]] = f["client_cpu"]
    if (!(key in seen)) { seen[key] = 1; order[++m] = key }
  }
  function median(arr, key,   i, j, t, a, k) {
    k = n[key]; for (i = 1; i <= k; i++) a[i] = arr[key, i] + 0
    for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  END {
    printf "%-6s %-9s %11s %12s %14s %11s\n", "client", "target", "concurrency", "requests/s",
      "server us/req", "client cpu"
    for (i = 1; i <= m; i++) {
      key = order[i]; split(key, p, SUBSEP)
      if (p[1] == "wrk-nginx") { cl = "wrk"; tg = "nginx" } else { cl = "fcrun"; tg = p[1] }
      if (p[1] == "emulator") cs[++nc] = p[2]
      if (key in bad) { printf "%-6s %-9s %11s %12s\n", cl, tg, p[2], "failed"; continue }
      rps[key] = median(v, key); us[key] = median(u, key)
      printf "%-6s %-9s %11s %12.0f %14.0f %11s\n", cl, tg, p[2], rps[key], us[key],
        p[1] == "wrk-nginx" ? "-" : sprintf("%.2f", median(cc, key))
    }
    for (i = 1; i <= nc; i++) {
      e = "emulator" SUBSEP cs[i]; g = "nginx" SUBSEP cs[i]; w = "wrk-nginx" SUBSEP cs[i]
      if (!(rps[e] > 0 && rps[g] > 0)) { printf "c=%s: ratio n/a (a run failed)\n", cs[i]; continue }
      printf "c=%s: emulator/nginx requests/s (fcrun client) %.2f", cs[i], rps[e] / rps[g]
      if (rps[w] > 0) printf "; emulator/nginx(wrk) %.2f", rps[e] / rps[w]
      if (us[e] > 0) printf "; nginx/emulator server CPU per request %.2f", us[g] / us[e]
      printf "\n"
    }
  }' "$TMP/results"
