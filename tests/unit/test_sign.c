/*
** The ACS3 signer, step by step, against the vectors of FC-PROTOCOL.md §2:
** TV-1 (official), TV-2 (openapi-util unit tests, Go and Python rows),
** TV-3 (encodings), TV-5 and TV-6 (FC 3.0 requests).
*/
#include "sign.h"
#include "test.h"

#define EMPTY_HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SM3_TEST "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23"

static void tv1_official(void) {
  fc_kv q[] = {{"RegionId", "cn-shanghai"},
               {"ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"}};
  fc_kv h[] = {{"host", "ecs.cn-shanghai.aliyuncs.com"},
               {"x-acs-action", "RunInstances"},
               {"x-acs-version", "2014-05-26"},
               {"x-acs-date", "2023-10-26T10:22:32Z"},
               {"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"},
               {"x-acs-content-sha256", EMPTY_HASH},
               {"user-agent", "not signed"}};
  fc_sign_input in = {"POST", "/", q, 2, h, 7, NULL, EMPTY_HASH,
                      "YourAccessKeyId", "YourAccessKeySecret"};
  fc_signature s;
  fc_signature_init(&s);
  CHECK(fc_sign(&s, &in) == FC_OK);
  CHECK_STR(fc_buf_str(&s.canonical_request),
            "POST\n/\n"
            "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
            "host:ecs.cn-shanghai.aliyuncs.com\n"
            "x-acs-action:RunInstances\n"
            "x-acs-content-sha256:" EMPTY_HASH "\n"
            "x-acs-date:2023-10-26T10:22:32Z\n"
            "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
            "x-acs-version:2014-05-26\n\n"
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n"
            EMPTY_HASH);
  CHECK_STR(fc_buf_str(&s.string_to_sign),
            "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
  CHECK_STR(s.signature, "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
  CHECK_STR(fc_buf_str(&s.authorization),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
            "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
            "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
  fc_signature_free(&s);
}

/* TV-2: query {test=ok, empty=""}, headers x-acs-test=http and x-acs-TEST=https. */
static void tv2(const char *method, const char *want_canon, const char *want_auth) {
  fc_kv q[] = {{"test", "ok"}, {"empty", ""}};
  fc_kv h[] = {{"x-acs-test", "http"}, {"x-acs-TEST", "https"}};
  fc_sign_input in = {method, "", q, 2, h, 2, NULL, SM3_TEST, "acesskey", "secret"};
  fc_signature s;
  fc_signature_init(&s);
  CHECK(fc_sign(&s, &in) == FC_OK);
  CHECK_STR(fc_buf_str(&s.canonical_request), want_canon);
  CHECK_STR(fc_buf_str(&s.authorization), want_auth);
  fc_signature_free(&s);
}

static void tv2_go(void) {
  tv2("", "\n/\nempty=&test=ok\nx-acs-test:http,https\n\nx-acs-test\n" SM3_TEST,
      "ACS3-HMAC-SHA256 Credential=acesskey,SignedHeaders=x-acs-test,"
      "Signature=4ab59fffe3c5738ff8a2729f90cc04fe18b02a4b15b2102cbaf92f9ff3df2ea3");
}

static void tv2_python(void) {
  tv2("GET", "GET\n/\nempty=&test=ok\nx-acs-test:http,https\n\nx-acs-test\n" SM3_TEST,
      "ACS3-HMAC-SHA256 Credential=acesskey,SignedHeaders=x-acs-test,"
      "Signature=d16b30a7699ae9e43875b13195b2f81bcc3ed10c14a9b5eb780e51619aa50be1");
}

static const char *cq(const fc_kv *q, size_t n) {
  static fc_buf b = FC_BUF_INIT(4096);
  fc_buf_reset(&b);
  return fc_sign_canonical_query(&b, q, n) ? "error" : fc_buf_str(&b);
}

static void tv3_canonical_query(void) {
  fc_kv a[] = {{"test", " ~/*-+"}};
  CHECK_STR(cq(a, 1), "test=%20~%2F%2A-%2B");
  fc_kv b[] = {{"b", "x y"}, {"a", "\xe4\xb8\xad\xe6\x96\x87"}, {"c", ""}};
  CHECK_STR(cq(b, 3), "a=%E4%B8%AD%E6%96%87&b=x%20y&c=");
  fc_kv c[] = {{"k", "2"}, {"k", "1"}, {"K", "0"}}; /* byte order; repeated names by value */
  CHECK_STR(cq(c, 3), "K=0&k=1&k=2");
  CHECK_STR(cq(NULL, 0), "");
}

static void canonical_uri(void) {
  fc_buf b = FC_BUF_INIT(256);
  CHECK(fc_sign_canonical_uri(&b, "") == FC_OK);
  CHECK_STR(fc_buf_str(&b), "/");
  fc_buf_reset(&b);
  CHECK(fc_sign_canonical_uri(&b, "/2023-03-30/functions/a b*/invocations") == FC_OK);
  CHECK_STR(fc_buf_str(&b), "/2023-03-30/functions/a%20b%2A/invocations");
  fc_buf_free(&b);
}

static void canonical_headers_trim_and_select(void) {
  fc_kv h[] = {{"Host", " example.com "},  {"Content-Type", "application/json"},
               {"X-Acs-B", "2"},            {"x-acs-a", "\t1 "},
               {"x-fc-log-type", "Tail"},   {"Accept", "application/json"}};
  fc_buf c = FC_BUF_INIT(1024), n = FC_BUF_INIT(1024);
  CHECK(fc_sign_canonical_headers(&c, &n, h, 6, NULL) == FC_OK);
  CHECK_STR(fc_buf_str(&c),
            "content-type:application/json\nhost:example.com\nx-acs-a:1\nx-acs-b:2\n");
  CHECK_STR(fc_buf_str(&n), "content-type;host;x-acs-a;x-acs-b");
  /* a server signs exactly the names the client listed */
  fc_buf_reset(&c);
  fc_buf_reset(&n);
  CHECK(fc_sign_canonical_headers(&c, &n, h, 6, "host;x-fc-log-type") == FC_OK);
  CHECK_STR(fc_buf_str(&c), "host:example.com\nx-fc-log-type:Tail\n");
  CHECK_STR(fc_buf_str(&n), "host;x-fc-log-type");
  fc_buf_free(&c);
  fc_buf_free(&n);
}

static void tv5_invoke_function(void) {
  fc_kv q[] = {{"qualifier", "LATEST"}};
  fc_kv h[] = {{"host", "1234567890123456.cn-hangzhou.fc.aliyuncs.com"},
               {"x-acs-action", "InvokeFunction"},
               {"x-acs-version", "2023-03-30"},
               {"x-acs-date", "2023-10-26T10:22:32Z"},
               {"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"},
               {"content-type", "application/octet-stream"},
               {"x-acs-content-sha256", "e43abcf3375244839c012f9633f95862d232a95b00d5bc7348b3098b9fed7f32"},
               {"x-fc-invocation-type", "Sync"},
               {"x-fc-log-type", "Tail"},
               {"user-agent", "fcrun"},
               {"accept", "application/json"}};
  fc_sign_input in = {"POST", "/2023-03-30/functions/my-func/invocations", q, 1, h, 11, NULL,
                      "e43abcf3375244839c012f9633f95862d232a95b00d5bc7348b3098b9fed7f32",
                      "YourAccessKeyId", "YourAccessKeySecret"};
  fc_signature s;
  fc_signature_init(&s);
  CHECK(fc_sign(&s, &in) == FC_OK);
  CHECK_STR(fc_buf_str(&s.string_to_sign),
            "ACS3-HMAC-SHA256\n9aa709d4d057b914f1fd9a0a30c7b43c5d0400f4fe5ba7aeb81ed0d22bc546c7");
  CHECK_STR(fc_buf_str(&s.authorization),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=content-type;host;"
            "x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
            "Signature=e3b207111fe2887875ac8016271c8877a74dab795208fd5aae2022aecbd02609");
  fc_signature_free(&s);
}

static void tv6_get_async_task_sts(void) {
  fc_kv q[] = {{"qualifier", "prod"}};
  fc_kv h[] = {{"host", "fcv3.cn-hangzhou.aliyuncs.com"},
               {"x-acs-action", "GetAsyncTask"},
               {"x-acs-version", "2023-03-30"},
               {"x-acs-date", "2024-01-01T00:00:00Z"},
               {"x-acs-signature-nonce", "nonce-0001"},
               {"x-acs-security-token", "STS.token.example"},
               {"x-acs-accesskey-id", "STS.akid.example"},
               {"x-acs-content-sha256", EMPTY_HASH}};
  fc_sign_input in = {"GET", "/2023-03-30/functions/my-func/async-tasks/task_1", q, 1, h, 8,
                      NULL, EMPTY_HASH, "STS.akid.example", "sts-secret-example"};
  fc_signature s;
  fc_signature_init(&s);
  CHECK(fc_sign(&s, &in) == FC_OK);
  CHECK_STR(fc_buf_str(&s.canonical_request),
            "GET\n/2023-03-30/functions/my-func/async-tasks/task_1\nqualifier=prod\n"
            "host:fcv3.cn-hangzhou.aliyuncs.com\n"
            "x-acs-accesskey-id:STS.akid.example\n"
            "x-acs-action:GetAsyncTask\n"
            "x-acs-content-sha256:" EMPTY_HASH "\n"
            "x-acs-date:2024-01-01T00:00:00Z\n"
            "x-acs-security-token:STS.token.example\n"
            "x-acs-signature-nonce:nonce-0001\n"
            "x-acs-version:2023-03-30\n\n"
            "host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;"
            "x-acs-security-token;x-acs-signature-nonce;x-acs-version\n" EMPTY_HASH);
  CHECK_STR(fc_buf_str(&s.string_to_sign),
            "ACS3-HMAC-SHA256\nf248640a500698b39cf225840f4239fc4171f54230c439a05db63ff768d7228d");
  CHECK_STR(s.signature, "cf8b58ab248e9bd9556f24bb1c7953e5b8911438ecdbdd656b2840f548a366ff");
  fc_signature_free(&s);
}

static void parse_authorization(void) {
  fc_auth a;
  CHECK(fc_sign_parse_authorization(
            &a, "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host;x-acs-date,Signature=abc") ==
        FC_OK);
  CHECK_STR(a.credential, "ak");
  CHECK_STR(a.signed_headers, "host;x-acs-date");
  CHECK_STR(a.signature, "abc");
  CHECK(fc_sign_parse_authorization(&a, "FC ak:sig") == FC_EINVAL);
  CHECK(fc_sign_parse_authorization(&a, "ACS3-HMAC-SHA256 Credential=ak") == FC_EINVAL);
  CHECK(fc_sign_parse_authorization(&a, NULL) == FC_EINVAL);
}

int main(void) {
  RUN(tv1_official);
  RUN(tv2_go);
  RUN(tv2_python);
  RUN(tv3_canonical_query);
  RUN(canonical_uri);
  RUN(canonical_headers_trim_and_select);
  RUN(tv5_invoke_function);
  RUN(tv6_get_async_task_sts);
  RUN(parse_authorization);
  DONE();
}
