/*
** Allocation-failure torture, after curl's runtests -t: each operation runs
** again and again with its 1st, 2nd, ... allocation failing, until it runs
** with none failing. Every run must fail cleanly (an error code, nothing
** half-written, no leak: the sanitizer build checks that) or succeed.
** Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc, which
** reroutes the core's own allocations (not libc's or curl's internal ones).
*/
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encode.h"
#include "http.h"
#include "sign.h"
#include "test.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

static long fail_at = -1; /* which allocation fails; -1: none */
static long seen;         /* allocations so far in this run */

static int should_fail(void) { return fail_at >= 0 && seen++ == fail_at; }
void *__wrap_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return should_fail() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return should_fail() ? NULL : __real_realloc(p, n); }

/*
** Runs op with each allocation failing in turn; op returns 0 or an fc error.
** Returns the number of runs in which an allocation failed.
*/
static int torture(int (*op)(void)) {
  int failures = 0;
  for (fail_at = 0;; fail_at++) {
    seen = 0;
    int rc = op();
    if (seen <= fail_at) { /* no allocation failed: the op must succeed */
      CHECK(rc == FC_OK);
      break;
    }
    CHECK(rc == FC_ENOMEM);
    failures++;
  }
  fail_at = -1;
  return failures;
}

static int op_sign(void) {
  fc_kv q[] = {{"qualifier", "prod v1"}, {"limit", "10"}, {"empty", ""}};
  fc_kv h[] = {{"host", "example.com"}, {"x-acs-date", "2024-01-01T00:00:00Z"},
               {"X-Acs-B", "2"}, {"x-acs-b", "1"}, {"content-type", "application/json"}};
  fc_sign_input in = {"POST", "/2023-03-30/functions/f n/invocations", q, 3, h, 5, NULL,
                      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                      "id", "secret"};
  fc_signature s;
  fc_signature_init(&s);
  int rc = fc_sign(&s, &in);
  if (rc == FC_OK) CHECK(strncmp(fc_buf_str(&s.authorization), "ACS3-HMAC-SHA256 ", 17) == 0);
  fc_signature_free(&s);
  return rc;
}

/* Past the signer's stack scratch (32 entries, 2 KiB of text): its heap path. */
static int op_sign_large(void) {
  enum { N = 40 };
  static char names[N][16], qnames[N][16], value[3000];
  fc_kv q[N], h[N + 1];
  memset(value, 'v', sizeof value - 1);
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "X-Acs-H%02d", N - i);
    snprintf(qnames[i], sizeof qnames[i], "q %02d", N - i);
    h[i] = (fc_kv){names[i], "1"};
    q[i] = (fc_kv){qnames[i], value};
  }
  h[N] = (fc_kv){"host", value};
  fc_sign_input in = {"GET", "/", q, N, h, N + 1, NULL,
                      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                      "id", "secret"};
  fc_signature s;
  fc_signature_init(&s);
  int rc = fc_sign(&s, &in);
  if (rc == FC_OK) CHECK(strncmp(fc_buf_str(&s.canonical_request), "GET\n/\nq%2001=vv", 15) == 0);
  fc_signature_free(&s);
  return rc;
}

static int op_codecs(void) {
  fc_buf b = FC_BUF_INIT(1 << 20), d = FC_BUF_INIT(1 << 20);
  int rc = fc_base64_encode(&b, "some bytes \x01\x02", 13);
  if (!rc) rc = fc_base64_decode(&d, b.data, b.len);
  if (!rc) rc = fc_hex_encode(&d, "xyz", 3);
  if (!rc) rc = fc_pct_encode(&d, "a b/c", 5, 1);
  if (!rc) rc = fc_form_decode(&d, "a+b%20c", 7);
  fc_buf_free(&b);
  fc_buf_free(&d);
  return rc;
}

static int op_http(void) {
  fc_http *h = fc_http_new();
  if (!h) return FC_ENOMEM;
  const char *hdr[] = {"Host: 127.0.0.1:9", "x-acs-action: InvokeFunction"};
  fc_http_request req = {"POST", "http://127.0.0.1:9/", hdr, 2, "body", 4, 1000, 1000, 0, NULL};
  int err = FC_OK;
  fc_xfer *x = fc_http_start(h, &req, NULL, &err);
  fc_xfer_free(x);
  fc_http_free(h);
  return x ? FC_OK : err;
}

/*
** A pool's transfers reused and outliving it: a freed transfer taken again
** with a larger request (its block grows) and a CA file, a new one beside
** it, the pool freed under both.
*/
static int op_http_reuse(void) {
  fc_http *h = fc_http_new();
  if (!h) return FC_ENOMEM;
  const char *hdr[] = {"Host: 127.0.0.1:9", "x-acs-action: InvokeFunction", "content-type: a/b"};
  static char big[5000];
  memset(big, 'b', sizeof big - 1);
  fc_http_request req = {"POST", "http://127.0.0.1:9/", hdr, 2, "body", 4, 1000, 1000, 0, NULL};
  int err = FC_OK, rc = FC_OK;
  fc_xfer *x = fc_http_start(h, &req, NULL, &err), *y = NULL, *z = NULL;
  if (!x) rc = err;
  fc_xfer_free(x);
  fc_http_request more = {"GET", "http://127.0.0.1:9/", hdr, 3, big, sizeof big - 1, 1000, 1000, 0,
                          "/nonexistent/ca.pem"};
  if (!rc && !(y = fc_http_start(h, &more, NULL, &err))) rc = err;
  if (!rc && !(z = fc_http_start(h, &req, NULL, &err))) rc = err;
  fc_http_free(h);
  fc_xfer_free(y);
  fc_xfer_free(z);
  return rc;
}

/* the four outputs of a signature are its only allocations at the usual size */
static void sign_survives(void) { CHECK(torture(op_sign) >= 4); }
static void large_sign_survives(void) { CHECK(torture(op_sign_large) > 5); }
static void codecs_survive(void) { CHECK(torture(op_codecs) >= 2); }
static void http_survives(void) { CHECK(torture(op_http) > 2); }
static void http_reuse_survives(void) { CHECK(torture(op_http_reuse) > 5); }

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  RUN(sign_survives);
  RUN(large_sign_survives);
  RUN(codecs_survive);
  RUN(http_survives);
  RUN(http_reuse_survives);
  curl_global_cleanup();
  DONE();
}
