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

# The credential providers (credserver.py plays STS, the metadata service, a
# credentials URI and FC): what they fetch and send, through success,
# verbose, dry-run, refresh, failed refresh and error paths.
trap 'stop_cs; cleanup' EXIT
start_credserver --lifetime 4 --fail-after 6
echo "oidc-token-SECRET-5a4b3c2d1e" >"$WORK/oidc-token"
URI_TOKEN="uri-query-token-SECRET"
mkdir -p "$WORK/home/.aliyun"
cat >"$WORK/home/.aliyun/config.json" <<JSON
{"current": "role", "profiles": [{"name": "role", "mode": "RamRoleArn", "access_key_id": "$TEST_KEY_ID",
  "access_key_secret": "$TEST_KEY_SECRET", "ram_role_arn": "acs:ram::1:role/r"},
  {"name": "badkey", "mode": "RamRoleArn", "access_key_id": "$TEST_KEY_ID",
  "access_key_secret": "wrong-$TEST_KEY_SECRET", "ram_role_arn": "acs:ram::1:role/r"}]}
JSON
prov() { env -i PATH="$PATH" HOME="$WORK/home" ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
  ALIBABA_CLOUD_STS_ENDPOINT="$CS" FCRUN_ECS_METADATA_ENDPOINT=http://127.0.0.1:9 "$@" >>"$all" 2>&1
  echo "rc=$?" >>"$all"; }
OIDC="ALIBABA_CLOUD_ROLE_ARN=acs:ram::1:role/pod ALIBABA_CLOUD_OIDC_PROVIDER_ARN=acs:ram::1:oidc-provider/p"
prov timeout 30 "$FCRUN" -v --endpoint "$CS" invoke echo --payload role
prov timeout 30 "$FCRUN" -v --dry-run --endpoint "$CS" invoke echo --payload role
prov timeout 30 "$FCRUN" -v --endpoint "$CS" --profile badkey invoke echo
prov $OIDC ALIBABA_CLOUD_OIDC_TOKEN_FILE="$WORK/oidc-token" timeout 30 "$FCRUN" -v --endpoint "$CS" invoke echo
prov $OIDC ALIBABA_CLOUD_OIDC_TOKEN_FILE="$WORK/oidc-token" ALIBABA_CLOUD_STS_ENDPOINT=http://127.0.0.1:9 \
  timeout 30 "$FCRUN" -v --endpoint "$CS" invoke echo
prov ALIBABA_CLOUD_CONFIG_FILE=/nonexistent FCRUN_ECS_METADATA_ENDPOINT="$CS" timeout 30 "$FCRUN" -v --endpoint "$CS" invoke echo
prov ALIBABA_CLOUD_CONFIG_FILE=/nonexistent ALIBABA_CLOUD_CREDENTIALS_URI="$CS/uri?token=$URI_TOKEN" \
  timeout 30 "$FCRUN" -v --endpoint "$CS" -e 'local fc = require "fc"
  local c = fc.client{}; print(c:invoke("echo", "x").body, c, c.source); error(c)'
prov ALIBABA_CLOUD_CONFIG_FILE=/nonexistent ALIBABA_CLOUD_CREDENTIALS_URI="$CS/uri?token=wrong-$URI_TOKEN" \
  timeout 30 "$FCRUN" -v --endpoint "$CS" invoke echo
# the stand-in has issued 5 by now, and issues one more: every refresh from here on fails
prov timeout 30 "$FCRUN" -v --endpoint "$CS" -e 'local fc = require "fc"
  for _ = 1, 30 do fc.invoke("echo", "x"); fc.sleep(0.2) end'
stop_cs

lines=$(wc -l <"$all")
if [ "$lines" -gt 40 ]; then ok "the paths produced output ($lines lines)"; else fail "the paths produced output" "$(cat "$all")"; fi
expect_in "the 403 path was taken" "$(cat "$all")" "InvalidSecurityToken"
expect_in "the dry-run path was taken" "$(cat "$all")" "dry run: POST"
expect_in "the emulator logged requests" "$(cat "$all")" "/2023-03-30/functions/echo/invocations"
if grep -qF -- "$TEST_KEY_SECRET" "$all"; then fail "the secret never appears" "$(grep -nF -- "$TEST_KEY_SECRET" "$all")"
else ok "the secret never appears"; fi
if grep -qF -- "$TOKEN" "$all"; then fail "the security token never appears" "$(grep -nF -- "$TOKEN" "$all")"
else ok "the security token never appears"; fi
expect_in "the providers' paths were taken" "$(cat "$all")" "refreshing the credentials from"
expect_in "the providers' error paths were taken" "$(cat "$all")" "SignatureDoesNotMatch"
issued=$(grep -c . "$WORK/issued")
if [ "$issued" -ge 6 ]; then ok "the stand-in issued secrets and tokens ($issued)"; else fail "the stand-in issued secrets" "$issued"; fi
for s in "$URI_TOKEN" "oidc-token-SECRET-5a4b3c2d1e" $(cat "$WORK/issued"); do
  if grep -qF -- "$s" "$all"; then fail "a provider's secret or token never appears" "$(grep -nF -- "$s" "$all" | head -n 3)"; fi
done
ok "no secret or token any provider fetched or sent appears"
finish
