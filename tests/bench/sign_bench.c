/*
** sign_bench.c: the signer's cost against anchors in the same run (issue 9).
** Signs fcrun's fc.invoke request (the headers lua/fc/client.lua hands the
** signer) over and over, and prints ns per fc_sign (and per fc_sign_keyed,
** the secret prepared once) beside ns per SHA-256 of
** the same canonical request and ns per HMAC-SHA256 of the same string to
** sign, the ratios, and the core's allocations per fc_sign (counted by
** wrapping malloc, calloc and realloc at link time, as test_torture does).
** Then fc_wire_sign, the client's whole C work per request (the headers FC
** requires, the signature with a prepared key, the URL and header lines),
** and SHA-256 on the CPU's SHA extensions against mbedTLS.
**
**   bench_sign [ITERATIONS]     (built by the release preset: build/release/bench_sign)
**
** The three run in interleaved batches, 9 rounds; each figure is the best
** batch (the least disturbed by other load), so drift hits all alike.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "request.h"
#include "sign.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
static long allocs;
void *__wrap_malloc(size_t n) { allocs++; return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { allocs++; return __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { allocs++; return __real_realloc(p, n); }

static const fc_kv HEADERS[] = {
    {"x-acs-action", "InvokeFunction"},
    {"x-fc-invocation-type", "Sync"},
    {"x-fc-log-type", "None"},
    {"content-type", "application/octet-stream"},
    {"host", "1234567890123456.cn-hangzhou.fc.aliyuncs.com"},
    {"x-acs-version", "2023-03-30"},
    {"x-acs-date", "2026-11-26T14:21:26Z"},
    {"x-acs-signature-nonce", "230815ce57e426c3b29f38d9c1308ae2"},
    {"x-acs-content-sha256", "758d61f26a44448384e5c4468a0dcb7a2abe456067b0f7b505bc28b9411fe931"},
};
static const fc_sign_input INPUT = {
    "POST", "/2023-03-30/functions/hello/invocations", NULL, 0, HEADERS,
    sizeof HEADERS / sizeof *HEADERS, NULL,
    "758d61f26a44448384e5c4468a0dcb7a2abe456067b0f7b505bc28b9411fe931", "LTAIbenchkey",
    "bench-secret-not-a-real-one"};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile unsigned char sink;
static fc_buf canon = FC_BUF_INIT(FC_SIGN_MAX), sts = FC_BUF_INIT(FC_SIGN_MAX);

static int do_sign(void) {
  fc_signature s;
  fc_signature_init(&s);
  int rc = fc_sign(&s, &INPUT);
  sink ^= (unsigned char)s.signature[0];
  fc_signature_free(&s);
  return rc;
}

static fc_hmac_sha256_key key;

static int do_sign_keyed(void) {
  fc_signature s;
  fc_signature_init(&s);
  int rc = fc_sign_keyed(&s, &INPUT, &key);
  sink ^= (unsigned char)s.signature[0];
  fc_signature_free(&s);
  return rc;
}

static int do_sha256(void) {
  unsigned char d[FC_SHA256_LEN];
  int rc = fc_sha256(canon.data, canon.len, d);
  sink ^= d[0];
  return rc;
}

static int do_hmac(void) {
  unsigned char d[FC_SHA256_LEN];
  int rc = fc_hmac_sha256(INPUT.access_key_secret, strlen(INPUT.access_key_secret), sts.data,
                          sts.len, d);
  sink ^= d[0];
  return rc;
}

/* The request fc.invoke("hello", "ping") hands fc_wire_sign. */
static const fc_kv CALL_HEADERS[] = {{"x-fc-invocation-type", "Sync"},
                                     {"x-fc-log-type", "None"},
                                     {"x-acs-action", "InvokeFunction"},
                                     {"content-type", "application/octet-stream"}};
static const fc_request CALL = {"POST", "https", "1234567890123456.cn-hangzhou.fc.aliyuncs.com",
                                "/2023-03-30/functions/hello/invocations", NULL, 0, CALL_HEADERS,
                                4, "ping", 4, "2023-03-30", "fcrun/0.1 (lua 5.4)"};
static fc_wire wire;
static fc_key *wire_key;

