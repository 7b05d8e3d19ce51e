/*
** The emulator's request verification (src/emu/verify.c) against requests
** signed with fcrun's own signer, the TV-5 vector of FC-PROTOCOL.md §2, and
** every refusal code of FC-PROTOCOL.md §11.1.
*/
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "encode.h"
#include "sign.h"
#include "test.h"
#include "verify.h"

#define ID "testid"
#define SECRET "testsecret"
#define DATE "2023-10-26T10:22:32Z"
#define T0 1698315752 /* DATE as a unix time */

/* A signed request under construction: headers owned in fixed storage. */
typedef struct req {
  char names[24][64];
  char values[24][512];
  fc_kv h[24];
  size_t nh;
  fc_kv q[8];
  size_t nq;
  const char *method, *path;
  const char *body;
  size_t bodylen;
} req;

static void set(req *r, const char *name, const char *value) {
  for (size_t i = 0; i < r->nh; i++)
    if (strcmp(r->names[i], name) == 0) {
      snprintf(r->values[i], sizeof r->values[i], "%s", value);
      return;
    }
  snprintf(r->names[r->nh], sizeof r->names[0], "%s", name);
  snprintf(r->values[r->nh], sizeof r->values[0], "%s", value);
  r->nh++;
}

static void drop(req *r, const char *name) {
  for (size_t i = 0; i < r->nh; i++)
    if (strcmp(r->names[i], name) == 0) {
      for (size_t k = i + 1; k < r->nh; k++) {
        memcpy(r->names[k - 1], r->names[k], sizeof r->names[0]);
        memcpy(r->values[k - 1], r->values[k], sizeof r->values[0]);
      }
      r->nh--;
      return;
    }
}

static void hash_hex(char out[65], const void *p, size_t n) {
  unsigned char d[FC_SHA256_LEN];
  fc_sha256(p, n, d);
  fc_hex(out, d, sizeof d);
}

/* A POST invocation like the Go SDK sends, before signing. */
static void base(req *r, const char *body) {
  memset(r, 0, sizeof *r);
  r->method = "POST";
  r->path = "/2023-03-30/functions/my-func/invocations";
  r->body = body;
  r->bodylen = strlen(body);
  r->q[0] = (fc_kv){"qualifier", "LATEST"};
  r->nq = 1;
  char hex[65];
  hash_hex(hex, body, strlen(body));
  set(r, "Host", "127.0.0.1:9000");
  set(r, "x-acs-action", "InvokeFunction");
  set(r, "x-acs-version", "2023-03-30");
  set(r, "x-acs-date", DATE);
  set(r, "x-acs-signature-nonce", "nonce-1");
  set(r, "x-acs-content-sha256", hex);
  set(r, "Content-Type", "application/octet-stream");
  set(r, "User-Agent", "test");
  set(r, "x-fc-log-type", "Tail");
}

static void refresh(req *r) {
  for (size_t i = 0; i < r->nh; i++) r->h[i] = (fc_kv){r->names[i], r->values[i]};
}

/* Adds Authorization, signing what `only` lists (NULL: what FC signs). */
static void sign_with(req *r, const char *id, const char *secret, const char *only) {
  drop(r, "Authorization");
  refresh(r);
  char hex[65];
  hash_hex(hex, r->body, r->bodylen);
  fc_sign_input in = {r->method, r->path, r->q, r->nq, r->h, r->nh, only, hex, id, secret};
  fc_signature s;
  fc_signature_init(&s);
  CHECK(fc_sign(&s, &in) == FC_OK);
  set(r, "Authorization", fc_buf_str(&s.authorization));
  fc_signature_free(&s);
}

static void sign(req *r) { sign_with(r, ID, SECRET, NULL); }

static fc_verify_keys keys = {ID, SECRET, NULL};

