#include "sign.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encode.h"

/*
** Each path segment is percent-encoded on its own, so '/' separates and
** everything else outside the unreserved set is escaped.
*/
int fc_sign_canonical_uri(fc_buf *out, const char *path) {
  if (!path || !*path) return fc_buf_addc(out, '/');
  return fc_pct_encode(out, path, strlen(path), 1);
}

/*
** The sort of the query and of the headers. An entry points at its name and
** value (not NUL-terminated); names are compared bytewise as strcmp does,
** then values. Entries and the text made for them (encoded query parts,
** lower-cased header names) live on the stack when a request is of the usual
** size, else in one allocation each.
*/
typedef struct entry {
  const char *a, *b;
  size_t alen, blen;
} entry;

static int cmp_bytes(const char *x, size_t xn, const char *y, size_t yn) {
  int c = memcmp(x, y, xn < yn ? xn : yn);
  return c ? c : (xn > yn) - (xn < yn);
}

static int cmp_entry(const void *x, const void *y) {
  const entry *p = x, *q = y;
  int c = cmp_bytes(p->a, p->alen, q->a, q->alen);
  return c ? c : cmp_bytes(p->b, p->blen, q->b, q->blen);
}

/* A request's headers and query are short lists: insertion sort, inline,
** costs a third of qsort's calls through a pointer. Stable, as glibc's
** qsort is (equal entries are equal bytes anyway). */
static void sort_entries(entry *v, size_t n) {
  if (n > 16) {
    qsort(v, n, sizeof *v, cmp_entry);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    entry e = v[i];
    size_t j = i;
    for (; j > 0 && cmp_entry(&v[j - 1], &e) > 0; j--) v[j] = v[j - 1];
    v[j] = e;
  }
}

enum { STACK_ENTRIES = 32, STACK_TEXT = 2048 };

typedef struct scratch {
  entry *v;
  char *text;
  entry v_stack[STACK_ENTRIES];
  char text_stack[STACK_TEXT];
} scratch;

static int scratch_init(scratch *s, size_t n, size_t text) {
  s->v = n <= STACK_ENTRIES ? s->v_stack : malloc(n * sizeof *s->v);
  s->text = text <= STACK_TEXT ? s->text_stack : malloc(text);
  if (s->v && s->text) return FC_OK;
  if (s->v != s->v_stack) free(s->v);
  if (s->text != s->text_stack) free(s->text);
  return FC_ENOMEM;
}

static void scratch_free(scratch *s) {
  if (s->v != s->v_stack) free(s->v);
  if (s->text != s->text_stack) free(s->text);
}

/* Appends the pieces, with room for all of them made at once. */
static int add_all(fc_buf *b, const char *const *p, const size_t *n, size_t k) {
  size_t total = 0;
  for (size_t i = 0; i < k; i++) {
    if (n[i] > FC_SIGN_MAX) return FC_ETOOBIG;
    total += n[i];
  }
  int rc = fc_buf_reserve(b, total);
  if (rc) return rc;
  char *d = b->data + b->len;
  for (size_t i = 0; i < k; i++) {
    if (n[i]) memcpy(d, p[i], n[i]);
    d += n[i];
  }
  fc_buf_commit(b, total);
  return FC_OK;
}

/* Appends C strings (at most 8). */
static int add_strs(fc_buf *b, const char *const *p, size_t k) {
  size_t n[8];
  if (k > 8) return FC_EINVAL;
  for (size_t i = 0; i < k; i++) n[i] = strlen(p[i]);
  return add_all(b, p, n, k);
}

/*
** Names and values are encoded, then sorted by name and, for a repeated
** name, by value. A parameter without a value is still "name=".
*/
int fc_sign_canonical_query(fc_buf *out, const fc_kv *q, size_t n) {
  if (n == 0) return FC_OK;
  size_t raw = 0, text = 0;
  for (size_t i = 0; i < n; i++) {
    size_t a = strlen(q[i].name), b = q[i].value ? strlen(q[i].value) : 0;
    /* encoding never shrinks: past the bound, so would the output be */
    if (a > FC_SIGN_MAX || b > FC_SIGN_MAX - a || raw > FC_SIGN_MAX - a - b) return FC_ETOOBIG;
    raw += a + b;
  }
  scratch s;
  int rc = FC_OK;
  for (size_t i = 0; i < n; i++) {
    const char *val = q[i].value ? q[i].value : "";
    text += fc_pct_encoded_len(q[i].name, strlen(q[i].name), 0) +
            fc_pct_encoded_len(val, strlen(val), 0);
  }
  if ((rc = scratch_init(&s, n, text ? text : 1))) return rc;
  char *t = s.text;
  size_t total = n - 1 + n; /* the '&'s and '='s */
  for (size_t i = 0; i < n; i++) {
    const char *val = q[i].value ? q[i].value : "";
    size_t a = strlen(q[i].name), b = strlen(val);
    entry *e = &s.v[i];
    e->a = t;
    e->alen = fc_pct_encoded_len(q[i].name, a, 0);
    fc_pct_write(t, q[i].name, a, 0);
    t += e->alen;
    e->b = t;
    e->blen = fc_pct_encoded_len(val, b, 0);
    fc_pct_write(t, val, b, 0);
    t += e->blen;
    total += e->alen + e->blen;
  }
  sort_entries(s.v, n);
  rc = total > FC_SIGN_MAX ? FC_ETOOBIG : fc_buf_reserve(out, total);
  for (size_t i = 0; i < n && !rc; i++) {
    const entry *e = &s.v[i];
    rc = add_all(out, (const char *const[]){"&", e->a, "=", e->b},
                 (const size_t[]){i ? 1 : 0, e->alen, 1, e->blen}, 4);
  }
  scratch_free(&s);
  return rc;
}

