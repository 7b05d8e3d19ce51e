#!/usr/bin/env bash
# providers.sh FCRUN: the credential providers that fetch over the network
# (RamRoleArn via STS AssumeRole, OIDC via AssumeRoleWithOIDC, the ECS RAM
# role via the metadata service, a credentials URI), each end to end against
# credserver.py, which checks every signature it receives and plays FC too;
# then refresh across expiries, one refresh shared by concurrent tasks, and a
# failed refresh.
FCRUN=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
trap 'stop_cs; cleanup' EXIT
start_cs() { start_credserver "$@"; }

events() { grep -c "\"event\": \"$1\"" "$CSLOG"; }

home="$WORK/home"
mkdir -p "$home/.aliyun" "$home/.alibabacloud"
echo "oidc-token-one" >"$WORK/oidc-token"
# run [VAR=value...] -- fcrun args: a clean environment (no keys, no profile
# files but those of $home, no metadata service) plus what the test sets.
run() {
  local vars=()
  while [ "$1" != "--" ]; do vars+=("$1"); shift; done
  shift
  env -i PATH="$PATH" HOME="$home" ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
    FCRUN_ECS_METADATA_ENDPOINT=http://127.0.0.1:9 "${vars[@]}" timeout 60 "$FCRUN" --endpoint "$CS" "$@"
}

