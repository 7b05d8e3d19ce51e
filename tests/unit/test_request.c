/*
** Signed requests for the wire (request.c): the FC 3.0 vectors of
** FC-PROTOCOL.md §2 (TV-5, TV-6 with STS) through fc_wire_sign, the date
** and nonce it adds, what it refuses, and the key's STS RPC signature.
*/
#include "request.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define TV5_AUTH                                                                       \
  "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=content-type;host;"       \
  "x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"  \
  "Signature=e3b207111fe2887875ac8016271c8877a74dab795208fd5aae2022aecbd02609"

/* The value of line "name: value" of w, or NULL; counts how many there are. */
static const char *line(const fc_wire *w, const char *name, int *count) {
  const char *found = NULL;
  size_t n = strlen(name);
  *count = 0;
  for (size_t i = 0; i < w->nlines; i++) {
    if (strncmp(w->lines[i], name, n) == 0 && strncmp(w->lines[i] + n, ": ", 2) == 0) {
      found = w->lines[i] + n + 2;
      ++*count;
    }
  }
  return found;
}

static const char *one(const fc_wire *w, const char *name) {
  int count;
  const char *v = line(w, name, &count);
  return count == 1 ? v : "(not exactly one)";
}

static int err;

static void tv5_invoke(void) {
  fc_key *k = fc_key_new("YourAccessKeyId", "YourAccessKeySecret", NULL, &err);
  fc_kv q[] = {{"qualifier", "LATEST"}};
  fc_kv h[] = {{"x-acs-action", "InvokeFunction"},
               {"content-type", "application/octet-stream"},
               {"x-acs-date", "2023-10-26T10:22:32Z"},
               {"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"},
               {"x-fc-invocation-type", "Sync"},
               {"x-fc-log-type", "Tail"},
               {"host", "evil.example"},           /* always ours */
               {"authorization", "made up"}};      /* always ours */
  fc_request r = {"POST", "https", "1234567890123456.cn-hangzhou.fc.aliyuncs.com",
                  "/2023-03-30/functions/my-func/invocations", q, 1, h, 8,
                  "{\"key\":\"value\"}", 15, "2023-03-30", "fcrun-test"};
  fc_wire w;
  fc_wire_init(&w);
  CHECK(k != NULL);
  CHECK(fc_wire_sign(&w, k, &r) == FC_OK);
  CHECK_STR(w.url, "https://1234567890123456.cn-hangzhou.fc.aliyuncs.com"
                   "/2023-03-30/functions/my-func/invocations?qualifier=LATEST");
  CHECK_STR(one(&w, "authorization"), TV5_AUTH);
  CHECK_STR(one(&w, "host"), "1234567890123456.cn-hangzhou.fc.aliyuncs.com");
  CHECK_STR(one(&w, "x-acs-content-sha256"),
            "e43abcf3375244839c012f9633f95862d232a95b00d5bc7348b3098b9fed7f32");
  CHECK_STR(one(&w, "x-fc-log-type"), "Tail");
  CHECK_STR(one(&w, "user-agent"), "fcrun-test");
  CHECK_STR(one(&w, "accept"), "application/json");
  CHECK(w.nlines == 12);
  /* signing again reuses the buffers and gives the same request */
  CHECK(fc_wire_sign(&w, k, &r) == FC_OK);
  CHECK_STR(one(&w, "authorization"), TV5_AUTH);
  fc_wire_free(&w);
  fc_key_free(k);
}