int fc_sign_selects(const char *lname) {
  return strcmp(lname, "host") == 0 || strcmp(lname, "content-type") == 0 ||
         strncmp(lname, "x-acs-", 6) == 0;
}

static size_t lower(char *dst, const char *s) {
  size_t n = 0;
  for (; s[n]; n++) {
    char c = s[n];
    dst[n] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
  }
  dst[n] = '\0';
  return n;
}

/*
** Selected headers, lower-cased and trimmed, sorted by name; the values of
** a repeated name are sorted and joined with ','. names receives the
** SignedHeaders list.
*/
int fc_sign_canonical_headers(fc_buf *canon, fc_buf *names, const fc_kv *h,
                              size_t n, const char *only) {
  size_t text = 0;
  for (size_t i = 0; i < n; i++) {
    size_t a = strlen(h[i].name), b = h[i].value ? strlen(h[i].value) : 0;
    if (a > FC_SIGN_MAX || b > FC_SIGN_MAX) return FC_ETOOBIG;
    text += a + 1;
  }
  scratch s;
  int rc = scratch_init(&s, n ? n : 1, text ? text : 1);
  if (rc) return rc;
  char *t = s.text;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    size_t a = lower(t, h[i].name);
    if (!(only ? fc_list_has(only, ';', t) : fc_sign_selects(t))) continue;
    const char *v = h[i].value ? h[i].value : "", *end = v + strlen(v);
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
    s.v[k++] = (entry){t, v, a, (size_t)(end - v)};
    t += a + 1;
  }
  sort_entries(s.v, k);
  size_t ctotal = 0, ntotal = 0;
  for (size_t i = 0; i < k; i++) ctotal += s.v[i].alen + s.v[i].blen + 2, ntotal += s.v[i].alen + 1;
  rc = ctotal > FC_SIGN_MAX ? FC_ETOOBIG : fc_buf_reserve(canon, ctotal);
  if (!rc) rc = fc_buf_reserve(names, ntotal);
  for (size_t i = 0; i < k && !rc; i++) {
    const entry *e = &s.v[i];
    int first = i == 0 || cmp_bytes(e->a, e->alen, e[-1].a, e[-1].alen) != 0;
    int last = i + 1 == k || cmp_bytes(e->a, e->alen, e[1].a, e[1].alen) != 0;
    if (first) {
      rc = add_all(canon, (const char *const[]){e->a, ":"}, (const size_t[]){e->alen, 1}, 2);
      if (!rc) rc = add_all(names, (const char *const[]){";", e->a},
                            (const size_t[]){i ? 1 : 0, e->alen}, 2);
    } else {
      rc = fc_buf_add(canon, ",", 1);
    }
    if (!rc) rc = add_all(canon, (const char *const[]){e->b, "\n"},
                          (const size_t[]){e->blen, last ? 1 : 0}, 2);
  }
  scratch_free(&s);
  return rc;
}

int fc_sign_canonical_request(fc_buf *out, fc_buf *names, const fc_sign_input *in) {
  /* room for the usual request at once; the steps grow it if need be */
  size_t hint = 256 + (in->path ? strlen(in->path) : 0);
  for (size_t i = 0; i < in->nheaders; i++)
    hint += strlen(in->headers[i].name) + (in->headers[i].value ? strlen(in->headers[i].value) : 0) + 2;
  if (hint > FC_SIGN_MAX - out->len) hint = FC_SIGN_MAX - out->len;
  int rc = fc_buf_reserve(out, hint);
  if (!rc) rc = add_strs(out, (const char *const[]){in->method ? in->method : "", "\n"}, 2);
  if (!rc) rc = fc_sign_canonical_uri(out, in->path);
  if (!rc) rc = fc_buf_add(out, "\n", 1);
  if (!rc) rc = fc_sign_canonical_query(out, in->query, in->nquery);
  if (!rc) rc = fc_buf_add(out, "\n", 1);
  if (!rc) rc = fc_sign_canonical_headers(out, names, in->headers, in->nheaders, in->only);
  if (!rc) rc = add_all(out, (const char *const[]){"\n", fc_buf_str(names), "\n"},
                        (const size_t[]){1, names->len, 1}, 3);
  if (!rc) rc = fc_buf_adds(out, in->payload_hash ? in->payload_hash : "");
  return rc;
}