# ---- RamRoleArn ---------------------------------------------------------------
start_cs
# Expiration times, as the services write them (UTC), against Python's timegm.
out=$(run -- -e 'local p = require("fc.sts").parse_time
  for _, s in ipairs{"2024-02-29T12:34:56Z", "1970-01-01T00:00:00Z", "2000-03-01T00:00:00Z",
                     "2099-12-31T23:59:59Z"} do io.write(p(s), " ") end
  print(p("2024-02-29 12:34:56"))' 2>&1)
expect_eq "Expiration is read as UTC, bad forms refused" "$out" "1709210096 0 951868800 4102444799 nil"

cat >"$home/.aliyun/config.json" <<JSON
{"current": "role", "profiles": [
  {"name": "role", "mode": "RamRoleArn", "access_key_id": "$TEST_KEY_ID", "access_key_secret": "$TEST_KEY_SECRET",
   "ram_role_arn": "acs:ram::123:role/runbook", "ram_session_name": "nightly", "expired_seconds": 1800,
   "policy": "{\"Version\":\"1\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"fc:*\",\"Resource\":\"*\"}]}",
   "external_id": "ext-42", "sts_region": "cn-hangzhou"},
  {"name": "badkey", "mode": "RamRoleArn", "access_key_id": "$TEST_KEY_ID", "access_key_secret": "not-the-secret",
   "ram_role_arn": "acs:ram::123:role/runbook"},
  {"name": "short", "mode": "RamRoleArn", "access_key_id": "$TEST_KEY_ID", "access_key_secret": "$TEST_KEY_SECRET",
   "ram_role_arn": "acs:ram::123:role/runbook", "expired_seconds": 60},
  {"name": "chained", "mode": "ChainableRamRoleArn", "source_profile": "role", "ram_role_arn": "acs:ram::123:role/second"},
  {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "FcrunTestRole"}
]}
JSON
out=$(run ALIBABA_CLOUD_STS_ENDPOINT="$CS" -- invoke echo --payload via-role 2>&1)
expect_eq "RamRoleArn profile: AssumeRole, then FC accepts the STS key" "$out" "via-role"
line=$(grep '"AssumeRole"' "$CSLOG" | head -n 1)
expect_in "AssumeRole is signed by the profile's key" "$line" "\"AccessKeyId\": \"$TEST_KEY_ID\""
expect_in "AssumeRole sends the role ARN" "$line" '"RoleArn": "acs:ram::123:role/runbook"'
expect_in "AssumeRole sends the session name" "$line" '"RoleSessionName": "nightly"'
expect_in "AssumeRole sends the duration" "$line" '"DurationSeconds": "1800"'
expect_in "AssumeRole sends the external id" "$line" '"ExternalId": "ext-42"'
expect_in "AssumeRole sends the policy" "$line" '"Policy": "{\"Version\":\"1\"'
expect_eq "the invocation used the issued key" "$(grep -c '"invoke", "key": "STS.sts-1"' "$CSLOG")" "1"
out=$(run ALIBABA_CLOUD_STS_ENDPOINT="$CS" -- --profile badkey invoke echo 2>&1); rc=$?
expect_eq "a rejected AssumeRole exits 6" "$rc" "6"
expect_in "STS's error is named with the profile" "$out" "profile 'badkey' (RamRoleArn): STS AssumeRole at $CS: SignatureDoesNotMatch (HTTP 400)"
out=$(run ALIBABA_CLOUD_STS_ENDPOINT="$CS" -- --profile short invoke echo 2>&1)
expect_in "a duration under 900 s is refused before sending" "$out" "the session duration is 60 s; STS needs at least 900"
out=$(run ALIBABA_CLOUD_STS_ENDPOINT="$CS" -- --profile chained invoke echo --payload chained 2>&1)
expect_eq "ChainableRamRoleArn: a role assumed with a role's credentials" "$out" "chained"
expect_in "the second AssumeRole is signed by the first role's key" "$(grep 'role/second' "$CSLOG")" '"AccessKeyId": "STS.sts-'
out=$(run ALIBABA_CLOUD_STS_ENDPOINT=http://127.0.0.1:9 -- invoke echo 2>&1)
expect_in "ALIBABA_CLOUD_STS_ENDPOINT points STS elsewhere" "$out" "STS AssumeRole at http://127.0.0.1:9: connect error"
out=$(run -- -e 'local sts = require "fc.sts"
  print(sts.endpoint{sts_region = "cn-hangzhou"}, sts.endpoint{sts_region = "cn-beijing", enable_vpc = true},
        sts.endpoint{}, sts.endpoint{sts_endpoint = "sts.example.com"})' 2>&1)
expect_eq "STS endpoints: regional, VPC, global, the profile's" "$out" \
  "https://sts.cn-hangzhou.aliyuncs.com	https://sts-vpc.cn-beijing.aliyuncs.com	https://sts.aliyuncs.com	https://sts.example.com"

cat >"$home/.alibabacloud/credentials" <<INI
[default]
type = ram_role_arn
access_key_id = $TEST_KEY_ID
access_key_secret = $TEST_KEY_SECRET
role_arn = acs:ram::123:role/from-ini
role_session_name = ini-session
INI
out=$(run ALIBABA_CLOUD_STS_ENDPOINT="$CS" ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true -- invoke echo --payload ini 2>&1)
expect_eq "INI ram_role_arn profile" "$out" "ini"
expect_in "INI role and session name reach STS" "$(grep 'from-ini' "$CSLOG")" '"RoleSessionName": "ini-session"'
rm "$home/.alibabacloud/credentials"

# ---- OIDC -----------------------------------------------------------------------
OIDC=(ALIBABA_CLOUD_ROLE_ARN=acs:ram::123:role/pod ALIBABA_CLOUD_OIDC_PROVIDER_ARN=acs:ram::123:oidc-provider/ack
      ALIBABA_CLOUD_OIDC_TOKEN_FILE="$WORK/oidc-token" ALIBABA_CLOUD_STS_ENDPOINT=@CS@ ALIBABA_CLOUD_ROLE_SESSION_NAME=pod-1)
out=$(run "${OIDC[@]//@CS@/$CS}" -- invoke echo --payload via-oidc 2>&1)
expect_eq "OIDC from the environment, before the profile files" "$out" "via-oidc"
line=$(grep '"AssumeRoleWithOIDC"' "$CSLOG" | head -n 1)
expect_in "AssumeRoleWithOIDC sends the provider ARN" "$line" '"OIDCProviderArn": "acs:ram::123:oidc-provider/ack"'
expect_in "ALIBABA_CLOUD_ROLE_SESSION_NAME names the session" "$line" '"RoleSessionName": "pod-1"'
out=$(run ALIBABA_CLOUD_ROLE_ARN=x -- --profile nobody invoke echo 2>&1)
expect_in "OIDC needs all three variables, and says so" "$out" "ALIBABA_CLOUD_OIDC_TOKEN_FILE must all be set"

cat >"$WORK/oidc.json" <<JSON
{"current": "pod", "profiles": [{"name": "pod", "mode": "OIDC", "ram_role_arn": "acs:ram::123:role/cli-pod",
  "oidc_provider_arn": "acs:ram::123:oidc-provider/ack", "oidc_token_file": "$WORK/oidc-token",
  "ram_session_name": "cli-pod-session"}]}
JSON
out=$(run ALIBABA_CLOUD_CONFIG_FILE="$WORK/oidc.json" ALIBABA_CLOUD_STS_ENDPOINT="$CS" -- invoke echo --payload cli-oidc 2>&1)
expect_eq "CLI profile mode OIDC" "$out" "cli-oidc"
expect_in "the profile's role and session reach STS" "$(grep 'cli-pod' "$CSLOG")" '"RoleSessionName": "cli-pod-session"'

# ---- ECS RAM role -----------------------------------------------------------------
out=$(run FCRUN_ECS_METADATA_ENDPOINT="$CS" -- --profile ecs invoke echo --payload ecs-profile 2>&1)
expect_eq "CLI profile mode EcsRamRole" "$out" "ecs-profile"
expect_in "the profile's role name is used" "$(grep imds-credentials "$CSLOG")" '"role": "FcrunTestRole"'
rm "$home/.aliyun/config.json"
: >"$CSLOG"
out=$(run FCRUN_ECS_METADATA_ENDPOINT="$CS" -- invoke echo --payload via-ecs 2>&1)
expect_eq "ECS RAM role, discovered through IMDSv2" "$out" "via-ecs"
expect_eq "the role name was asked with a session token" "$(grep -c '"imds-role-name", "v2": true' "$CSLOG")" "1"
expect_eq "the credentials were asked with a session token" "$(grep -c '"imds-credentials", "role": "FcrunTestRole", "v2": true' "$CSLOG")" "1"
: >"$CSLOG"
out=$(run FCRUN_ECS_METADATA_ENDPOINT="$CS" ALIBABA_CLOUD_ECS_METADATA=FcrunTestRole -- invoke echo --payload named 2>&1)
expect_eq "ALIBABA_CLOUD_ECS_METADATA names the role" "$out" "named"
expect_eq "a named role is not asked for" "$(events imds-role-name)" "0"
out=$(run FCRUN_ECS_METADATA_ENDPOINT="$CS" ALIBABA_CLOUD_ECS_METADATA=OtherRole -- invoke echo 2>&1)
expect_in "an unknown role is named" "$out" "role 'OtherRole': HTTP 404"
out=$(run FCRUN_ECS_METADATA_ENDPOINT="$CS" ALIBABA_CLOUD_ECS_METADATA_DISABLED=true -- invoke echo 2>&1)
expect_in "ALIBABA_CLOUD_ECS_METADATA_DISABLED skips the metadata service" "$out" "ECS RAM role: ALIBABA_CLOUD_ECS_METADATA_DISABLED=true"
start_cs --imds v1
out=$(run FCRUN_ECS_METADATA_ENDPOINT="$CS" -- invoke echo --payload v1 2>&1)
expect_eq "without IMDSv2, IMDSv1 serves" "$out" "v1"
out=$(run FCRUN_ECS_METADATA_ENDPOINT="$CS" ALIBABA_CLOUD_IMDSV1_DISABLED=true -- invoke echo 2>&1)
expect_in "ALIBABA_CLOUD_IMDSV1_DISABLED refuses IMDSv1" "$out" "no IMDSv2 session token (HTTP 404) and IMDSv1 is disabled"

# ---- credentials URI ---------------------------------------------------------------
start_cs
out=$(run ALIBABA_CLOUD_CREDENTIALS_URI="$CS/uri?token=uri-query-token-SECRET" -- invoke echo --payload via-uri 2>&1)
expect_eq "ALIBABA_CLOUD_CREDENTIALS_URI" "$out" "via-uri"
out=$(run ALIBABA_CLOUD_CREDENTIALS_URI="$CS/uri?token=wrong-query-token-SECRET" -- invoke echo 2>&1)
expect_in "a failing URI is named without its query" "$out" "credentials URI $CS/uri: HTTP 403"
expect_not_in "the URI's query never appears" "$out" "wrong-query-token-SECRET"
echo "{\"current\": \"uri\", \"profiles\": [{\"name\": \"uri\", \"mode\": \"CredentialsURI\", \"credentials_uri\": \"$CS/uri?token=uri-query-token-SECRET\"}]}" \
  >"$home/.aliyun/config.json"
out=$(run -- invoke echo --payload profile-uri 2>&1)
expect_eq "CLI profile mode CredentialsURI" "$out" "profile-uri"
rm "$home/.aliyun/config.json"

# ---- no source serves ---------------------------------------------------------------
out=$(run ALIBABA_CLOUD_CREDENTIALS_URI=http://127.0.0.1:9/creds -- invoke echo 2>&1); rc=$?
expect_eq "no source serves: exit 6" "$rc" "6"
for part in "options: none given" "environment: ALIBABA_CLOUD_ACCESS_KEY_ID is not set" \
    "OIDC: ALIBABA_CLOUD_OIDC_TOKEN_FILE is not set" "$home/.aliyun/config.json: no such file" \
    "$home/.alibabacloud/credentials: no such file" "ECS RAM role: ECS metadata service at http://127.0.0.1:9: connect error" \
    "credentials URI http://127.0.0.1:9/creds: connect error"; do
  expect_in "the error lists: $part" "$out" "$part"
done

# ---- refresh ------------------------------------------------------------------------
# TASKS tasks invoke for SECONDS; prints invocations, distinct keys used.
cat >"$WORK/refresh.lua" <<'LUA'
local fc = require "fc"
local seconds, ntasks = tonumber(arg[1]), tonumber(arg[2])
local stop, keys, n, k = os.time() + seconds, {}, 0, 0
local function worker()
  while os.time() < stop do
    local r = fc.invoke("echo", "x")
    keys[r.headers["x-standin-key"]] = true
    n = n + 1
    fc.sleep(0.05)
  end
end
local tasks = {}
for i = 1, ntasks do tasks[i] = fc.spawn(worker) end
for _, t in ipairs(tasks) do fc.wait(t) end
for _ in pairs(keys) do k = k + 1 end
print(n, k)
LUA
# check_refresh NAME ISSUE_EVENT VARS...: 6 tasks for 6 s with credentials
# that live 4 s (so refreshed every 2 s); @CS@ in VARS is the stand-in's URL.
check_refresh() {
  local name=$1 ev=$2
  shift 2
  start_cs --lifetime 4
  local vars=("${@//@CS@/$CS}") out n keys issues
  out=$(run "${vars[@]}" -- "$WORK/refresh.lua" 6 6 2>&1)
  n=${out%%	*}; keys=${out##*	}
  issues=$(events "$ev")
  if [ "$n" -ge 30 ] 2>/dev/null && [ "$keys" -ge 3 ] && [ "$issues" = "$keys" ] && [ "$issues" -le 5 ] &&
     [ "$(events fc-reject)" = 0 ]; then
    ok "$name: $n invocations by 6 tasks over 6 s, $issues fetches, every request signed with live keys"
  else
    fail "$name refreshes once per expiry, shared by the tasks" "output [$out], $issues fetches; $(grep -v '"invoke"' "$CSLOG" | tail -n 5)"
  fi
}
cat >"$WORK/role.json" <<JSON
{"current": "role", "profiles": [{"name": "role", "mode": "RamRoleArn", "access_key_id": "$TEST_KEY_ID",
  "access_key_secret": "$TEST_KEY_SECRET", "ram_role_arn": "acs:ram::123:role/runbook"}]}
JSON
# The four run at once, each in a subshell with its own stand-in; their
# ok/FAIL lines are counted here.
( check_refresh "RamRoleArn refresh" AssumeRole ALIBABA_CLOUD_CONFIG_FILE="$WORK/role.json" \
    ALIBABA_CLOUD_STS_ENDPOINT=@CS@; stop_cs ) >"$WORK/refresh.1" 2>&1 &
pids=($!)
( check_refresh "ECS RAM role refresh" imds-credentials FCRUN_ECS_METADATA_ENDPOINT=@CS@; stop_cs ) \
  >"$WORK/refresh.2" 2>&1 &
pids+=($!)
( check_refresh "credentials URI refresh" uri ALIBABA_CLOUD_CREDENTIALS_URI="@CS@/uri?token=uri-query-token-SECRET"
  stop_cs ) >"$WORK/refresh.3" 2>&1 &
pids+=($!)
# OIDC: the token file changes between refreshes; the stand-in takes only the current one.
( (sleep 3; echo "oidc-token-two" >"$WORK/oidc-token.new"; mv "$WORK/oidc-token.new" "$WORK/oidc-token") &
  rotate=$!
  check_refresh "OIDC refresh, token file re-read" AssumeRoleWithOIDC "${OIDC[@]}"
  wait "$rotate"
  expect_in "a refresh sent the new OIDC token" "$(grep AssumeRoleWithOIDC "$CSLOG" | tail -n 1)" '"token": "-two"'
  stop_cs ) >"$WORK/refresh.4" 2>&1 &
pids+=($!)
wait "${pids[@]}"
for f in "$WORK"/refresh.[1-4]; do
  cat "$f"
  PASSED=$((PASSED + $(grep -c '^ok ' "$f")))
  FAILED=$((FAILED + $(grep -c '^FAIL ' "$f")))
done

# A failed refresh: the current credentials serve until they expire, a
# warning says so once, then the error says why.
start_cs --lifetime 4 --fail-after 1
out=$(run ALIBABA_CLOUD_CONFIG_FILE="$WORK/role.json" ALIBABA_CLOUD_STS_ENDPOINT="$CS" -- -e '
  local fc = require "fc"
  local ok = 0
  local function worker()
    for _ = 1, 20 do if fc.invoke("echo", "x").ok then ok = ok + 1 end fc.sleep(0.1) end
  end
  local a, b, c = fc.spawn(worker), fc.spawn(worker), fc.spawn(worker)
  fc.wait(a) fc.wait(b) fc.wait(c)
  print("served", ok)
  fc.sleep(3)
  fc.invoke("echo", "late")' 2>&1); rc=$?
expect_in "the current credentials serve while the refresh fails" "$out" "served	60"
expect_eq "the failure is reported once" "$(grep -c 'refreshing the credentials from' <<<"$out")" "1"
expect_in "the warning names the source and the cause" "$out" "refreshing the credentials from $WORK/role.json: profile 'role' (RamRoleArn) failed (STS AssumeRole at $CS: ServiceUnavailable (HTTP 503)"
expect_in "past expiry, the error says why" "$out" "expired at"
expect_in "past expiry, the error names the refresh failure" "$out" "and refreshing them failed: STS AssumeRole"
expect_eq "past expiry, the script fails as a configuration error" "$rc" "6"
expect_eq "no request went out with expired credentials" "$(events fc-reject)" "0"

stop_cs
finish