/* Runs the check; returns the status (200 when accepted) and fills err. */
static int verify_at(req *r, const fc_verify_keys *k, fc_nonce_store *ns, time_t now,
                     fc_verify_error *err) {
  refresh(r);
  fc_verify_request rq = {r->method, r->path, r->q, r->nq, r->h, r->nh, r->body, r->bodylen};
  memset(err, 0, sizeof *err);
  err->code = "";
  return fc_verify(k, ns, &rq, now, err) == 0 ? 200 : err->status;
}

static int verify(req *r, fc_verify_error *err) { return verify_at(r, &keys, NULL, T0, err); }

static void accepts_signed_request(void) {
  req r;
  fc_verify_error err;
  base(&r, "{\"key\":\"value\"}");
  sign(&r);
  CHECK(verify(&r, &err) == 200);
  /* headers FC does not sign may change in transit */
  set(&r, "User-Agent", "changed");
  set(&r, "x-fc-log-type", "None");
  CHECK(verify(&r, &err) == 200);
}

static void accepts_tv5(void) {
  req r;
  fc_verify_error err;
  base(&r, "{\"key\":\"value\"}");
  set(&r, "Host", "1234567890123456.cn-hangzhou.fc.aliyuncs.com");
  set(&r, "x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d");
  set(&r, "Authorization",
      "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=content-type;host;"
      "x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
      "Signature=e3b207111fe2887875ac8016271c8877a74dab795208fd5aae2022aecbd02609");
  fc_verify_keys k = {"YourAccessKeyId", "YourAccessKeySecret", NULL};
  CHECK(verify_at(&r, &k, NULL, T0, &err) == 200);
  set(&r, "x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703e");
  CHECK(verify_at(&r, &k, NULL, T0, &err) == 403);
  CHECK_STR(err.code, "SignatureNotMatch");
}

static void missing_headers(void) {
  static const char *const names[] = {"Authorization", "x-acs-date", "x-acs-signature-nonce",
                                      "x-acs-content-sha256"};
  for (int i = 0; i < 4; i++) {
    req r;
    fc_verify_error err;
    base(&r, "");
    sign(&r);
    drop(&r, names[i]);
    CHECK(verify(&r, &err) == 400);
    CHECK_STR(err.code, "MissingRequiredHeader");
    CHECK(strstr(err.message, names[i]) != NULL);
  }
}

static void malformed_authorization(void) {
  req r;
  fc_verify_error err;
  base(&r, "");
  sign(&r);
  set(&r, "Authorization", "FC testid:c2lnbmF0dXJl");
  CHECK(verify(&r, &err) == 400);
  CHECK_STR(err.code, "InvalidArgument");
}

static void unknown_key(void) {
  req r;
  fc_verify_error err;
  base(&r, "x");
  sign_with(&r, "otherid", SECRET, NULL);
  CHECK(verify(&r, &err) == 403);
  CHECK_STR(err.code, "InvalidAccessKeyID");
  CHECK(strstr(err.message, "otherid") != NULL);
}

static void wrong_secret(void) {
  req r;
  fc_verify_error err;
  base(&r, "x");
  sign_with(&r, ID, "not-the-secret", NULL);
  CHECK(verify(&r, &err) == 403);
  CHECK_STR(err.code, "SignatureNotMatch");
  CHECK(strstr(err.message, SECRET) == NULL);
}

static void date_window(void) {
  req r;
  fc_verify_error err;
  base(&r, "");
  sign(&r);
  CHECK(verify_at(&r, &keys, NULL, T0 + 14 * 60, &err) == 200);
  CHECK(verify_at(&r, &keys, NULL, T0 - 14 * 60, &err) == 200);
  CHECK(verify_at(&r, &keys, NULL, T0 + 16 * 60, &err) == 403);
  CHECK_STR(err.code, "RequestTimeTooSkewed");
  CHECK(verify_at(&r, &keys, NULL, T0 - 16 * 60, &err) == 403);
  CHECK_STR(err.code, "RequestTimeTooSkewed");
  set(&r, "x-acs-date", "Thu, 26 Oct 2023 10:22:32 GMT");
  sign(&r);
  CHECK(verify(&r, &err) == 400);
  CHECK_STR(err.code, "InvalidArgument");
}

