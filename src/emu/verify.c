#include "verify.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "encode.h"
#include "util.h"

#define SIG_MISMATCH                                                      \
  "The request signature we calculated does not match the signature you " \
  "provided. Check your access key and signing method"

/* ------------------------------------------------------------------------ */
/* Nonce store                                                               */
/* ------------------------------------------------------------------------ */

/*
** A nonce is kept as two independent 64-bit hashes of all its bytes (32
** bytes an entry instead of the text), so the store can hold a 15-minute
** window of a busy emulator: two nonces are taken for one only when both
** hashes collide.
*/
typedef struct nonce_entry {
  uint64_t hash;  /* FNV-1a: picks the bucket */
  uint64_t check; /* a second hash, compared with the first */
  time_t expires;
  uint32_t next; /* 1 + the next entry in the same bucket, or 0 */
} nonce_entry;


/*
** Entries live in a ring in arrival order; a chained hash table over the
** ring finds them. Expired ones are pruned from the ring's tail; a nonce is
** never forgotten inside its window. Everything is allocated once.
*/
struct fc_nonce_store {
  pthread_mutex_t lock;
  nonce_entry *ring;
  uint32_t *buckets;
  size_t cap, nbuckets, head, count; /* head: oldest entry */
  time_t compacted;                  /* when the ring was last compacted */
};

int fc_nonce_store_new(fc_nonce_store **out, size_t capacity) {
  *out = NULL;
  if (capacity < 16) capacity = 16;
  if (capacity > (1u << 24)) capacity = 1u << 24;
  fc_nonce_store *s = calloc(1, sizeof *s);
  if (!s) return FC_ENOMEM;
  s->cap = capacity;
  s->nbuckets = 1;
  while (s->nbuckets < capacity) s->nbuckets <<= 1;
  s->ring = calloc(capacity, sizeof *s->ring);
  s->buckets = calloc(s->nbuckets, sizeof *s->buckets); /* 1 + an index, or 0: none */
  if (!s->ring || !s->buckets || pthread_mutex_init(&s->lock, NULL) != 0) {
    free(s->ring);
    free(s->buckets);
    free(s);
    return FC_ENOMEM;
  }
  *out = s;
  return FC_OK;
}

void fc_nonce_store_free(fc_nonce_store *s) {
  if (!s) return;
  pthread_mutex_destroy(&s->lock);
  free(s->ring);
  free(s->buckets);
  free(s);
}

/* FNV-1a over the whole nonce, however long. */
static uint64_t nonce_hash(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* An independent second hash: multiply-xorshift over 8-byte words. */
static uint64_t nonce_check(const char *p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w = 0;
    memcpy(&w, p + i, n - i < 8 ? n - i : 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
  }
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 29);
}

/* Unlinks the oldest entry from its bucket chain and drops it. */
static void drop_oldest(fc_nonce_store *s) {
  uint32_t idx = (uint32_t)s->head;
  uint32_t *link = &s->buckets[s->ring[idx].hash & (s->nbuckets - 1)];
  while (*link && *link != idx + 1) link = &s->ring[*link - 1].next;
  if (*link == idx + 1) *link = s->ring[idx].next;
  s->head = (s->head + 1) % s->cap;
  s->count--;
}

/* Drops every expired entry, wherever it is (dates, hence expiries, do not
** arrive in order), and relinks the rest: O(capacity), at most once a
** second, only when the store is full. */
static void compact(fc_nonce_store *s, time_t now) {
  if (s->compacted == now) return;
  s->compacted = now;
  size_t k = 0;
  for (size_t i = 0; i < s->count; i++) {
    nonce_entry *e = &s->ring[(s->head + i) % s->cap];
    if (e->expires >= now) s->ring[(s->head + k++) % s->cap] = *e;
  }
  s->count = k;
  memset(s->buckets, 0, s->nbuckets * sizeof *s->buckets);
  for (size_t i = 0; i < k; i++) {
    uint32_t idx = (uint32_t)((s->head + i) % s->cap);
    uint32_t *bucket = &s->buckets[s->ring[idx].hash & (s->nbuckets - 1)];
    s->ring[idx].next = *bucket;
    *bucket = idx + 1;
  }
}