static void tv6_sts(void) {
  fc_key *k = fc_key_new("STS.akid.example", "sts-secret-example", "STS.token.example", &err);
  fc_kv q[] = {{"qualifier", "prod"}};
  fc_kv h[] = {{"x-acs-action", "GetAsyncTask"},
               {"x-acs-date", "2024-01-01T00:00:00Z"},
               {"x-acs-signature-nonce", "nonce-0001"},
               {"x-acs-security-token", "not this one"}};
  fc_request r = {"GET", "http", "fcv3.cn-hangzhou.aliyuncs.com",
                  "/2023-03-30/functions/my-func/async-tasks/task_1", q, 1, h, 4, NULL, 0,
                  "2023-03-30", "fcrun-test"};
  fc_wire w;
  fc_wire_init(&w);
  CHECK(fc_wire_sign(&w, k, &r) == FC_OK);
  CHECK_STR(w.url, "http://fcv3.cn-hangzhou.aliyuncs.com"
                   "/2023-03-30/functions/my-func/async-tasks/task_1?qualifier=prod");
  CHECK_STR(w.sig.signature, "cf8b58ab248e9bd9556f24bb1c7953e5b8911438ecdbdd656b2840f548a366ff");
  CHECK_STR(one(&w, "x-acs-security-token"), "STS.token.example");
  CHECK_STR(one(&w, "x-acs-accesskey-id"), "STS.akid.example");
  CHECK_STR(fc_key_token(k), "STS.token.example");
  CHECK_STR(fc_key_id(k), "STS.akid.example");
  fc_wire_free(&w);
  fc_key_free(k);
}

static int is_hex(const char *s, size_t n) {
  if (strlen(s) != n) return 0;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return 0;
  return 1;
}

/* Date and nonce are ours when not given; the signature covers them. */
static void fresh_date_and_nonce(void) {
  fc_key *k = fc_key_new("id", "secret", NULL, &err);
  fc_kv h[] = {{"x-acs-action", "ListFunctions"}};
  fc_request r = {"GET", "http", "127.0.0.1:9", "/2023-03-30/functions", NULL, 0, h, 1,
                  NULL, 0, "2023-03-30", "ua"};
  fc_wire w;
  fc_wire_init(&w);
  CHECK(fc_wire_sign(&w, k, &r) == FC_OK);
  CHECK_STR(w.url, "http://127.0.0.1:9/2023-03-30/functions");
  const char *date = one(&w, "x-acs-date");
  CHECK(strlen(date) == 20 && date[4] == '-' && date[10] == 'T' && date[19] == 'Z');
  char n1[33], n2[33];
  snprintf(n1, sizeof n1, "%s", one(&w, "x-acs-signature-nonce"));
  CHECK(is_hex(n1, 32));
  CHECK_STR(one(&w, "x-acs-version"), "2023-03-30");
  /* the same request signed by fc_sign with these headers: same signature */
  fc_kv all[] = {{"x-acs-action", "ListFunctions"}, {"host", "127.0.0.1:9"},
                 {"x-acs-content-sha256", one(&w, "x-acs-content-sha256")},
                 {"x-acs-version", "2023-03-30"}, {"x-acs-date", date},
                 {"x-acs-signature-nonce", n1}};
  fc_sign_input in = {"GET", "/2023-03-30/functions", NULL, 0, all, 6, NULL,
                      one(&w, "x-acs-content-sha256"), "id", "secret"};
  fc_signature s;
  fc_signature_init(&s);
  CHECK(fc_sign(&s, &in) == FC_OK);
  CHECK_STR(one(&w, "authorization"), fc_buf_str(&s.authorization));
  fc_signature_free(&s);
  /* every request a new nonce, across the pool's refills */
  int repeated = 0;
  for (int i = 0; i < 600; i++) {
    CHECK(fc_wire_sign(&w, k, &r) == FC_OK);
    snprintf(n2, sizeof n2, "%s", one(&w, "x-acs-signature-nonce"));
    repeated |= strcmp(n1, n2) == 0;
    memcpy(n1, n2, sizeof n1);
  }
  CHECK(!repeated);
  fc_wire_free(&w);
  fc_key_free(k);
}

/* A forked child draws its own nonces, not the parent's next ones. */
static void fork_forgets_nonces(void) {
  char parent[33], child[33] = "";
  int fd[2];
  CHECK(fc_acs_nonce(parent) == FC_OK); /* the pool is full now */
  CHECK(pipe(fd) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    char c[33];
    ssize_t wn = fc_acs_nonce(c) == FC_OK ? write(fd[1], c, 32) : -1;
    _exit(wn == 32 ? 0 : 1);
  }
  close(fd[1]);
  CHECK(read(fd[0], child, 32) == 32);
  close(fd[0]);
  int status = 1;
  waitpid(pid, &status, 0);
  CHECK(status == 0);
  CHECK(fc_acs_nonce(parent) == FC_OK);
  CHECK(strcmp(parent, child) != 0);
}