static void parse_date(void) {
  time_t t = 0;
  CHECK(fc_verify_parse_date(DATE, &t) == FC_OK && t == T0);
  CHECK(fc_verify_parse_date("1970-01-01T00:00:00Z", &t) == FC_OK && t == 0);
  CHECK(fc_verify_parse_date("2023-10-26T10:22:32", &t) == FC_EINVAL);
  CHECK(fc_verify_parse_date("2023-13-26T10:22:32Z", &t) == FC_EINVAL);
  CHECK(fc_verify_parse_date("2023-10-26 10:22:32Z", &t) == FC_EINVAL);
  CHECK(fc_verify_parse_date("2023-1a-26T10:22:32Z", &t) == FC_EINVAL);
}

static void nonce_reuse(void) {
  fc_nonce_store *ns;
  CHECK(fc_nonce_store_new(&ns, 1024) == FC_OK);
  req r;
  fc_verify_error err;
  base(&r, "a");
  sign_with(&r, ID, "wrong", NULL); /* refused requests do not burn the nonce */
  CHECK(verify_at(&r, &keys, ns, T0, &err) == 403);
  sign(&r);
  CHECK(verify_at(&r, &keys, ns, T0, &err) == 200);
  CHECK(verify_at(&r, &keys, ns, T0 + 60, &err) == 403);
  CHECK_STR(err.code, "SignatureNonceUsed");
  set(&r, "x-acs-signature-nonce", "nonce-2");
  sign(&r);
  CHECK(verify_at(&r, &keys, ns, T0 + 60, &err) == 200);
  fc_nonce_store_free(ns);
}

static void nonce_store_bounds(void) {
  fc_nonce_store *ns;
  CHECK(fc_nonce_store_new(&ns, 16) == FC_OK);
  char n[80];
  for (int i = 0; i < 16; i++) {
    snprintf(n, sizeof n, "n%d", i);
    CHECK(fc_nonce_store_add(ns, n, 1000, 0) == 0);
  }
  CHECK(fc_nonce_store_add(ns, "n3", 1000, 0) == 1);
  /* full of live nonces: a new one is refused, none is forgotten */
  CHECK(fc_nonce_store_add(ns, "n16", 1000, 0) == FC_NONCE_FULL);
  CHECK(fc_nonce_store_add(ns, "n0", 1000, 0) == 1);
  CHECK(fc_nonce_store_add(ns, "n5", 1000, 0) == 1);
  /* entries that expired out of arrival order make room too */
  CHECK(fc_nonce_store_add(ns, "late", 1000, 999) == FC_NONCE_FULL);
  /* expired entries are pruned and no longer count */
  CHECK(fc_nonce_store_add(ns, "n5", 3000, 2000) == 0);
  /* long nonces are told apart by their whole length */
  memset(n, 'a', 79);
  n[79] = '\0';
  CHECK(fc_nonce_store_add(ns, n, 3000, 2000) == 0);
  n[78] = 'b';
  CHECK(fc_nonce_store_add(ns, n, 3000, 2000) == 0);
  CHECK(fc_nonce_store_add(ns, n, 3000, 2000) == 1);
  fc_nonce_store_free(ns);
}

static void security_token(void) {
  fc_verify_keys k = {ID, SECRET, "the-token"};
  req r;
  fc_verify_error err;
  base(&r, "");
  sign(&r);
  CHECK(verify_at(&r, &k, NULL, T0, &err) == 403);
  CHECK_STR(err.code, "InvalidSecurityToken");
  CHECK(strstr(err.message, "the-token") == NULL);
  set(&r, "x-acs-security-token", "other-token");
  set(&r, "x-acs-accesskey-id", ID);
  sign(&r);
  CHECK(verify_at(&r, &k, NULL, T0, &err) == 403);
  CHECK_STR(err.code, "InvalidSecurityToken");
  set(&r, "x-acs-security-token", "the-token");
  sign(&r);
  CHECK(verify_at(&r, &k, NULL, T0, &err) == 200);
}