int fc_sign_string_to_sign(fc_buf *out, const char *canon, size_t len) {
  unsigned char d[FC_SHA256_LEN];
  char text[sizeof FC_SIGN_ALGORITHM + 2 * FC_SHA256_LEN + 1] = FC_SIGN_ALGORITHM "\n";
  int rc = fc_sha256(canon, len, d);
  if (rc) return rc;
  fc_hex(text + sizeof FC_SIGN_ALGORITHM, d, sizeof d);
  return fc_buf_add(out, text, sizeof text - 1);
}

static int signature_hex(char out[65], const fc_hmac_sha256_key *key, const char *secret,
                         const char *sts, size_t len) {
  unsigned char mac[FC_SHA256_LEN];
  int rc = key ? fc_hmac_sha256_keyed(key, sts, len, mac)
               : fc_hmac_sha256(secret, strlen(secret), sts, len, mac);
  if (rc) return rc;
  fc_hex(out, mac, sizeof mac);
  return FC_OK;
}

int fc_sign_signature(char out[65], const char *secret, const char *sts, size_t len) {
  return signature_hex(out, NULL, secret, sts, len);
}

void fc_signature_init(fc_signature *s) {
  fc_buf_init(&s->canonical_request, FC_SIGN_MAX);
  fc_buf_init(&s->string_to_sign, FC_SIGN_MAX);
  fc_buf_init(&s->signed_headers, FC_SIGN_MAX);
  fc_buf_init(&s->authorization, FC_SIGN_MAX);
  s->signature[0] = '\0';
}

void fc_signature_free(fc_signature *s) {
  fc_buf_free(&s->canonical_request);
  fc_buf_free(&s->string_to_sign);
  fc_buf_free(&s->signed_headers);
  fc_buf_free(&s->authorization);
  s->signature[0] = '\0';
}

int fc_sign(fc_signature *s, const fc_sign_input *in) { return fc_sign_keyed(s, in, NULL); }

int fc_sign_keyed(fc_signature *s, const fc_sign_input *in, const fc_hmac_sha256_key *key) {
  int rc = fc_sign_canonical_request(&s->canonical_request, &s->signed_headers, in);
  if (!rc) rc = fc_sign_string_to_sign(&s->string_to_sign, s->canonical_request.data,
                                       s->canonical_request.len);
  if (!rc) rc = signature_hex(s->signature, key, in->access_key_secret,
                              s->string_to_sign.data, s->string_to_sign.len);
  if (!rc) rc = add_all(&s->authorization,
                        (const char *const[]){FC_SIGN_ALGORITHM " Credential=", in->access_key_id,
                                              ",SignedHeaders=", fc_buf_str(&s->signed_headers),
                                              ",Signature=", s->signature},
                        (const size_t[]){sizeof FC_SIGN_ALGORITHM " Credential=" - 1,
                                         strlen(in->access_key_id), sizeof ",SignedHeaders=" - 1,
                                         s->signed_headers.len, sizeof ",Signature=" - 1,
                                         2 * FC_SHA256_LEN},
                        6);
  return rc;
}

/* Copies the value of "key=" up to the next ',' into dst (size cap). */
static int field(const char *s, const char *key, char *dst, size_t cap) {
  size_t kl = strlen(key);
  for (const char *p = s; p && *p;) {
    while (*p == ' ' || *p == ',') p++;
    if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
      p += kl + 1;
      size_t n = strcspn(p, ",");
      while (n && p[n - 1] == ' ') n--;
      if (n >= cap) return FC_EINVAL;
      memcpy(dst, p, n);
      dst[n] = '\0';
      return FC_OK;
    }
    p = strchr(p, ',');
  }
  return FC_EINVAL;
}

int fc_sign_parse_authorization(fc_auth *a, const char *value) {
  static const char alg[] = FC_SIGN_ALGORITHM " ";
  if (!value || strncmp(value, alg, sizeof alg - 1) != 0) return FC_EINVAL;
  const char *p = value + sizeof alg - 1;
  if (field(p, "Credential", a->credential, sizeof a->credential) ||
      field(p, "SignedHeaders", a->signed_headers, sizeof a->signed_headers) ||
      field(p, "Signature", a->signature, sizeof a->signature))
    return FC_EINVAL;
  return FC_OK;
}
