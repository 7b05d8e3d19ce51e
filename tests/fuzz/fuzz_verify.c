/*
** libFuzzer target for the emulator's request verification (src/emu/verify.c).
**
** 1. Arbitrary requests (method, path, query, headers, body from the input)
**    go through fc_verify with a nonce store: it must never crash, leak or
**    hang, whatever it answers.
** 2. A differential: a request built from the input and signed by fc_sign
**    must verify; then any single-byte change to a part the signature or
**    the body hash covers (method, path, a query key or value, the value
**    of a signed header, the body) must be refused. A change that passes
**    aborts, which libFuzzer reports with the input.
** Header names are left alone (they are case-insensitive by design), and
** generated header values have no surrounding blanks (ACS3 trims them).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encode.h"
#include "sign.h"
#include "split.h"
#include "verify.h"

#define ID "fuzzid"
#define SECRET "fuzzsecret"
#define DATE "2023-10-26T10:22:32Z"
#define T0 1698315752


static fc_nonce_store *nonces;

/* 1: whatever the request, verification answers. */
static void arbitrary(char **p, size_t n) {
  if (n < 3) return;
  fc_kv q[4], h[8];
  size_t nq = 0, nh = 0, i = 3;
  for (; i + 1 < n && nq < 4 && (p[i][0] & 1); i += 2) q[nq++] = (fc_kv){p[i], p[i + 1]};
  for (; i + 1 < n && nh < 8; i += 2) h[nh++] = (fc_kv){p[i], p[i + 1]};
  fc_verify_keys keys = {ID, SECRET, (p[0][0] & 2) ? "tok" : NULL};
  fc_verify_request rq = {p[0], p[1], q, nq, h, nh, p[2], strlen(p[2])};
  fc_verify_error err;
  fc_verify(&keys, nonces, &rq, T0, &err);
}

/* A header value as the differential needs it: no blanks at either end, not empty. */
static const char *value(char *s, const char *dflt) {
  char *e = s + strlen(s);
  while (*s == ' ' || *s == '\t') s++;
  while (e > s && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
  return *s ? s : dflt;
}

/* 2: signed verifies; any single-byte change to a signed part is refused. */
static void differential(const uint8_t *sel, char **p, size_t n) {
  char empty[1] = "";
  char *e[7];
  for (size_t i = 0; i < 7; i++) e[i] = i < n ? p[i] : empty;
  p = e;
  static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
  char method[8], path[600], qk[200], qv[200], ctype[200], extra[200], nonce[200], body[600];
  snprintf(method, sizeof method, "%s", methods[sel[0] & 3]);
  snprintf(path, sizeof path, "/2023-03-30/functions/%.500s", p[0]);
  snprintf(qk, sizeof qk, "%s", p[1]);
  snprintf(qv, sizeof qv, "%s", p[2]);
  snprintf(ctype, sizeof ctype, "%s", value(p[3], "application/json"));
  snprintf(extra, sizeof extra, "%s", value(p[4], "x"));
  snprintf(nonce, sizeof nonce, "%s", value(p[5], "n"));
  size_t blen = strlen(p[6]) < sizeof body ? strlen(p[6]) : sizeof body - 1;
  memcpy(body, p[6], blen);

  unsigned char d[FC_SHA256_LEN];
  char hash[65];
  fc_sha256(body, blen, d);
  fc_hex(hash, d, sizeof d);
  fc_kv q[1] = {{qk, qv}};
  size_t nq = qk[0] ? 1 : 0;
  char auth[1024] = "";
  fc_kv h[8] = {{"host", "127.0.0.1:9000"}, {"content-type", ctype},
                {"x-acs-date", DATE},       {"x-acs-signature-nonce", nonce},
                {"x-acs-content-sha256", hash}, {"x-acs-extra", extra},
                {"user-agent", "fuzz"},     {"Authorization", auth}};
  fc_sign_input in = {method, path, q, nq, h, 7, NULL, hash, ID, SECRET};
  fc_signature sig;
  fc_signature_init(&sig);
  if (fc_sign(&sig, &in) != FC_OK) {
    fc_signature_free(&sig);
    return;
  }
  snprintf(auth, sizeof auth, "%s", fc_buf_str(&sig.authorization));
  fc_signature_free(&sig);

  fc_verify_keys keys = {ID, SECRET, NULL};
  fc_verify_request rq = {method, path, q, nq, h, 8, body, blen};
  fc_verify_error err;
  if (fc_verify(&keys, NULL, &rq, T0, &err) != 0) {
    fprintf(stderr, "a request signed by fc_sign was refused: %d %s %s\n", err.status, err.code,
                    err.message);
    abort();
  }

  /* the parts a single byte of may change: which, where, to what */
  char *parts[] = {method, path, qk, qv, ctype, extra, nonce, hash, body};
  size_t which = sel[1] % (sizeof parts / sizeof parts[0]);
  if ((which == 2 || which == 3) && !nq) return;
  char *part = parts[which];
  size_t len = which == 8 ? blen : strlen(part);
  if (!len) return;
  size_t at = ((size_t)sel[2] << 8 | sel[3]) % len;
  part[at] = (char)(part[at] ^ (sel[4] ? sel[4] : 0x20));
  size_t nlen = which == 8 ? blen : strlen(part);
  rq.bodylen = which == 8 ? nlen : blen;
  if (fc_verify(&keys, NULL, &rq, T0, &err) == 0) {
    fprintf(stderr, "a changed byte (part %zu, offset %zu) still verified\n", which, at);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!nonces && fc_nonce_store_new(&nonces, 64) != FC_OK) return 0;
  if (size < 5) return 0;
  char *parts[19] = {0};
  size_t n = split(data + 5, size - 5, parts, 19);
  if (data[0] & 0x80) arbitrary(parts, n);
  else differential(data, parts, n);
  for (size_t i = 0; i < n; i++) free(parts[i]);
  return 0;
}