int fc_nonce_store_add(fc_nonce_store *s, const char *nonce, time_t expires, time_t now) {
  size_t n = strlen(nonce);
  uint64_t h = nonce_hash(nonce, n), check = nonce_check(nonce, n);
  pthread_mutex_lock(&s->lock);
  while (s->count && s->ring[s->head].expires < now) drop_oldest(s);
  for (uint32_t i = s->buckets[h & (s->nbuckets - 1)]; i; i = s->ring[i - 1].next) {
    nonce_entry *e = &s->ring[i - 1];
    if (e->hash == h && e->check == check && e->expires >= now) {
      pthread_mutex_unlock(&s->lock);
      return 1;
    }
  }
  if (s->count == s->cap) compact(s, now);
  if (s->count == s->cap) {
    pthread_mutex_unlock(&s->lock);
    return FC_NONCE_FULL;
  }
  uint32_t *bucket = &s->buckets[h & (s->nbuckets - 1)];
  uint32_t idx = (uint32_t)((s->head + s->count) % s->cap);
  nonce_entry *e = &s->ring[idx];
  e->hash = h;
  e->check = check;
  e->expires = expires;
  e->next = *bucket;
  *bucket = idx + 1;
  s->count++;
  pthread_mutex_unlock(&s->lock);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Request verification                                                      */
/* ------------------------------------------------------------------------ */

static int digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

int fc_verify_parse_date(const char *s, time_t *out) {
  struct tm tm = {0};
  int y, mo, d, h, mi, se;
  if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z')
    return FC_EINVAL;
  if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
      digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
    return FC_EINVAL;
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
    return FC_EINVAL;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  *out = timegm(&tm);
  return FC_OK;
}

/* The value of the first header named name (any case), or NULL. */
static const char *header(const fc_verify_request *rq, const char *name) {
  for (size_t i = 0; i < rq->nheaders; i++)
    if (strcasecmp(rq->headers[i].name, name) == 0)
      return rq->headers[i].value ? rq->headers[i].value : "";
  return NULL;
}

static int fail(fc_verify_error *err, int status, const char *code, const char *fmt,
                const char *arg) {
  err->status = status;
  err->code = code;
  snprintf(err->message, sizeof err->message, fmt, arg);
  return -1;
}

/*
** A header FC signs (x-acs-*, and host) that the client left out of
** SignedHeaders is a signature mismatch: otherwise it could be changed in
** transit. Returns the offending name, or NULL.
*/
static const char *unsigned_header(const fc_verify_request *rq, const char *list,
                                   char *scratch, size_t cap) {
  if (!fc_list_has(list, ';', "host")) return "host";
  for (size_t i = 0; i < rq->nheaders; i++) {
    const char *name = rq->headers[i].name;
    if (strncasecmp(name, "x-acs-", 6) != 0) continue;
    if (fc_lower(scratch, cap, name) != 0) return "x-acs-* (a very long name)";
    if (!fc_list_has(list, ';', scratch)) return scratch;
  }
  return NULL;
}

/* Recomputes the signature over exactly the listed headers; 1 when it matches. */
static int signature_matches(const fc_verify_keys *keys, const fc_verify_request *rq,
                             const fc_auth *auth, const char *hash, int *rc) {
  fc_signature sig;
  fc_signature_init(&sig);
  fc_sign_input in = {
      .method = rq->method,
      .path = rq->path,
      .query = rq->query,
      .nquery = rq->nquery,
      .headers = rq->headers,
      .nheaders = rq->nheaders,
      .only = auth->signed_headers,
      .payload_hash = hash,
      .access_key_id = keys->access_key_id,
      .access_key_secret = keys->access_key_secret,
  };
  *rc = fc_sign(&sig, &in);
  int ok = !*rc && strlen(auth->signature) == 64 &&
           fc_equal_ct(sig.signature, auth->signature, 64);
  fc_signature_free(&sig);
  return ok;
}

int fc_verify_headers(const fc_verify_keys *keys, fc_nonce_store *nonces,
              const fc_verify_request *rq, time_t now, fc_verify_error *err) {
  static const char *const required[] = {"Authorization", "x-acs-date",
                                         "x-acs-signature-nonce", "x-acs-content-sha256"};
  const char *val[4];
  for (int i = 0; i < 4; i++) {
    val[i] = header(rq, required[i]);
    if (!val[i] || !*val[i])
      return fail(err, 400, "MissingRequiredHeader",
                  "required HTTP header %s was not specified", required[i]);
  }
  const char *date = val[1], *nonce = val[2], *hash = val[3];

  fc_auth auth;
  if (fc_sign_parse_authorization(&auth, val[0]) != FC_OK)
    return fail(err, 400, "InvalidArgument",
                "%s", "the Authorization header is not of the form 'ACS3-HMAC-SHA256 "
                "Credential=ID,SignedHeaders=a;b;c,Signature=HEX'");
  if (strcmp(auth.credential, keys->access_key_id) != 0)
    return fail(err, 403, "InvalidAccessKeyID", "invalid access key ID '%.64s'",
                auth.credential);

  time_t t;
  if (fc_verify_parse_date(date, &t) != FC_OK)
    return fail(err, 400, "InvalidArgument",
                "x-acs-date '%.32s' is not of the form yyyy-MM-ddTHH:mm:ssZ (UTC)", date);
  if (t > now + FC_VERIFY_WINDOW || t < now - FC_VERIFY_WINDOW)
    return fail(err, 403, "RequestTimeTooSkewed",
                "x-acs-date '%.32s' is more than 15 minutes away from the server's clock",
                date);

  if (keys->security_token) {
    const char *tok = header(rq, "x-acs-security-token");
    size_t n = strlen(keys->security_token);
    if (!tok || strlen(tok) != n || !fc_equal_ct(tok, keys->security_token, n))
      return fail(err, 403, "InvalidSecurityToken", "%s",
                  "the security token in x-acs-security-token is missing or invalid");
  }

  /* SignedHeaders is compared in lower case, as the signer lower-cases names. */
  fc_lower(auth.signed_headers, sizeof auth.signed_headers, auth.signed_headers);
  char scratch[128];
  const char *missing = unsigned_header(rq, auth.signed_headers, scratch, sizeof scratch);
  if (missing) {
    char msg[256];
    snprintf(msg, sizeof msg, SIG_MISMATCH " (header %.64s is not in SignedHeaders)",
             missing);
    return fail(err, 403, "SignatureNotMatch", "%s", msg);
  }

  int rc;
  if (!signature_matches(keys, rq, &auth, hash, &rc)) {
    if (rc == FC_ENOMEM)
      return fail(err, 500, "InternalServerError", "%s",
                  "an internal error has occurred. Please retry.");
    return fail(err, 403, "SignatureNotMatch", "%s", SIG_MISMATCH);
  }

  int seen = nonces ? fc_nonce_store_add(nonces, nonce, t + FC_VERIFY_WINDOW, now) : 0;
  if (seen == FC_NONCE_FULL)
    return fail(err, 429, "ResourceExhausted",
                "%s", "the emulator already remembers as many signature nonces as it can "
                "within 15 minutes (to refuse replays); retry later");
  if (seen)
    return fail(err, 403, "SignatureNonceUsed",
                "the signature nonce '%.64s' has already been used within 15 minutes",
                nonce);
  return 0;
}

/* The SHA-256 of the body against x-acs-content-sha256 (which the signature
** covers); 0 when they match. */
int fc_verify_body(const char *hash, const void *body, size_t len, fc_verify_error *err) {
  unsigned char d[FC_SHA256_LEN];
  char hex[2 * FC_SHA256_LEN + 1];
  if (fc_sha256(body, len, d) != FC_OK)
    return fail(err, 500, "InternalServerError", "%s",
                "an internal error has occurred. Please retry.");
  fc_hex(hex, d, sizeof d);
  if (!hash || strcmp(hex, hash) != 0)
    return fail(err, 403, "SignatureNotMatch", "%s",
                SIG_MISMATCH " (x-acs-content-sha256 is not the SHA-256 of the body)");
  return 0;
}

int fc_verify(const fc_verify_keys *keys, fc_nonce_store *nonces,
              const fc_verify_request *rq, time_t now, fc_verify_error *err) {
  if (fc_verify_headers(keys, nonces, rq, now, err) != 0) return -1;
  return fc_verify_body(header(rq, "x-acs-content-sha256"), rq->body, rq->bodylen, err);
}
