#include "crypto.h"

#include <errno.h>
#include <stdint.h>
#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <string.h>
#include <sys/random.h>

int fc_sha256(const void *p, size_t n, unsigned char out[FC_SHA256_LEN]) {
  return mbedtls_sha256_ret(p, n, out, 0) ? FC_EINVAL : FC_OK;
}

/*
** HMAC (RFC 2104) over mbedTLS's SHA-256 directly: the hash states after
** the inner and outer pads are kept, so a message costs only its own
** blocks and the outer block, with no allocation (mbedtls_md_hmac allocates
** a context per call). The states live in the key's opaque storage and are
** copied in and out with memcpy (SHA-256 contexts hold no pointers; this is
** what mbedtls_sha256_clone does).
*/
typedef struct hmac_state {
  mbedtls_sha256_context inner, outer;
} hmac_state;

_Static_assert(sizeof(hmac_state) <= sizeof(((fc_hmac_sha256_key *)0)->opaque.bytes),
               "fc_hmac_sha256_key too small for two SHA-256 contexts");

enum { BLOCK = 64 };

static void hmac_state_free(hmac_state *st) {
  mbedtls_sha256_free(&st->inner); /* zeroes */
  mbedtls_sha256_free(&st->outer);
}

int fc_hmac_sha256_key_init(fc_hmac_sha256_key *k, const void *key, size_t keylen) {
  unsigned char kb[BLOCK] = {0}, pad[BLOCK];
  hmac_state st;
  int rc = 0;
  mbedtls_sha256_init(&st.inner);
  mbedtls_sha256_init(&st.outer);
  if (keylen > BLOCK) {
    rc = mbedtls_sha256_ret(key, keylen, kb, 0);
  } else if (keylen) {
    memcpy(kb, key, keylen);
  }
  for (int i = 0; i < BLOCK; i++) pad[i] = (unsigned char)(kb[i] ^ 0x36);
  if (!rc) rc = mbedtls_sha256_starts_ret(&st.inner, 0);
  if (!rc) rc = mbedtls_sha256_update_ret(&st.inner, pad, BLOCK);
  for (int i = 0; i < BLOCK; i++) pad[i] = (unsigned char)(kb[i] ^ 0x5c);
  if (!rc) rc = mbedtls_sha256_starts_ret(&st.outer, 0);
  if (!rc) rc = mbedtls_sha256_update_ret(&st.outer, pad, BLOCK);
  if (!rc) memcpy(k->opaque.bytes, &st, sizeof st);
  mbedtls_platform_zeroize(kb, sizeof kb);
  mbedtls_platform_zeroize(pad, sizeof pad);
  hmac_state_free(&st);
  return rc ? FC_EINVAL : FC_OK;
}

int fc_hmac_sha256_keyed(const fc_hmac_sha256_key *k, const void *p, size_t n,
                         unsigned char out[FC_SHA256_LEN]) {
  hmac_state st;
  unsigned char ih[FC_SHA256_LEN];
  memcpy(&st, k->opaque.bytes, sizeof st);
  int rc = mbedtls_sha256_update_ret(&st.inner, p, n);
  if (!rc) rc = mbedtls_sha256_finish_ret(&st.inner, ih);
  if (!rc) rc = mbedtls_sha256_update_ret(&st.outer, ih, sizeof ih);
  if (!rc) rc = mbedtls_sha256_finish_ret(&st.outer, out);
  mbedtls_platform_zeroize(ih, sizeof ih);
  hmac_state_free(&st);
  return rc ? FC_EINVAL : FC_OK;
}

void fc_hmac_sha256_key_free(fc_hmac_sha256_key *k) {
  mbedtls_platform_zeroize(k->opaque.bytes, sizeof k->opaque.bytes);
}

int fc_hmac_sha256(const void *key, size_t keylen, const void *p, size_t n,
                   unsigned char out[FC_SHA256_LEN]) {
  fc_hmac_sha256_key k;
  int rc = fc_hmac_sha256_key_init(&k, key, keylen);
  if (!rc) rc = fc_hmac_sha256_keyed(&k, p, n, out);
  fc_hmac_sha256_key_free(&k);
  return rc;
}

/* HMAC-SHA1 through mbedTLS's generic HMAC: a few calls per refresh of STS
** credentials, so its allocation per call costs nothing that matters. */
int fc_hmac_sha1(const void *key, size_t keylen, const void *p, size_t n,
                 unsigned char out[FC_SHA1_LEN]) {
  const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
  if (!md) return FC_EINVAL;
  int rc = mbedtls_md_hmac(md, key, keylen, p, n, out);
  if (rc == MBEDTLS_ERR_MD_ALLOC_FAILED) return FC_ENOMEM;
  return rc ? FC_EINVAL : FC_OK;
}

int fc_base64_encode(fc_buf *out, const void *p, size_t n) {
  if (n > (SIZE_MAX - 3) / 4 * 3) return FC_ETOOBIG;
  size_t need = (n + 2) / 3 * 4, olen = 0;
  int rc = fc_buf_reserve(out, need);
  if (rc) return rc;
  /* mbedTLS writes a NUL after the text: reserve left room for it */
  if (mbedtls_base64_encode((unsigned char *)out->data + out->len, need + 1,
                            &olen, p, n))
    return FC_EINVAL;
  fc_buf_commit(out, olen);
  return FC_OK;
}

int fc_base64_decode(fc_buf *out, const char *s, size_t n) {
  size_t olen = 0;
  if (n % 4) return FC_EINVAL; /* padded, as FC sends it */
  int rc = mbedtls_base64_decode(NULL, 0, &olen, (const unsigned char *)s, n);
  if (rc == MBEDTLS_ERR_BASE64_INVALID_CHARACTER) return FC_EINVAL;
  if ((rc = fc_buf_reserve(out, olen))) return rc;
  if (olen == 0) return FC_OK;
  if (mbedtls_base64_decode((unsigned char *)out->data + out->len, olen, &olen,
                            (const unsigned char *)s, n))
    return FC_EINVAL;
  fc_buf_commit(out, olen);
  return FC_OK;
}

int fc_random(void *p, size_t n) {
  unsigned char *d = p;
  while (n) {
    ssize_t k = getrandom(d, n, 0);
    if (k < 0) {
      if (errno == EINTR) continue;
      return FC_EINVAL;
    }
    d += k;
    n -= (size_t)k;
  }
  return FC_OK;
}

void fc_zero(void *p, size_t n) { mbedtls_platform_zeroize(p, n); }

int fc_equal_ct(const void *a, const void *b, size_t n) {
  const volatile unsigned char *x = a, *y = b;
  unsigned char d = 0;
  for (size_t i = 0; i < n; i++) d |= x[i] ^ y[i];
  return d == 0;
}
