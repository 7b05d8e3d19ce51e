#include "crypto.h"

#include <errno.h>
#include <stdint.h>
#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <string.h>
#include <sys/random.h>

/*
** SHA-256. The blocks are mbedTLS's work, except on CPUs with the SHA
** extensions (Intel since Goldmont and Ice Lake, AMD since Zen), where the
** instructions made for it do the same in a small fraction of the time;
** every signature hashes about a dozen blocks, a tenth of a request's cost
** in C. The streaming around the block function (buffering, padding) is
** ours, so that a hash state is plain data the HMAC keys below can copy.
*/
typedef struct sha256 {
  uint32_t h[8];
  uint64_t bytes; /* hashed so far */
  unsigned char buf[64];
  size_t used; /* bytes waiting in buf */
} sha256;

typedef void (*block_fn)(uint32_t h[8], const unsigned char *p, size_t blocks);

static void blocks_mbedtls(uint32_t h[8], const unsigned char *p, size_t blocks) {
  mbedtls_sha256_context c;
  mbedtls_sha256_init(&c);
  memcpy(c.state, h, sizeof c.state);
  for (; blocks; blocks--, p += 64) mbedtls_internal_sha256_process(&c, p); /* cannot fail */
  memcpy(h, c.state, sizeof c.state);
  mbedtls_sha256_free(&c);
}

static block_fn hash_blocks = blocks_mbedtls;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>

static const uint32_t K[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

/*
** The SHA extensions keep the state as ABEF and CDGH and do two rounds per
** sha256rnds2; sha256msg1 and sha256msg2 extend the message schedule four
** words at a time: W[t..t+3] = msg2(msg1(W[t-16..t-13], W[t-12..]) +
** W[t-7..t-4], W[t-4..t-1]).
*/
__attribute__((target("sha,sse4.1,ssse3")))
static void blocks_sha_ni(uint32_t h[8], const unsigned char *p, size_t blocks) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i t = _mm_loadu_si128((const __m128i *)(const void *)&h[0]);     /* DCBA */
  __m128i s1 = _mm_loadu_si128((const __m128i *)(const void *)&h[4]);    /* HGFE */
  t = _mm_shuffle_epi32(t, 0xB1);                    /* CDAB */
  s1 = _mm_shuffle_epi32(s1, 0x1B);                  /* EFGH */
  __m128i s0 = _mm_alignr_epi8(t, s1, 8);            /* ABEF */
  s1 = _mm_blend_epi16(s1, t, 0xF0);                 /* CDGH */
  for (; blocks; blocks--, p += 64) {
    __m128i abef = s0, cdgh = s1, w[4];
    for (int g = 0; g < 16; g++) {
      __m128i m;
      if (g < 4) {
        m = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * g)), bswap);
      } else {
        m = _mm_add_epi32(_mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]),
                          _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
        m = _mm_sha256msg2_epu32(m, w[(g + 3) & 3]);
      }
      w[g & 3] = m;
      __m128i k = _mm_add_epi32(m, _mm_load_si128((const __m128i *)(const void *)&K[4 * g]));
      s1 = _mm_sha256rnds2_epu32(s1, s0, k);
      s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(k, 0x0E));
    }
    s0 = _mm_add_epi32(s0, abef);
    s1 = _mm_add_epi32(s1, cdgh);
  }
  t = _mm_shuffle_epi32(s0, 0x1B);                   /* FEBA */
  s1 = _mm_shuffle_epi32(s1, 0xB1);                  /* DCHG */
  s0 = _mm_blend_epi16(t, s1, 0xF0);                 /* DCBA */
  s1 = _mm_alignr_epi8(s1, t, 8);                    /* HGFE */
  _mm_storeu_si128((__m128i *)(void *)&h[0], s0);
  _mm_storeu_si128((__m128i *)(void *)&h[4], s1);
}

static int have_sha_ni(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3)) return 0;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}

static pthread_once_t chosen = PTHREAD_ONCE_INIT;
static void choose(void) {
  if (have_sha_ni()) hash_blocks = blocks_sha_ni;
}
#define CHOOSE() pthread_once(&chosen, choose)

