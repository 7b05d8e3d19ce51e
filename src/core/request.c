#include "request.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "encode.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- keys ----------------------------------------------------------------- */

/* One allocation: the struct, then the id, the token and "secret&". */
struct fc_key {
  fc_hmac_sha256_key mac; /* the secret's HMAC-SHA256 pads */
  const char *id, *token;
  const char *rpc_key; /* secret "&": the STS RPC signature's HMAC-SHA1 key */
  size_t rpc_len, size;
};

/* Text that goes into a header: no control character (CR and LF above all). */
static int header_text(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
  return 1;
}

static fc_key *make_key(const char *id, const char *secret, size_t sn, const char *token,
                        int *err) {
  *err = FC_EINVAL;
  if (!header_text(id) || (token && !header_text(token))) return NULL;
  size_t idn = strlen(id) + 1, tn = token ? strlen(token) + 1 : 0;
  size_t size = sizeof(fc_key) + idn + tn + sn + 1;
  fc_key *k = malloc(size);
  *err = FC_ENOMEM;
  if (!k) return NULL;
  char *p = (char *)(k + 1);
  k->id = memcpy(p, id, idn);
  p += idn;
  k->token = token ? memcpy(p, token, tn) : NULL;
  p += tn;
  memcpy(p, secret, sn);
  p[sn] = '&';
  k->rpc_key = p;
  k->rpc_len = sn + 1;
  k->size = size;
  if ((*err = fc_hmac_sha256_key_init(&k->mac, secret, sn))) {
    fc_key_free(k);
    return NULL;
  }
  return k;
}

fc_key *fc_key_new(const char *id, const char *secret, const char *token, int *err) {
  return make_key(id, secret, strlen(secret), token, err);
}

fc_key *fc_key_rekey(const fc_key *k, const char *id, const char *token, int *err) {
  return make_key(id, k->rpc_key, k->rpc_len - 1, token, err);
}

void fc_key_free(fc_key *k) {
  if (!k) return;
  fc_zero(k, k->size);
  free(k);
}

const char *fc_key_id(const fc_key *k) { return k->id; }
const char *fc_key_token(const fc_key *k) { return k->token; }

int fc_key_rpc_signature(const fc_key *k, const char *text, size_t n, fc_buf *out) {
  unsigned char mac[FC_SHA1_LEN];
  int rc = fc_hmac_sha1(k->rpc_key, k->rpc_len, text, n, mac);
  if (!rc) rc = fc_base64_encode(out, mac, sizeof mac);
  return rc;
}

/* ---- date and nonce ------------------------------------------------------- */

static _Thread_local time_t date_second = (time_t)-1;
static _Thread_local char date_text[21];

void fc_acs_date(char out[21]) {
  time_t now = time(NULL);
  if (now != date_second) {
    struct tm tm;
    if (!gmtime_r(&now, &tm) ||
        strftime(date_text, sizeof date_text, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
      memcpy(date_text, "1970-01-01T00:00:00Z", 21); /* past year 9999 */
    date_second = now;
  }
  memcpy(out, date_text, 21);
}

enum { NONCE = 16, POOL = 256 * NONCE };
static _Thread_local unsigned char pool[POOL];
static _Thread_local size_t pool_left;
static pthread_once_t fork_watch = PTHREAD_ONCE_INIT;

static void forget_pool(void) { pool_left = 0; } /* the child of a fork */
static void watch_forks(void) { pthread_atfork(NULL, NULL, forget_pool); }

int fc_acs_nonce(char out[33]) {
  pthread_once(&fork_watch, watch_forks);
  if (pool_left < NONCE) {
    if (fc_random(pool, POOL)) return FC_EINVAL;
    pool_left = POOL;
  }
  pool_left -= NONCE;
  fc_hex(out, pool + pool_left, NONCE);
  return FC_OK;
}

/* ---- signed requests -------------------------------------------------------- */

void fc_wire_init(fc_wire *w) {
  fc_signature_init(&w->sig);
  fc_buf_init(&w->text, 4 * (size_t)FC_SIGN_MAX);
  fc_buf_init(&w->index, (size_t)-1);
  w->url = NULL;
  w->lines = NULL;
  w->nlines = 0;
}

void fc_wire_free(fc_wire *w) {
  fc_signature_free(&w->sig);
  fc_buf_free(&w->text);
  fc_buf_free(&w->index);
  w->url = NULL;
  w->lines = NULL;
  w->nlines = 0;
}

/* An HTTP token (RFC 9110): what a header name may hold. */
static int is_token(const char *s) {
  static const char extra[] = "!#$%&'*+-.^_`|~";
  if (!*s) return 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          (c && strchr(extra, c))))
      return 0;
  }
  return 1;
}

/* Headers we always set ourselves, whatever the caller gave. */
static int ours(const char *name, int sts) {
  return strcmp(name, "host") == 0 || strcmp(name, "x-acs-content-sha256") == 0 ||
         strcmp(name, "authorization") == 0 ||
         (sts && (strcmp(name, "x-acs-security-token") == 0 ||
                  strcmp(name, "x-acs-accesskey-id") == 0));
}

