#!/usr/bin/env bash
# credentials.sh FCRUN: where credentials come from: options, environment,
# the aliyun CLI's config.json (AK and StsToken), the credentials INI file,
# and the error that lists every source when none has a key pair.
FCRUN=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
start_emulator "$here/functions"

home="$WORK/home"
mkdir -p "$home/.aliyun" "$home/.alibabacloud"
clean() { env -u ALIBABA_CLOUD_ACCESS_KEY_ID -u ALIBABA_CLOUD_ACCESS_KEY_SECRET \
  -u ALIBABA_CLOUD_SECURITY_TOKEN -u ALIBABA_CLOUD_PROFILE -u ALIBABA_CLOUD_CONFIG_FILE \
  -u ALIBABA_CLOUD_CREDENTIALS_FILE -u ALIBABA_CLOUD_ROLE_ARN -u ALIBABA_CLOUD_OIDC_PROVIDER_ARN \
  -u ALIBABA_CLOUD_OIDC_TOKEN_FILE -u ALIBABA_CLOUD_CREDENTIALS_URI -u ALIBABA_CLOUD_ECS_METADATA \
  FCRUN_ECS_METADATA_ENDPOINT=http://127.0.0.1:9 HOME="$home" "$@"; }
invoke() { clean timeout 30 "$FCRUN" --endpoint "$ENDPOINT" "$@" invoke echo --payload ok; }

out=$(clean ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
      timeout 30 "$FCRUN" --endpoint "$ENDPOINT" invoke echo --payload ok 2>&1)
expect_eq "environment variables" "$out" "ok"

out=$(invoke 2>&1); rc=$?
expect_eq "no source at all exits 6" "$rc" "6"
expect_in "the error lists the options" "$out" "options: none given"
expect_in "the error lists the environment" "$out" "environment: ALIBABA_CLOUD_ACCESS_KEY_ID is not set"
expect_in "the error lists the CLI file" "$out" "$home/.aliyun/config.json: no such file"
expect_in "the error lists the INI file" "$out" "$home/.alibabacloud/credentials: no such file"

cat >"$home/.alibabacloud/credentials" <<INI
[default]
enable = true
type = access_key
access_key_id = $TEST_KEY_ID
access_key_secret = $TEST_KEY_SECRET

[rsa]
type = rsa_key_pair
public_key_id = x
INI
expect_eq "INI credentials file, default profile" "$(invoke 2>&1)" "ok"
out=$(invoke --profile rsa 2>&1)
expect_in "unsupported INI type is named" "$out" "profile 'rsa' has type rsa_key_pair, which fcrun does not support"

cat >"$home/.aliyun/config.json" <<JSON
{"current": "main", "profiles": [
  {"name": "main", "mode": "AK", "access_key_id": "$TEST_KEY_ID", "access_key_secret": "$TEST_KEY_SECRET", "region_id": "cn-hangzhou"},
  {"name": "wrong", "mode": "AK", "access_key_id": "$TEST_KEY_ID", "access_key_secret": "not-it"},
  {"name": "sts", "mode": "StsToken", "access_key_id": "STS.key", "access_key_secret": "x", "sts_token": "tok-123"},
  {"name": "role", "mode": "RsaKeyPair", "access_key_id": "a", "access_key_secret": "b"}
]}
JSON
expect_eq "CLI config.json, current profile" "$(invoke 2>&1)" "ok"
out=$(invoke --profile wrong 2>&1)
expect_in "--profile selects a CLI profile" "$out" "SignatureNotMatch"
out=$(clean ALIBABA_CLOUD_PROFILE=wrong timeout 30 "$FCRUN" --endpoint "$ENDPOINT" invoke echo 2>&1)
expect_in "ALIBABA_CLOUD_PROFILE selects a CLI profile" "$out" "SignatureNotMatch"
out=$(invoke --profile role 2>&1)
expect_in "unsupported CLI mode is named" "$out" "profile 'role' has mode RsaKeyPair, which fcrun does not support"
out=$(clean timeout 30 "$FCRUN" --endpoint "$ENDPOINT" --profile sts --dry-run invoke echo 2>&1)
expect_in "StsToken profile sends the token (redacted)" "$out" "x-acs-security-token: <redacted>"
expect_in "StsToken profile sends x-acs-accesskey-id" "$out" "x-acs-accesskey-id: STS.key"
expect_not_in "the token itself is never printed" "$out" "tok-123"
out=$(invoke --profile nobody 2>&1)
expect_in "a missing profile is named in both files" "$out" "no profile 'nobody'"

out=$(clean ALIBABA_CLOUD_ACCESS_KEY_ID=$TEST_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$TEST_KEY_SECRET \
      timeout 30 "$FCRUN" --endpoint "$ENDPOINT" --profile wrong invoke echo --payload env 2>&1)
expect_eq "the environment wins over profile files" "$out" "env"

out=$(clean timeout 30 "$FCRUN" --endpoint "$ENDPOINT" -e '
  local c = require("fc").client{access_key_id = "only-the-id", profile = "role"}
  io.write(c:invoke("echo", "explicit").body)' 2>&1)
expect_in "explicit options need both id and secret" "$out" "options: access_key_id and access_key_secret must be given together"
out=$(clean K=$TEST_KEY_ID S=$TEST_KEY_SECRET timeout 30 "$FCRUN" --endpoint "$ENDPOINT" -e '
  local c = require("fc").client{access_key_id = os.getenv("K"), access_key_secret = os.getenv("S"),
                                 profile = "wrong"}
  io.write(c:invoke("echo", "explicit").body)' 2>&1)
expect_eq "explicit options win over everything" "$out" "explicit"

out=$(clean timeout 30 "$FCRUN" invoke echo 2>&1)
expect_in "account endpoint needs an account id" "$out" "the account id is missing"
out=$(clean timeout 30 "$FCRUN" --dry-run --account-id 123456 invoke echo 2>&1)
expect_in "the CLI profile's region builds the account endpoint" "$out" "https://123456.cn-hangzhou.fc.aliyuncs.com/2023-03-30/functions/echo/invocations"

finish
