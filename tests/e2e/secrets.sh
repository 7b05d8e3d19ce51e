#!/usr/bin/env bash
# secrets.sh FCRUN: runs fcrun with a known AccessKey secret and STS token
# through every verbose, dry-run and error path we have, and fails if
# either appears anywhere in what fcrun (client or emulator) printed.
FCRUN=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
TOKEN="sts-token-SECRET-9f8e7d6c5b4a"
start_emulator "$here/functions" --security-token "$TOKEN" -v
all="$WORK/all-output"
: >"$all"

sts() { ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
  ALIBABA_CLOUD_SECURITY_TOKEN=$TOKEN timeout 30 "$FCRUN" "$@" >>"$all" 2>&1; echo "rc=$?" >>"$all"; }

sts -v --endpoint "$ENDPOINT" invoke echo --log --payload ok                 # success
sts -v --endpoint "$ENDPOINT" invoke boom --log --payload x                  # function error
sts -v --endpoint "$ENDPOINT" invoke missing                                 # 404
sts -v --endpoint "$ENDPOINT" invoke echo --async --payload x                # async
sts -v --dry-run --endpoint "$ENDPOINT" invoke echo --payload x              # dry run
sts -v --dry-run --endpoint "$ENDPOINT" -e 'require("fc").request{path = "/2023-03-30/functions", action = "ListFunctions"}'
sts -v --endpoint http://127.0.0.1:9 invoke echo                            # refused
sts -v --endpoint "$ENDPOINT" --timeout 0.3 invoke slow --payload 2       # timeout
sts -v --endpoint "$ENDPOINT" -e 'error(require("fc").client{})'            # script error with a client
sts -v --endpoint "$ENDPOINT" -e 'local fc = require "fc"
  local c = fc.client{access_key_id = os.getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"),
    access_key_secret = os.getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"), security_token = "wrong-token"}
  local ok, e = pcall(c.invoke, c, "echo", "x"); print(e); error(e)'          # 403 on the token
sts -v --endpoint "$ENDPOINT" -e 'local fc = require "fc"
  local s = fc.sign{access_key_id = "a", access_key_secret = os.getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")}
  print(s.authorization, s.canonical_request, s.string_to_sign)'
ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=wrong-$TEST_KEY_SECRET \
  ALIBABA_CLOUD_SECURITY_TOKEN=$TOKEN timeout 30 "$FCRUN" -v --endpoint "$ENDPOINT" invoke echo >>"$all" 2>&1
# --trace and --stats (issue 10): no secret, signature or payload in either.
obs="$WORK/obs-output"
ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
  ALIBABA_CLOUD_SECURITY_TOKEN=$TOKEN timeout 30 "$FCRUN" -v --stats --trace "$WORK/trace" \
  --endpoint "$ENDPOINT" -e 'local fc = require "fc"
    fc.invoke("echo", "PAYLOAD-MARKER-42", {log = true, qualifier = "prod"})
    fc.invoke("boom", "PAYLOAD-MARKER-42")
    pcall(fc.invoke, "missing", "PAYLOAD-MARKER-42")
    fc.invoke("echo", "PAYLOAD-MARKER-42", {async = true})' >"$obs" 2>&1
cat "$WORK/trace" >>"$obs"
expect_eq "the trace has a line per request" "$(wc -l <"$WORK/trace")" "4"
expect_in "the stats summary was printed" "$(cat "$obs")" "fcrun: stats: 4 requests"
for bad in "$TEST_KEY_SECRET" "$TOKEN" "PAYLOAD-MARKER-42" "Signature" "ACS3-HMAC" "authorization"; do
  if grep -qiF -- "$bad" "$obs"; then fail "--trace, --stats and -v hold no $bad" "$(grep -niF -- "$bad" "$obs")"
  else ok "--trace, --stats and -v hold no $bad"; fi
done
cat "$obs" >>"$all"

kill "$EMU_PID"; wait "$EMU_PID" 2>/dev/null; EMU_PID=""
cat "$WORK/emu.log" >>"$all"

lines=$(wc -l <"$all")
if [ "$lines" -gt 40 ]; then ok "the paths produced output ($lines lines)"; else fail "the paths produced output" "$(cat "$all")"; fi
expect_in "the 403 path was taken" "$(cat "$all")" "InvalidSecurityToken"
expect_in "the dry-run path was taken" "$(cat "$all")" "dry run: POST"
expect_in "the emulator logged requests" "$(cat "$all")" "/2023-03-30/functions/echo/invocations"
if grep -qF -- "$TEST_KEY_SECRET" "$all"; then fail "the secret never appears" "$(grep -nF -- "$TEST_KEY_SECRET" "$all")"
else ok "the secret never appears"; fi
if grep -qF -- "$TOKEN" "$all"; then fail "the security token never appears" "$(grep -nF -- "$TOKEN" "$all")"
else ok "the security token never appears"; fi
finish
