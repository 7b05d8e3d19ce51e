#!/usr/bin/env bash
# soak.sh FCRUN: many invocations against `fcrun serve` through the fault
# server's seeded fault proxy (tests/faults/server.py --upstream), which
# breaks a share of them at random: connections dropped or reset before the
# request is forwarded, answers lost or cut after the function ran, injected
# 503s, slow answers. Checks that every invocation's outcome reaches the
# script exactly once, that no invocation ran twice, that the function's own
# count of runs lies between the successes and the successes plus the
# unknown outcomes (transport errors with sent = true), and that peak memory
# does not grow with the number of invocations.
#   FC_SOAK_INVOCATIONS (default 10000), FC_SOAK_CONCURRENCY (16),
#   FC_SOAK_SEED (7), FC_SOAK_RATE (0.05: the share of requests given a fault)
FCRUN=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
FAULTS=$here/../faults
N=${FC_SOAK_INVOCATIONS:-10000}
C=${FC_SOAK_CONCURRENCY:-16}
SEED=${FC_SOAK_SEED:-7}
RATE=${FC_SOAK_RATE:-0.05}

export FC_SOAK_RUNS=$WORK/runs
: >"$FC_SOAK_RUNS"
start_emulator "$FAULTS/functions"
emu=$ENDPOINT
: >"$WORK/proxy.log"
timeout 3000 python3 "$FAULTS/server.py" --log "$WORK/proxy.log" --lifetime 3000 \
  --upstream "${emu##*:}" --seed "$SEED" --rate "$RATE" >"$WORK/proxy.out" 2>&1 &
PROXY_PID=$!
trap 'kill $PROXY_PID 2>/dev/null; cleanup' EXIT
ENDPOINT=$(listening_url "$WORK/proxy.out" "the fault proxy") || exit 1

t0=$(date +%s.%N)
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=8" \
  ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
  timeout 3000 "$FCRUN" --endpoint "$ENDPOINT" "$FAULTS/soak.lua" "$N" "$C" "$WORK/outcomes" \
  >"$WORK/soak.out" 2>"$WORK/soak.err"
rc=$?
secs=$(echo "$(date +%s.%N) - $t0" | bc)
cat "$WORK/soak.out"
expect_eq "the soak script ran to its end" "$rc" "0"
[ "$rc" = 0 ] || head -n 20 "$WORK/soak.err"

# Outcomes: one per invocation, each id once.
expect_eq "one outcome per invocation" "$(wc -l <"$WORK/outcomes")" "$N"
expect_eq "no invocation has two outcomes" "$(cut -d' ' -f1 "$WORK/outcomes" | sort | uniq -d | wc -l)" "0"
count() { grep -c " $1\$" "$WORK/outcomes"; }
ok_n=$(count ok); unknown_n=$(count unknown); service_n=$(count service); notsent_n=$(count notsent)
expect_eq "no wrong answers" "$(count wrong)" "0"

# Runs: the function's own count.
runs=$(wc -l <"$FC_SOAK_RUNS")
expect_eq "no invocation ran twice" "$(sort "$FC_SOAK_RUNS" | uniq -d | wc -l)" "0"
sort "$FC_SOAK_RUNS" >"$WORK/runs.sorted"
grep ' ok$' "$WORK/outcomes" | cut -d' ' -f1 | sort >"$WORK/ok.sorted"
grep -E ' (ok|unknown)$' "$WORK/outcomes" | cut -d' ' -f1 | sort >"$WORK/maybe.sorted"
expect_eq "every success ran" "$(comm -23 "$WORK/ok.sorted" "$WORK/runs.sorted" | wc -l)" "0"
expect_eq "nothing ran but successes and unknown outcomes" \
  "$(comm -23 "$WORK/runs.sorted" "$WORK/maybe.sorted" | wc -l)" "0"
if [ "$ok_n" -le "$runs" ] && [ "$runs" -le $((ok_n + unknown_n)) ]; then
  ok "runs $runs between successes $ok_n and successes + unknown $((ok_n + unknown_n))"
else
  fail "runs between successes and successes + unknown" "runs $runs, ok $ok_n, unknown $unknown_n"
fi

# Faults injected, by kind (the proxy's log).
faults=$(grep '^PROXY ' "$WORK/proxy.log" | grep -vc '^PROXY pass ')
by_kind=$(grep '^PROXY ' "$WORK/proxy.log" | cut -d' ' -f2 | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
if [ "$faults" -gt 0 ]; then ok "faults injected: $faults ($by_kind)"; else fail "faults injected" "none"; fi

# Memory: the peak at the end is the peak at a fifth of the run, give or take 8 MB.
read -r _ early final < <(grep '^peak_kb ' "$WORK/soak.out")
if [ -n "$early" ] && [ "$final" -le $((early + 8192)) ]; then
  ok "peak RSS does not grow: ${early} kB at $((N / 5)), ${final} kB at $N invocations"
else
  fail "peak RSS does not grow" "${early:-?} kB at $((N / 5)), ${final:-?} kB at $N"
fi
echo "soak: $N invocations in ${secs%??????} s, seed $SEED, rate $RATE: ok $ok_n, service $service_n," \
     "unknown $unknown_n, notsent $notsent_n; runs $runs; faults $faults ($by_kind)"
finish
