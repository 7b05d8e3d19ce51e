/*
** crypto.h: the few primitives fcrun needs, behind one small shim.
** Only crypto.c includes mbedTLS, so a PSA (mbedTLS 3/4) backend is a
** change to one file.
*/
#ifndef FC_CRYPTO_H
#define FC_CRYPTO_H

#include <stddef.h>

#include "buf.h"

#define FC_SHA256_LEN 32
#define FC_SHA1_LEN 20

int fc_sha256(const void *p, size_t n, unsigned char out[FC_SHA256_LEN]);
/* Whether SHA-256 runs on the CPU's SHA extensions (1) or mbedTLS (0).
** use: 0 forces mbedTLS, 1 the extensions where the CPU has them, -1 asks.
** For tests, which check both. */
int fc_sha256_hardware(int use);
int fc_hmac_sha256(const void *key, size_t keylen, const void *p, size_t n,
                   unsigned char out[FC_SHA256_LEN]);
/* HMAC-SHA1 (RFC 2104): only for STS's RPC signature (SignatureVersion 1.0). */
int fc_hmac_sha1(const void *key, size_t keylen, const void *p, size_t n,
                 unsigned char out[FC_SHA1_LEN]);
/* HMAC-SHA256 under one key with the key's pads hashed once, for signing
** many messages: _key_init once, _keyed per message, _key_free when done.
** It holds state derived from the key, so _key_free zeroes it. The storage
** is opaque (the backend's hash states). */
typedef struct fc_hmac_sha256_key {
  union {
    unsigned long long align;
    unsigned char bytes[256];
  } opaque;
} fc_hmac_sha256_key;
int fc_hmac_sha256_key_init(fc_hmac_sha256_key *k, const void *key, size_t keylen);
int fc_hmac_sha256_keyed(const fc_hmac_sha256_key *k, const void *p, size_t n,
                         unsigned char out[FC_SHA256_LEN]);
void fc_hmac_sha256_key_free(fc_hmac_sha256_key *k);
/* Standard base64 (RFC 4648, with padding), appended to out. */
int fc_base64_encode(fc_buf *out, const void *p, size_t n);
/* Strict decoding: FC_EINVAL on any character outside the alphabet. */
int fc_base64_decode(fc_buf *out, const char *s, size_t n);
/* n bytes from the kernel's CSPRNG. */
int fc_random(void *p, size_t n);
/* Zeroes n bytes in a way the compiler does not remove (secrets). */
void fc_zero(void *p, size_t n);
/* 1 when equal; the time taken depends on n only. */
int fc_equal_ct(const void *a, const void *b, size_t n);

#endif
