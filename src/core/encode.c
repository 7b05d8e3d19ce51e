#include "encode.h"

#include <string.h>

static const char lower_hex[] = "0123456789abcdef";
static const char upper_hex[] = "0123456789ABCDEF";

void fc_hex(char *out, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = lower_hex[s[i] >> 4];
    out[2 * i + 1] = lower_hex[s[i] & 15];
  }
  out[2 * n] = '\0';
}

int fc_hex_encode(fc_buf *out, const void *p, size_t n) {
  if (n > ((size_t)-1 - 1) / 2) return FC_ETOOBIG;
  int rc = fc_buf_reserve(out, 2 * n);
  if (rc) return rc;
  fc_hex(out->data + out->len, p, n);
  fc_buf_commit(out, 2 * n);
  return FC_OK;
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int fc_hex_decode(fc_buf *out, const char *s, size_t n) {
  if (n % 2) return FC_EINVAL;
  int rc = fc_buf_reserve(out, n / 2);
  if (rc) return rc;
  unsigned char *d = (unsigned char *)out->data + out->len;
  for (size_t i = 0; i < n; i += 2) {
    int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
    if (hi < 0 || lo < 0) return FC_EINVAL;
    d[i / 2] = (unsigned char)(hi << 4 | lo);
  }
  fc_buf_commit(out, n / 2);
  return FC_OK;
}

int fc_is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

static int stays(unsigned char c, int keep_slash) {
  return fc_is_unreserved(c) || (keep_slash && c == '/');
}

size_t fc_pct_encoded_len(const char *s, size_t n, int keep_slash) {
  size_t k = n;
  for (size_t i = 0; i < n; i++) k += stays((unsigned char)s[i], keep_slash) ? 0 : 2;
  return k;
}

void fc_pct_write(char *dst, const char *s, size_t n, int keep_slash) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (stays(c, keep_slash)) {
      *dst++ = (char)c;
    } else {
      *dst++ = '%';
      *dst++ = upper_hex[c >> 4];
      *dst++ = upper_hex[c & 15];
    }
  }
}

int fc_pct_encode(fc_buf *out, const char *s, size_t n, int keep_slash) {
  if (n > ((size_t)-1 - 1) / 3) return FC_ETOOBIG;
  size_t k = fc_pct_encoded_len(s, n, keep_slash);
  int rc = fc_buf_reserve(out, k);
  if (rc) return rc;
  fc_pct_write(out->data + out->len, s, n, keep_slash);
  fc_buf_commit(out, k);
  return FC_OK;
}

static int decode(fc_buf *out, const char *s, size_t n, int plus_is_space) {
  int rc = fc_buf_reserve(out, n);
  if (rc) return rc;
  char *d = out->data + out->len;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '%') {
      if (n - i < 3) return FC_EINVAL;
      int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
      if (hi < 0 || lo < 0) return FC_EINVAL;
      c = (char)(hi << 4 | lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    d[k++] = c;
  }
  fc_buf_commit(out, k);
  return FC_OK;
}

int fc_pct_decode(fc_buf *out, const char *s, size_t n) { return decode(out, s, n, 0); }

int fc_form_decode(fc_buf *out, const char *s, size_t n) { return decode(out, s, n, 1); }

int fc_list_has(const char *list, char sep, const char *item) {
  size_t n = strlen(item);
  for (const char *p = list; *p;) {
    const char *end = strchr(p, sep);
    size_t k = end ? (size_t)(end - p) : strlen(p);
    if (k == n && memcmp(p, item, n) == 0) return 1;
    if (!end) break;
    p = end + 1;
  }
  return 0;
}