static void refuses_what_cannot_go_on_the_wire(void) {
  fc_key *k = fc_key_new("id", "secret", NULL, &err);
  fc_kv bad_name[] = {{"x-fc-a b", "v"}}, colon[] = {{"x-fc-a:b", "v"}},
        empty[] = {{"", "v"}}, crlf[] = {{"x-fc-a", "v\r\nx-evil: 1"}};
  const fc_kv *cases[] = {bad_name, colon, empty, crlf};
  fc_wire w;
  fc_wire_init(&w);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    fc_request r = {"GET", "http", "h", "/", NULL, 0, cases[i], 1, NULL, 0, "v", "ua"};
    CHECK(fc_wire_sign(&w, k, &r) == FC_EINVAL);
    CHECK(w.url == NULL && w.nlines == 0);
  }
  fc_wire_free(&w);
  fc_key_free(k);
}

/* More headers than fit on the stack. */
static void many_headers(void) {
  enum { N = 100 };
  fc_kv h[N];
  char names[N][16];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "x-fc-h%d", i);
    h[i] = (fc_kv){names[i], "v"};
  }
  fc_key *k = fc_key_new("id", "secret", NULL, &err);
  fc_request r = {"POST", "http", "h", "/", NULL, 0, h, N, "x", 1, "v", "ua"};
  fc_wire w;
  fc_wire_init(&w);
  CHECK(fc_wire_sign(&w, k, &r) == FC_OK);
  CHECK(w.nlines == N + 8);
  CHECK_STR(one(&w, "x-fc-h99"), "v");
  fc_wire_free(&w);
  fc_key_free(k);
}

/* Alibaba Cloud's documented RPC signature example (recomputed with
** Python's hmac): secret "testsecret". */
static void rpc_signature(void) {
  static const char sts[] =
      "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26"
      "SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
      "%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D"
      "2014-05-26";
  fc_key *k = fc_key_new("testid", "testsecret", NULL, &err);
  fc_buf out = FC_BUF_INIT(256);
  CHECK(fc_key_rpc_signature(k, sts, sizeof sts - 1, &out) == FC_OK);
  CHECK_STR(fc_buf_str(&out), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
  CHECK(fc_key_token(k) == NULL);
  fc_buf_free(&out);
  fc_key_free(k);
}

/* The id and the token go on the wire: a control character in either is refused. */
static void key_refuses_what_breaks_a_header(void) {
  CHECK(fc_key_new("LTAI\r\nx-evil: 1", "s", NULL, &err) == NULL && err == FC_EINVAL);
  CHECK(fc_key_new("id", "s", "token\n", &err) == NULL && err == FC_EINVAL);
  CHECK(fc_key_new("id\t", "s", NULL, &err) == NULL && err == FC_EINVAL);
  fc_key *sealed = fc_key_new("", "any\nbytes", NULL, &err); /* the secret is never sent */
  CHECK(sealed != NULL);
  fc_key *k = fc_key_rekey(sealed, "id", "tok", &err);
  CHECK(k != NULL && strcmp(fc_key_id(k), "id") == 0 && strcmp(fc_key_token(k), "tok") == 0);
  CHECK(fc_key_rekey(sealed, "a\rb", NULL, &err) == NULL && err == FC_EINVAL);
  fc_key_free(k);
  fc_key_free(sealed);
}

int main(void) {
  RUN(tv5_invoke);
  RUN(tv6_sts);
  RUN(fresh_date_and_nonce);
  RUN(fork_forgets_nonces);
  RUN(refuses_what_cannot_go_on_the_wire);
  RUN(many_headers);
  RUN(rpc_signature);
  RUN(key_refuses_what_breaks_a_header);
  DONE();
}