static int do_wire(void) {
  int rc = fc_wire_sign(&wire, wire_key, &CALL);
  sink ^= (unsigned char)wire.url[0];
  return rc;
}

/* ns per call of op over a batch of n. */
static double time_op(int (*op)(void), long n) {
  double t0 = now();
  for (long i = 0; i < n; i++)
    if (op()) {
      fprintf(stderr, "bench_sign: an operation failed\n");
      exit(1);
    }
  return (now() - t0) / (double)n;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 5000;
  if (n < 1) {
    fprintf(stderr, "usage: bench_sign [ITERATIONS]\n");
    return 2;
  }
  fc_signature s;
  fc_signature_init(&s);
  allocs = 0;
  if (fc_sign(&s, &INPUT)) return 1;
  long per_sign = allocs;
  if (fc_buf_add(&canon, s.canonical_request.data, s.canonical_request.len) ||
      fc_buf_add(&sts, s.string_to_sign.data, s.string_to_sign.len))
    return 1;
  fc_signature_free(&s);

  if (fc_hmac_sha256_key_init(&key, INPUT.access_key_secret, strlen(INPUT.access_key_secret)))
    return 1;
  double t_sign = 0, t_keyed = 0, t_sha = 0, t_hmac = 0;
  for (int round = 0; round < 9; round++) {
    double a = time_op(do_sign, n), b = time_op(do_sha256, n), c = time_op(do_hmac, n),
           d = time_op(do_sign_keyed, n);
    if (round == 0 || a < t_sign) t_sign = a;
    if (round == 0 || b < t_sha) t_sha = b;
    if (round == 0 || c < t_hmac) t_hmac = c;
    if (round == 0 || d < t_keyed) t_keyed = d;
  }
  fc_hmac_sha256_key_free(&key);

  fc_wire_init(&wire);
  int err;
  if (!(wire_key = fc_key_new("LTAIbenchkey", "bench-secret-not-a-real-one", NULL, &err))) return 1;
  allocs = 0;
  if (do_wire() || do_wire()) return 1;
  long wire_allocs_first = allocs;
  allocs = 0;
  if (do_wire()) return 1;
  long wire_allocs = allocs;
  int hw = fc_sha256_hardware(-1);
  double t_wire = 0, t_sha_hw = 0, t_sha_sw = 0;
  for (int round = 0; round < 9; round++) {
    double a = time_op(do_wire, n);
    fc_sha256_hardware(0);
    double b = time_op(do_sha256, n);
    fc_sha256_hardware(hw);
    double c = time_op(do_sha256, n);
    if (round == 0 || a < t_wire) t_wire = a;
    if (round == 0 || b < t_sha_sw) t_sha_sw = b;
    if (round == 0 || c < t_sha_hw) t_sha_hw = c;
  }
  fc_key_free(wire_key);
  fc_wire_free(&wire);
  printf("fc_wire_sign %.0f ns (%ld allocations the first two times, %ld after); SHA-256 of "
         "the canonical request %.0f ns on mbedTLS, %.0f ns on %s\n",
         t_wire, wire_allocs_first, wire_allocs, t_sha_sw, t_sha_hw,
         hw ? "the CPU's SHA extensions" : "mbedTLS again (no SHA extensions)");
  printf("RESULT wire/sha256_mbedtls=%.2f sha256_mbedtls/sha256_used=%.2f wire_allocs=%ld\n",
         t_wire / t_sha_sw, t_sha_sw / t_sha_hw, wire_allocs);
  printf("fc_sign %.0f ns (%ld allocations), fc_sign_keyed %.0f ns, SHA-256 of its %zu-byte "
         "canonical request %.0f ns, HMAC-SHA256 of its string to sign %.0f ns\n",
         t_sign, per_sign, t_keyed, canon.len, t_sha, t_hmac);
  printf("RESULT sign/sha256=%.2f keyed/sha256=%.2f sign/(sha256+hmac)=%.2f hmac/sha256=%.2f "
         "allocs=%ld\n",
         t_sign / t_sha, t_keyed / t_sha, t_sign / (t_sha + t_hmac), t_hmac / t_sha, per_sign);
  fc_buf_free(&canon);
  fc_buf_free(&sts);
  return 0;
}