static void body_hash(void) {
  req r;
  fc_verify_error err;
  base(&r, "original");
  sign(&r);
  r.body = "tampered";
  CHECK(verify(&r, &err) == 403);
  CHECK_STR(err.code, "SignatureNotMatch");
  /* a hash that matches the body but not the signature */
  char hex[65];
  hash_hex(hex, "tampered", 8);
  set(&r, "x-acs-content-sha256", hex);
  CHECK(verify(&r, &err) == 403);
  CHECK_STR(err.code, "SignatureNotMatch");
}

static void unsigned_acs_header(void) {
  req r;
  fc_verify_error err;
  base(&r, "");
  sign(&r);
  set(&r, "x-acs-credentials-provider", "static_ak"); /* added after signing */
  CHECK(verify(&r, &err) == 403);
  CHECK_STR(err.code, "SignatureNotMatch");
  CHECK(strstr(err.message, "x-acs-credentials-provider") != NULL);
  sign(&r); /* signed like the Node SDK does: accepted */
  CHECK(verify(&r, &err) == 200);
}

static void host_must_be_signed(void) {
  req r;
  fc_verify_error err;
  base(&r, "");
  sign_with(&r, ID, SECRET,
            "x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version");
  CHECK(verify(&r, &err) == 403);
  CHECK_STR(err.code, "SignatureNotMatch");
  CHECK(strstr(err.message, "host") != NULL);
}

/* Python's SDK signs every header; the server signs what was listed. */
static void signs_exactly_what_is_listed(void) {
  req r;
  fc_verify_error err;
  base(&r, "p");
  sign_with(&r, ID, SECRET,
            "content-type;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-date;"
            "x-acs-signature-nonce;x-acs-version;x-fc-log-type");
  CHECK(verify(&r, &err) == 200);
  set(&r, "x-fc-log-type", "None");
  CHECK(verify(&r, &err) == 403);
  CHECK_STR(err.code, "SignatureNotMatch");
  /* content-type is optional in the list */
  base(&r, "p");
  sign_with(&r, ID, SECRET,
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;"
            "x-acs-version");
  CHECK(verify(&r, &err) == 200);
}

static void tampered_path_and_query(void) {
  req r;
  fc_verify_error err;
  base(&r, "");
  r.q[1] = (fc_kv){"note", "a b+c/ö~*!'()"};
  r.nq = 2;
  sign(&r);
  CHECK(verify(&r, &err) == 200); /* decoded values: re-canonicalised by the signer */
  r.q[0].value = "prod";
  CHECK(verify(&r, &err) == 403);
  CHECK_STR(err.code, "SignatureNotMatch");
  r.q[0].value = "LATEST";
  r.path = "/2023-03-30/functions/other/invocations";
  CHECK(verify(&r, &err) == 403);
  r.path = "/2023-03-30/functions/my-func/invocations";
  r.method = "PUT";
  CHECK(verify(&r, &err) == 403);
  r.method = "POST";
  CHECK(verify(&r, &err) == 200);
}

static void empty_body_get(void) {
  req r;
  fc_verify_error err;
  base(&r, "");
  r.method = "GET";
  r.path = "/2023-03-30/functions/my-func/async-tasks/task_1";
  drop(&r, "Content-Type");
  sign(&r);
  CHECK(verify(&r, &err) == 200);
}

int main(void) {
  RUN(accepts_signed_request);
  RUN(accepts_tv5);
  RUN(missing_headers);
  RUN(malformed_authorization);
  RUN(unknown_key);
  RUN(wrong_secret);
  RUN(date_window);
  RUN(parse_date);
  RUN(nonce_reuse);
  RUN(nonce_store_bounds);
  RUN(security_token);
  RUN(body_hash);
  RUN(unsigned_acs_header);
  RUN(host_must_be_signed);
  RUN(signs_exactly_what_is_listed);
  RUN(tampered_path_and_query);
  RUN(empty_body_get);
  DONE();
}
