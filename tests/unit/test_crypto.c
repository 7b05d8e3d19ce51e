/* Known-answer tests: FIPS 180-2 SHA-256, RFC 4231 HMAC-SHA256, RFC 4648 base64. */
#include <stdlib.h>

#include "crypto.h"
#include "encode.h"
#include "test.h"

static const char *sha_hex(const void *p, size_t n) {
  static char hex[65];
  unsigned char d[FC_SHA256_LEN];
  if (fc_sha256(p, n, d)) return "error";
  fc_hex(hex, d, sizeof d);
  return hex;
}

static void sha256_fips180(void) {
  CHECK_STR(sha_hex("abc", 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK_STR(sha_hex("", 0),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK_STR(sha_hex(two, strlen(two)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  char *million = malloc(1000000);
  CHECK(million != NULL);
  if (!million) return;
  memset(million, 'a', 1000000);
  CHECK_STR(sha_hex(million, 1000000),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(million);
  CHECK_STR(sha_hex("test", 4),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

static const char *hmac_hex(const void *k, size_t kn, const void *p, size_t n) {
  static char hex[65];
  unsigned char d[FC_SHA256_LEN];
  if (fc_hmac_sha256(k, kn, p, n, d)) return "error";
  fc_hex(hex, d, sizeof d);
  return hex;
}

static void hmac_rfc4231(void) {
  unsigned char k[131], data[50];
  memset(k, 0x0b, 20);
  CHECK_STR(hmac_hex(k, 20, "Hi There", 8),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  const char *want = "what do ya want for nothing?";
  CHECK_STR(hmac_hex("Jefe", 4, want, strlen(want)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  memset(k, 0xaa, 20);
  memset(data, 0xdd, 50);
  CHECK_STR(hmac_hex(k, 20, data, 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  for (int i = 0; i < 25; i++) k[i] = (unsigned char)(i + 1);
  memset(data, 0xcd, 50);
  CHECK_STR(hmac_hex(k, 25, data, 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  memset(k, 0x0c, 20);
  char trunc[65];
  snprintf(trunc, 33, "%s", hmac_hex(k, 20, "Test With Truncation", 20));
  CHECK_STR(trunc, "a3b6167473100ee06e0c796c2955552b");
  memset(k, 0xaa, 131);
  const char *t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  CHECK_STR(hmac_hex(k, 131, t6, strlen(t6)),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  const char *t7 =
      "This is a test using a larger than block-size key and a larger than "
      "block-size data. The key needs to be hashed before being used by the "
      "HMAC algorithm.";
  CHECK_STR(hmac_hex(k, 131, t7, strlen(t7)),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

/* One prepared key, many messages: the same answers as the one-shot HMAC
** (RFC 4231 cases 6 and 7 share their 131-byte key), and free zeroes it. */
static void hmac_prepared_key(void) {
  unsigned char k[131], d[FC_SHA256_LEN];
  char hex[65];
  memset(k, 0xaa, sizeof k);
  fc_hmac_sha256_key key;
  CHECK(fc_hmac_sha256_key_init(&key, k, sizeof k) == FC_OK);
  const char *t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  for (int round = 0; round < 2; round++) { /* the key is not consumed */
    CHECK(fc_hmac_sha256_keyed(&key, t6, strlen(t6), d) == FC_OK);
    fc_hex(hex, d, sizeof d);
    CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  }
  const char *t7 =
      "This is a test using a larger than block-size key and a larger than "
      "block-size data. The key needs to be hashed before being used by the "
      "HMAC algorithm.";
  CHECK(fc_hmac_sha256_keyed(&key, t7, strlen(t7), d) == FC_OK);
  fc_hex(hex, d, sizeof d);
  CHECK_STR(hex, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
  fc_hmac_sha256_key_free(&key);
  unsigned char zero[sizeof key.opaque.bytes] = {0};
  CHECK(memcmp(key.opaque.bytes, zero, sizeof zero) == 0);
  CHECK(fc_hmac_sha256_key_init(&key, "", 0) == FC_OK); /* an empty key is a key */
  CHECK(fc_hmac_sha256_keyed(&key, "", 0, d) == FC_OK);
  fc_hex(hex, d, sizeof d);
  CHECK_STR(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  fc_hmac_sha256_key_free(&key);
}

static void base64_rfc4648(void) {
  static const char *const v[][2] = {{"", ""},         {"f", "Zg=="},
                                     {"fo", "Zm8="},   {"foo", "Zm9v"},
                                     {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                     {"foobar", "Zm9vYmFy"}};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    fc_buf e = FC_BUF_INIT(64), d = FC_BUF_INIT(64);
    CHECK(fc_base64_encode(&e, v[i][0], strlen(v[i][0])) == FC_OK);
    CHECK_STR(fc_buf_str(&e), v[i][1]);
    CHECK(fc_base64_decode(&d, v[i][1], strlen(v[i][1])) == FC_OK);
    CHECK_STR(fc_buf_str(&d), v[i][0]);
    fc_buf_free(&e);
    fc_buf_free(&d);
  }
}

static void base64_binary_and_errors(void) {
  unsigned char bin[256];
  for (int i = 0; i < 256; i++) bin[i] = (unsigned char)i;
  fc_buf e = FC_BUF_INIT(1024), d = FC_BUF_INIT(1024);
  CHECK(fc_base64_encode(&e, bin, sizeof bin) == FC_OK);
  CHECK(fc_base64_decode(&d, e.data, e.len) == FC_OK);
  CHECK(d.len == sizeof bin && memcmp(d.data, bin, sizeof bin) == 0);
  fc_buf_reset(&d);
  CHECK(fc_base64_decode(&d, "Zm9v!", 5) == FC_EINVAL);
  CHECK(fc_base64_decode(&d, "Zg=", 3) == FC_EINVAL);
  fc_buf small = FC_BUF_INIT(3);
  CHECK(fc_base64_encode(&small, "foo", 3) == FC_ETOOBIG);
  fc_buf_free(&small);
  fc_buf_free(&e);
  fc_buf_free(&d);
}

static void random_and_compare(void) {
  unsigned char a[32] = {0}, b[32] = {0};
  CHECK(fc_random(a, sizeof a) == FC_OK);
  CHECK(fc_random(b, sizeof b) == FC_OK);
  CHECK(!fc_equal_ct(a, b, sizeof a));
  CHECK(fc_equal_ct(a, a, sizeof a));
}

int main(void) {
  RUN(sha256_fips180);
  RUN(hmac_rfc4231);
  RUN(hmac_prepared_key);
  RUN(base64_rfc4648);
  RUN(base64_binary_and_errors);
  RUN(random_and_compare);
  DONE();
}