static int add_line(fc_buf *t, const char *name, const char *value) {
  size_t a = strlen(name), b = strlen(value);
  int rc = fc_buf_reserve(t, a + b + 3);
  if (rc) return rc;
  char *d = t->data + t->len;
  memcpy(d, name, a);
  memcpy(d + a, ": ", 2);
  memcpy(d + a + 2, value, b + 1); /* with its NUL */
  fc_buf_commit(t, a + b + 3);
  return FC_OK;
}

/* Line n (0-based) of the canonical request, and its length. */
static const char *canon_line(const fc_buf *c, int n, size_t *len) {
  const char *p = c->data, *end = p + c->len;
  for (; n > 0; n--) p = memchr(p, '\n', (size_t)(end - p)) + 1;
  const char *eol = memchr(p, '\n', (size_t)(end - p));
  *len = (size_t)((eol ? eol : end) - p);
  return p;
}

enum { STACK_KV = 48 };

int fc_wire_sign(fc_wire *w, const fc_key *k, const fc_request *r) {
  char date[21], nonce[33], hash[65];
  const char *ua = r->user_agent, *accept = "application/json";
  int sts = k->token != NULL, rc = FC_OK;
  int have_version = 0, have_date = 0, have_nonce = 0;
  size_t cap = r->nheaders + 7, n = 0;
  fc_kv stack[STACK_KV], *kv = cap <= STACK_KV ? stack : malloc(cap * sizeof *kv);
  if (!kv) return FC_ENOMEM;
  for (size_t i = 0; i < r->nheaders; i++) {
    const char *name = r->headers[i].name, *value = r->headers[i].value;
    if (!is_token(name) || strpbrk(value, "\r\n")) {
      rc = FC_EINVAL;
      goto done;
    }
    if (ours(name, sts)) continue;
    if (strcmp(name, "user-agent") == 0) { ua = value; continue; }
    if (strcmp(name, "accept") == 0) { accept = value; continue; }
    have_version |= strcmp(name, "x-acs-version") == 0;
    have_date |= strcmp(name, "x-acs-date") == 0;
    have_nonce |= strcmp(name, "x-acs-signature-nonce") == 0;
    kv[n++] = r->headers[i];
  }
  if (r->body_len) {
    unsigned char d[FC_SHA256_LEN];
    if ((rc = fc_sha256(r->body, r->body_len, d))) goto done;
    fc_hex(hash, d, sizeof d);
  } else {
    memcpy(hash, EMPTY_SHA256, sizeof hash);
  }
  kv[n++] = (fc_kv){"host", r->host};
  kv[n++] = (fc_kv){"x-acs-content-sha256", hash};
  if (!have_version) kv[n++] = (fc_kv){"x-acs-version", r->version};
  if (!have_date) {
    fc_acs_date(date);
    kv[n++] = (fc_kv){"x-acs-date", date};
  }
  if (!have_nonce) {
    if ((rc = fc_acs_nonce(nonce))) goto done;
    kv[n++] = (fc_kv){"x-acs-signature-nonce", nonce};
  }
  if (sts) {
    kv[n++] = (fc_kv){"x-acs-security-token", k->token};
    kv[n++] = (fc_kv){"x-acs-accesskey-id", k->id};
  }

  fc_buf_reset(&w->sig.canonical_request);
  fc_buf_reset(&w->sig.string_to_sign);
  fc_buf_reset(&w->sig.signed_headers);
  fc_buf_reset(&w->sig.authorization);
  fc_sign_input in = {r->method, r->path, r->query, r->nquery, kv, n, NULL, hash, k->id, NULL};
  if ((rc = fc_sign_keyed(&w->sig, &in, &k->mac))) goto done;

  /* The wire path and query are the canonical ones: lines 2 and 3. */
  size_t ulen, qlen;
  const char *uri = canon_line(&w->sig.canonical_request, 1, &ulen);
  const char *qs = canon_line(&w->sig.canonical_request, 2, &qlen);
  fc_buf *t = &w->text;
  fc_buf_reset(t);
  rc = fc_buf_adds(t, r->scheme);
  if (!rc) rc = fc_buf_add(t, "://", 3);
  if (!rc) rc = fc_buf_adds(t, r->host);
  if (!rc) rc = fc_buf_add(t, uri, ulen);
  if (!rc && qlen) rc = fc_buf_addc(t, '?');
  if (!rc) rc = fc_buf_add(t, qs, qlen);
  if (!rc) rc = fc_buf_addc(t, '\0');
  if (!rc) rc = add_line(t, "user-agent", ua);
  if (!rc) rc = add_line(t, "accept", accept);
  for (size_t i = 0; i < n && !rc; i++) rc = add_line(t, kv[i].name, kv[i].value);
  if (!rc) rc = add_line(t, "authorization", fc_buf_str(&w->sig.authorization));
  if (rc) goto done;

  size_t lines = n + 3;
  fc_buf_reset(&w->index);
  if ((rc = fc_buf_reserve(&w->index, lines * sizeof(char *)))) goto done;
  const char **v = (const char **)(void *)w->index.data;
  const char *p = t->data;
  w->url = p;
  for (size_t i = 0; i < lines; i++) {
    p += strlen(p) + 1;
    v[i] = p;
  }
  fc_buf_commit(&w->index, lines * sizeof(char *));
  w->lines = v;
  w->nlines = lines;
done:
  if (kv != stack) free(kv);
  if (rc) {
    w->url = NULL;
    w->lines = NULL;
    w->nlines = 0;
  }
  return rc;
}
