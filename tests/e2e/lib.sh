# lib.sh: shared by the end-to-end tests. Source it after setting FCRUN.
#   start_emulator DIR [extra serve flags]  starts `fcrun serve` on an
#       ephemeral loopback port; sets ENDPOINT, EMU_PID; stopped on exit
#   ok NAME / fail NAME WHY / expect_eq NAME GOT WANT / expect_in NAME TEXT PART
#   finish                                    prints "N passed, N failed"
set -u

: "${FCRUN:?set FCRUN to the fcrun binary}"
PASSED=0
FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fcrun-e2e.XXXXXX")
EMU_PID=""
TLS_FRONT_PID=""
# Under the sanitizers, reports go to files that finish() turns into failures:
# an e2e test often ignores a child's stderr and exit status.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$WORK/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$WORK/sanitizer"
# No test asks the real ECS metadata service (the credential chain's last
# sources): it is a closed loopback port unless a test points it elsewhere.
export FCRUN_ECS_METADATA_ENDPOINT=http://127.0.0.1:9
export TEST_KEY_ID="LTAItestkey0001"
export TEST_KEY_SECRET="s3cr3t-test-secret-value-0001"

cleanup() {
  if [ -n "$TLS_FRONT_PID" ]; then kill "$TLS_FRONT_PID" 2>/dev/null; fi
  if [ -n "$EMU_PID" ]; then kill "$EMU_PID" 2>/dev/null; wait "$EMU_PID" 2>/dev/null; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok   $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1"; printf '  %s\n' "$2" | head -n 40; }

expect_eq() {
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got [$2], want [$3]"; fi
}

expect_in() {
  case "$2" in
    *"$3"*) ok "$1" ;;
    *) fail "$1" "[$3] not found in: $2" ;;
  esac
}

expect_not_in() {
  case "$2" in
    *"$3"*) fail "$1" "[$3] must not appear in: $2" ;;
    *) ok "$1" ;;
  esac
}

# start_emulator DIR [flags...]: waits (at most 10 s) for the listening line.
start_emulator() {
  local dir=$1
  shift
  local log="$WORK/emu.log"
  timeout 600 "$FCRUN" serve --functions "$dir" --port 0 \
    --access-key-id "$TEST_KEY_ID" --access-key-secret "$TEST_KEY_SECRET" "$@" \
    >"$log" 2>&1 &
  EMU_PID=$!
  local i=0
  while [ $i -lt 100 ]; do
    ENDPOINT=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$log" | head -n 1)
    if [ -n "$ENDPOINT" ]; then
      [ -n "${FC_E2E_TLS:-}" ] && tls_front
      return 0
    fi
    kill -0 "$EMU_PID" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
  done
  echo "emulator did not start:"; cat "$log"
  exit 1
}

# tls_front: with FC_E2E_TLS=DIR (see tls.sh: DIR/good.crt, good.key, ca.crt),
# puts a TLS front (tests/faults/server.py --upstream) before the emulator:
# ENDPOINT becomes https://..., trusted through CURL_CA_BUNDLE.
tls_front() {
  local port=${ENDPOINT##*:} out="$WORK/tls-front.out" url="" i=0
  : >"$out"
  timeout 600 python3 "$(dirname "${BASH_SOURCE[0]}")/../faults/server.py" --log "$WORK/tls-front.log" \
    --tls "$FC_E2E_TLS/good.crt" "$FC_E2E_TLS/good.key" --upstream "$port" >"$out" 2>&1 &
  TLS_FRONT_PID=$!
  while [ $i -lt 100 ] && [ -z "$url" ]; do
    url=$(sed -n 's/^listening on \(https:[^ ]*\)$/\1/p' "$out"); sleep 0.1; i=$((i + 1))
  done
  [ -n "$url" ] || { echo "TLS front did not start:"; cat "$out"; exit 1; }
  ENDPOINT=$url
  export CURL_CA_BUNDLE="$FC_E2E_TLS/ca.crt"
  echo "(the emulator over $ENDPOINT)"
}

# listening_url OUTFILE WHAT: waits (at most 10 s) for the "listening on URL"
# line a server writes to OUTFILE and prints the URL; else says WHAT did not
# start and fails (call it as URL=$(listening_url ...) || exit 1).
listening_url() {
  local url=""
  for _ in $(seq 100); do
    url=$(sed -n 's/^listening on \(https\{0,1\}:[^ ]*\)$/\1/p' "$1")
    [ -n "$url" ] && { printf '%s\n' "$url"; return 0; }
    sleep 0.1
  done
  { echo "$2 did not start:"; cat "$1"; } >&2
  return 1
}

# fc ARGS...: fcrun against the emulator with the test keys, bounded in time.
fc() {
  ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
    timeout 60 "$FCRUN" --endpoint "$ENDPOINT" "$@"
}

finish() {
  if [ -n "$EMU_PID" ]; then kill "$EMU_PID" 2>/dev/null; wait "$EMU_PID" 2>/dev/null; EMU_PID=""; fi
  for report in "$WORK"/sanitizer.*; do
    [ -f "$report" ] && fail "sanitizer report $(basename "$report")" "$(head -n 30 "$report")"
  done
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# start_credserver [flags...]: a fresh tests/e2e/credserver.py (stopping the
# last one), keyed with the test keys; sets CS (its URL) and CSLOG (its
# events); what it issued is appended to $WORK/issued. stop_cs stops it.
# A subshell may run its own (the files are named by its process id).
CS_PID=""
stop_cs() { if [ -n "$CS_PID" ]; then kill "$CS_PID" 2>/dev/null; wait "$CS_PID" 2>/dev/null; CS_PID=""; fi; }
start_credserver() {
  stop_cs
  CS_N=$((${CS_N:-0} + 1))
  CSLOG="$WORK/cs-events.$BASHPID.$CS_N"
  local csout="$WORK/cs-out.$BASHPID.$CS_N"
  : >"$CSLOG"
  [ -f "$WORK/oidc-token" ] || echo "oidc-token-one" >"$WORK/oidc-token"
  timeout 300 python3 "$(dirname "${BASH_SOURCE[0]}")/credserver.py" --key-id "$TEST_KEY_ID" \
    --key-secret "$TEST_KEY_SECRET" --oidc-token-file "$WORK/oidc-token" --log "$CSLOG" \
    --issued "$WORK/issued" "$@" >"$csout" 2>&1 &
  CS_PID=$!
  local i=0
  while [ $i -lt 100 ]; do
    CS=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$csout" 2>/dev/null)
    [ -n "$CS" ] && return 0
    sleep 0.1; i=$((i + 1))
  done
  echo "credserver did not start: $(cat "$csout")"; exit 1
}
