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

typedef struct pair {
  fc_buf a, b;
} pair;

static int cmp_pair(const void *x, const void *y) {
  const pair *p = x, *q = y;
  int c = strcmp(fc_buf_str(&p->a), fc_buf_str(&q->a));
  return c ? c : strcmp(fc_buf_str(&p->b), fc_buf_str(&q->b));
}

static void free_pairs(pair *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    fc_buf_free(&v[i].a);
    fc_buf_free(&v[i].b);
  }
  free(v);
}

/*
** Names and values are encoded, then sorted by name and, for a repeated
** name, by value. A parameter without a value is still "name=".
*/
int fc_sign_canonical_query(fc_buf *out, const fc_kv *q, size_t n) {
  if (n == 0) return FC_OK;
  pair *v = calloc(n, sizeof *v);
  if (!v) return FC_ENOMEM;
  int rc = FC_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    const char *val = q[i].value ? q[i].value : "";
    fc_buf_init(&v[i].a, FC_SIGN_MAX);
    fc_buf_init(&v[i].b, FC_SIGN_MAX);
    rc = fc_pct_encode(&v[i].a, q[i].name, strlen(q[i].name), 0);
    if (!rc) rc = fc_pct_encode(&v[i].b, val, strlen(val), 0);
  }
  if (!rc) qsort(v, n, sizeof *v, cmp_pair);
  for (size_t i = 0; i < n && !rc; i++) {
    rc = fc_buf_printf(out, "%s%s=%s", i ? "&" : "", fc_buf_str(&v[i].a),
                       fc_buf_str(&v[i].b));
  }
  free_pairs(v, n);
  return rc;
}

int fc_sign_selects(const char *lname) {
  return strcmp(lname, "host") == 0 || strcmp(lname, "content-type") == 0 ||
         strncmp(lname, "x-acs-", 6) == 0;
}

static int add_lower(fc_buf *b, const char *s) {
  for (; *s; s++) {
    char c = *s;
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    int rc = fc_buf_addc(b, c);
    if (rc) return rc;
  }
  return FC_OK;
}

static int add_trimmed(fc_buf *b, const char *s) {
  const char *end = s + strlen(s);
  while (s < end && (*s == ' ' || *s == '\t')) s++;
  while (end > s && (end[-1] == ' ' || end[-1] == '\t')) end--;
  return fc_buf_add(b, s, (size_t)(end - s));
}

/*
** Selected headers, lower-cased and trimmed, sorted by name; the values of
** a repeated name are sorted and joined with ','. names receives the
** SignedHeaders list.
*/
int fc_sign_canonical_headers(fc_buf *canon, fc_buf *names, const fc_kv *h,
                              size_t n, const char *only) {
  pair *v = n ? calloc(n, sizeof *v) : NULL;
  if (n && !v) return FC_ENOMEM;
  size_t k = 0;
  int rc = FC_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    pair *p = &v[k];
    fc_buf_init(&p->a, FC_SIGN_MAX);
    fc_buf_init(&p->b, FC_SIGN_MAX);
    rc = add_lower(&p->a, h[i].name);
    if (!rc) rc = add_trimmed(&p->b, h[i].value ? h[i].value : "");
    if (rc) { k++; break; }
    const char *ln = fc_buf_str(&p->a);
    if (only ? fc_list_has(only, ';', ln) : fc_sign_selects(ln)) {
      k++;
    } else {
      fc_buf_free(&p->a);
      fc_buf_free(&p->b);
    }
  }
  if (!rc) qsort(v, k, sizeof *v, cmp_pair);
  for (size_t i = 0; i < k && !rc; i++) {
    const char *name = fc_buf_str(&v[i].a);
    int first = i == 0 || strcmp(name, fc_buf_str(&v[i - 1].a)) != 0;
    int last = i + 1 == k || strcmp(name, fc_buf_str(&v[i + 1].a)) != 0;
    if (first) {
      rc = fc_buf_printf(canon, "%s:", name);
      if (!rc) rc = fc_buf_printf(names, "%s%s", i ? ";" : "", name);
    } else {
      rc = fc_buf_addc(canon, ',');
    }
    if (!rc) rc = fc_buf_add(canon, v[i].b.data, v[i].b.len);
    if (!rc && last) rc = fc_buf_addc(canon, '\n');
  }
  free_pairs(v, k);
  return rc;
}

int fc_sign_canonical_request(fc_buf *out, fc_buf *names, const fc_sign_input *in) {
  int rc = fc_buf_printf(out, "%s\n", in->method ? in->method : "");
  if (!rc) rc = fc_sign_canonical_uri(out, in->path);
  if (!rc) rc = fc_buf_addc(out, '\n');
  if (!rc) rc = fc_sign_canonical_query(out, in->query, in->nquery);
  if (!rc) rc = fc_buf_addc(out, '\n');
  if (!rc) rc = fc_sign_canonical_headers(out, names, in->headers, in->nheaders, in->only);
  if (!rc) rc = fc_buf_printf(out, "\n%s\n%s", fc_buf_str(names),
                              in->payload_hash ? in->payload_hash : "");
  return rc;
}

int fc_sign_string_to_sign(fc_buf *out, const char *canon, size_t len) {
  unsigned char d[FC_SHA256_LEN];
  char hex[2 * FC_SHA256_LEN + 1];
  int rc = fc_sha256(canon, len, d);
  if (rc) return rc;
  fc_hex(hex, d, sizeof d);
  return fc_buf_printf(out, FC_SIGN_ALGORITHM "\n%s", hex);
}

int fc_sign_signature(char out[65], const char *secret, const char *sts, size_t len) {
  unsigned char mac[FC_SHA256_LEN];
  int rc = fc_hmac_sha256(secret, strlen(secret), sts, len, mac);
  if (rc) return rc;
  fc_hex(out, mac, sizeof mac);
  return FC_OK;
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

int fc_sign(fc_signature *s, const fc_sign_input *in) {
  int rc = fc_sign_canonical_request(&s->canonical_request, &s->signed_headers, in);
  if (!rc) rc = fc_sign_string_to_sign(&s->string_to_sign, s->canonical_request.data,
                                       s->canonical_request.len);
  if (!rc) rc = fc_sign_signature(s->signature, in->access_key_secret,
                                  s->string_to_sign.data, s->string_to_sign.len);
  if (!rc) rc = fc_buf_printf(&s->authorization,
                              FC_SIGN_ALGORITHM " Credential=%s,SignedHeaders=%s,Signature=%s",
                              in->access_key_id, fc_buf_str(&s->signed_headers),
                              s->signature);
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
