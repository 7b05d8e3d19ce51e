/* Known-answer tests: FIPS 180-2 SHA-256, RFC 4231 HMAC-SHA256, RFC 2202 HMAC-SHA1,
** RFC 4648 base64. */
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

/* Lengths around the block and padding boundaries (Python's hashlib). */
static void sha256_boundaries(void) {
  static const struct {
    size_t n;
    const char *hex;
  } v[] = {
      {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
      {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
      {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
      {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
      {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
      {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
      {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
      {127, "c57e9278af78fa3cab38667bef4ce29d783787a2f731d4e12200270f0c32320a"},
      {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
      {129, "c12cb024a2e5551cca0e08fce8f1c5e314555cc3fef6329ee994a3db752166ae"},
  };
  char a[129];
  memset(a, 'a', sizeof a);
  for (size_t i = 0; i < sizeof v / sizeof *v; i++) CHECK_STR(sha_hex(a, v[i].n), v[i].hex);
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
  char trunc[33];
  memcpy(trunc, hmac_hex(k, 20, "Test With Truncation", 20), 32);
  trunc[32] = '\0';
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

static const char *sha1_hex(const void *k, size_t kn, const void *p, size_t n) {
  static char hex[41];
  unsigned char d[FC_SHA1_LEN];
  if (fc_hmac_sha1(k, kn, p, n, d)) return "error";
  fc_hex(hex, d, sizeof d);
  return hex;
}

/* The seven test cases of RFC 2202 section 3. */
static void hmac_sha1_rfc2202(void) {
  unsigned char k[80], data[50];
  memset(k, 0x0b, 20);
  CHECK_STR(sha1_hex(k, 20, "Hi There", 8), "b617318655057264e28bc0b6fb378c8ef146be00");
  const char *want = "what do ya want for nothing?";
  CHECK_STR(sha1_hex("Jefe", 4, want, strlen(want)), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  memset(k, 0xaa, 20);
  memset(data, 0xdd, 50);
  CHECK_STR(sha1_hex(k, 20, data, 50), "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
  for (int i = 0; i < 25; i++) k[i] = (unsigned char)(i + 1);
  memset(data, 0xcd, 50);
  CHECK_STR(sha1_hex(k, 25, data, 50), "4c9007f4026250c6bc8414f9bf50c86c2d7235da");
  memset(k, 0x0c, 20);
  CHECK_STR(sha1_hex(k, 20, "Test With Truncation", 20),
            "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04");
  memset(k, 0xaa, 80);
  const char *t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  CHECK_STR(sha1_hex(k, 80, t6, strlen(t6)), "aa4ae5e15272d00e95705637ce8a3b55ed402112");
  const char *t7 = "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data";
  CHECK_STR(sha1_hex(k, 80, t7, strlen(t7)), "e8e99d0f45237d786d6bbaa7965c7808bbff1a91");
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

static void sha256_paths_agree(void) {
  unsigned char data[1000], a[FC_SHA256_LEN], b[FC_SHA256_LEN];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 131 + 7);
  int differ = 0;
  for (size_t n = 0; n <= sizeof data; n++) {
    fc_sha256_hardware(1);
    fc_sha256(data, n, a);
    fc_sha256_hardware(0);
    fc_sha256(data, n, b);
    differ += memcmp(a, b, sizeof a) != 0;
  }
  fc_sha256_hardware(1);
  CHECK(differ == 0);
}

int main(void) {
  /* Both SHA-256 paths: the CPU's SHA extensions where it has them, and
  ** mbedTLS; and the two agree on every length up to 1000 bytes. */
  int hw = fc_sha256_hardware(-1);
  printf("SHA-256 on the CPU's SHA extensions: %s\n", hw ? "yes" : "no (mbedTLS only)");
  for (int use = hw; use >= 0; use--) {
    fc_sha256_hardware(use);
    RUN(sha256_fips180);
    RUN(sha256_boundaries);
    RUN(hmac_rfc4231);
    RUN(hmac_prepared_key);
  }
  if (hw) RUN(sha256_paths_agree);
  fc_sha256_hardware(hw);
  RUN(hmac_sha1_rfc2202);
  RUN(base64_rfc4648);
  RUN(base64_binary_and_errors);
  RUN(random_and_compare);
  DONE();
}
