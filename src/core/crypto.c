#include "crypto.h"

#include <errno.h>
#include <stdint.h>
#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>
#include <sys/random.h>

int fc_sha256(const void *p, size_t n, unsigned char out[FC_SHA256_LEN]) {
  return mbedtls_sha256_ret(p, n, out, 0) ? FC_EINVAL : FC_OK;
}

static int hmac(mbedtls_md_type_t type, const void *key, size_t keylen, const void *p,
                size_t n, unsigned char *out) {
  const mbedtls_md_info_t *md = mbedtls_md_info_from_type(type);
  if (!md) return FC_EINVAL;
  int rc = mbedtls_md_hmac(md, key, keylen, p, n, out);
  if (rc == MBEDTLS_ERR_MD_ALLOC_FAILED) return FC_ENOMEM;
  return rc ? FC_EINVAL : FC_OK;
}

int fc_hmac_sha256(const void *key, size_t keylen, const void *p, size_t n,
                   unsigned char out[FC_SHA256_LEN]) {
  return hmac(MBEDTLS_MD_SHA256, key, keylen, p, n, out);
}

int fc_hmac_sha1(const void *key, size_t keylen, const void *p, size_t n,
                 unsigned char out[FC_SHA1_LEN]) {
  return hmac(MBEDTLS_MD_SHA1, key, keylen, p, n, out);
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

int fc_equal_ct(const void *a, const void *b, size_t n) {
  const volatile unsigned char *x = a, *y = b;
  unsigned char d = 0;
  for (size_t i = 0; i < n; i++) d |= x[i] ^ y[i];
  return d == 0;
}