int fc_sha256_hardware(int use) {
  CHOOSE();
  if (use == 0) hash_blocks = blocks_mbedtls;
  if (use == 1 && have_sha_ni()) hash_blocks = blocks_sha_ni;
  return hash_blocks != blocks_mbedtls;
}
#else
#define CHOOSE() ((void)0)
int fc_sha256_hardware(int use) {
  (void)use;
  return 0;
}
#endif

static void sha256_init(sha256 *s) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  CHOOSE();
  memcpy(s->h, iv, sizeof iv);
  s->bytes = 0;
  s->used = 0;
}

static void sha256_update(sha256 *s, const void *data, size_t n) {
  const unsigned char *p = data;
  if (!n) return;
  s->bytes += n;
  if (s->used) {
    size_t k = 64 - s->used < n ? 64 - s->used : n;
    memcpy(s->buf + s->used, p, k);
    s->used += k;
    p += k;
    n -= k;
    if (s->used < 64) return;
    hash_blocks(s->h, s->buf, 1);
    s->used = 0;
  }
  if (n >= 64) {
    hash_blocks(s->h, p, n / 64);
    p += n / 64 * 64;
    n %= 64;
  }
  if (n) memcpy(s->buf, p, n);
  s->used = n;
}

static void sha256_final(sha256 *s, unsigned char out[FC_SHA256_LEN]) {
  unsigned char pad[128] = {0x80};
  uint64_t bits = s->bytes * 8;
  size_t n = (s->used < 56 ? 56 : 120) - s->used;
  for (int i = 0; i < 8; i++) pad[n + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
  sha256_update(s, pad, n + 8);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (unsigned char)(s->h[i] >> 24);
    out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
    out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
    out[4 * i + 3] = (unsigned char)s->h[i];
  }
}

int fc_sha256(const void *p, size_t n, unsigned char out[FC_SHA256_LEN]) {
  sha256 s;
  sha256_init(&s);
  sha256_update(&s, p, n);
  sha256_final(&s, out);
  return FC_OK;
}

/*
** HMAC (RFC 2104): the hash states after the inner and outer pads are kept
** in the key's opaque storage, so a message costs only its own blocks and
** the outer block, with no allocation.
*/
typedef struct hmac_state {
  sha256 inner, outer;
} hmac_state;

_Static_assert(sizeof(hmac_state) <= sizeof(((fc_hmac_sha256_key *)0)->opaque.bytes),
               "fc_hmac_sha256_key too small for two SHA-256 states");

enum { BLOCK = 64 };

int fc_hmac_sha256_key_init(fc_hmac_sha256_key *k, const void *key, size_t keylen) {
  unsigned char kb[BLOCK] = {0}, pad[BLOCK];
  hmac_state st;
  if (keylen > BLOCK) {
    fc_sha256(key, keylen, kb);
  } else if (keylen) {
    memcpy(kb, key, keylen);
  }
  for (int i = 0; i < BLOCK; i++) pad[i] = (unsigned char)(kb[i] ^ 0x36);
  sha256_init(&st.inner);
  sha256_update(&st.inner, pad, BLOCK);
  for (int i = 0; i < BLOCK; i++) pad[i] = (unsigned char)(kb[i] ^ 0x5c);
  sha256_init(&st.outer);
  sha256_update(&st.outer, pad, BLOCK);
  memcpy(k->opaque.bytes, &st, sizeof st);
  fc_zero(kb, sizeof kb);
  fc_zero(pad, sizeof pad);
  fc_zero(&st, sizeof st);
  return FC_OK;
}

int fc_hmac_sha256_keyed(const fc_hmac_sha256_key *k, const void *p, size_t n,
                         unsigned char out[FC_SHA256_LEN]) {
  hmac_state st;
  unsigned char ih[FC_SHA256_LEN];
  memcpy(&st, k->opaque.bytes, sizeof st);
  sha256_update(&st.inner, p, n);
  sha256_final(&st.inner, ih);
  sha256_update(&st.outer, ih, sizeof ih);
  sha256_final(&st.outer, out);
  fc_zero(ih, sizeof ih);
  fc_zero(&st, sizeof st);
  return FC_OK;
}

void fc_hmac_sha256_key_free(fc_hmac_sha256_key *k) { fc_zero(k->opaque.bytes, sizeof k->opaque.bytes); }

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
