/* Percent encoding and hex, including the TV-3 rows of FC-PROTOCOL.md. */
#include "encode.h"
#include "sign.h"
#include "test.h"

static const char *pct(const char *s, int keep_slash) {
  static fc_buf b = FC_BUF_INIT(4096);
  fc_buf_reset(&b);
  if (fc_pct_encode(&b, s, strlen(s), keep_slash)) return "error";
  return fc_buf_str(&b);
}

static void tv3_percent_encode(void) {
  CHECK_STR(pct("hello world", 0), "hello%20world");
  CHECK_STR(pct("hello*world", 0), "hello%2Aworld");
  CHECK_STR(pct("hello~world", 0), "hello~world");
  CHECK_STR(pct("a/b/c/ test", 0), "a%2Fb%2Fc%2F%20test"); /* GetEncodeParam */
  CHECK_STR(pct("/path/ test", 1), "/path/%20test");       /* GetEncodePath */
  CHECK_STR(pct("/path/#test", 1), "/path/%23test");
  CHECK_STR(pct("/path/\"test", 1), "/path/%22test");
  CHECK_STR(pct("pr\xc3\xb6" "d v1 (x)*!'~", 0), "pr%C3%B6d%20v1%20%28x%29%2A%21%27~");
  CHECK_STR(pct("AZaz09-_.~", 0), "AZaz09-_.~");
}

static const char *dec(const char *s, int form) {
  static fc_buf b = FC_BUF_INIT(4096);
  fc_buf_reset(&b);
  int rc = form ? fc_form_decode(&b, s, strlen(s)) : fc_pct_decode(&b, s, strlen(s));
  return rc == FC_EINVAL ? "EINVAL" : rc ? "error" : fc_buf_str(&b);
}

static void percent_decode(void) {
  CHECK_STR(dec("a%20b+c", 0), "a b+c");
  CHECK_STR(dec("a%20b+c", 1), "a b c");
  CHECK_STR(dec("%E4%B8%AD", 0), "\xe4\xb8\xad");
  CHECK_STR(dec("%2a%2A", 0), "**");
  CHECK_STR(dec("bad%", 0), "EINVAL");
  CHECK_STR(dec("bad%2", 0), "EINVAL");
  CHECK_STR(dec("bad%zz", 0), "EINVAL");
  CHECK_STR(dec("", 0), "");
}

static void hex_round_trip(void) {
  char out[7];
  fc_hex(out, "\x00\xab\xff", 3);
  CHECK_STR(out, "00abff");
  fc_buf b = FC_BUF_INIT(16);
  CHECK(fc_hex_decode(&b, "00ABff", 6) == FC_OK);
  CHECK(b.len == 3 && memcmp(b.data, "\x00\xab\xff", 3) == 0);
  CHECK(fc_hex_decode(&b, "abc", 3) == FC_EINVAL);
  CHECK(fc_hex_decode(&b, "zz", 2) == FC_EINVAL);
  fc_buf_free(&b);
}

static void list_membership(void) {
  CHECK(fc_list_has("host;x-acs-date", ';', "host"));
  CHECK(fc_list_has("host;x-acs-date", ';', "x-acs-date"));
  CHECK(!fc_list_has("host;x-acs-date", ';', "x-acs"));
  CHECK(!fc_list_has("host;x-acs-date", ';', "x-acs-date2"));
  CHECK(!fc_list_has("", ',', "a"));
  CHECK(fc_list_has("prod,1", ',', "1"));
}

int main(void) {
  RUN(tv3_percent_encode);
  RUN(percent_decode);
  RUN(hex_round_trip);
  RUN(list_membership);
  DONE();
}
