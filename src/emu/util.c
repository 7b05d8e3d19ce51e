#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encode.h"

int fc_json_str(fc_buf *out, const char *s, size_t n) {
  int rc = fc_buf_addc(out, '"');
  for (size_t i = 0; i < n && !rc; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      rc = fc_buf_add(out, e, 2);
    } else if (c == '\n') {
      rc = fc_buf_adds(out, "\\n");
    } else if (c == '\t') {
      rc = fc_buf_adds(out, "\\t");
    } else if (c == '\r') {
      rc = fc_buf_adds(out, "\\r");
    } else if (c < 0x20 || c == 0x7f) {
      rc = fc_buf_printf(out, "\\u%04x", c);
    } else {
      rc = fc_buf_addc(out, (char)c);
    }
  }
  if (!rc) rc = fc_buf_addc(out, '"');
  return rc;
}

static uint64_t crc64_table[256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void) {
  for (unsigned i = 0; i < 256; i++) {
    uint64_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xC96C5795D7870F42ull : c >> 1;
    crc64_table[i] = c;
  }
}

uint64_t fc_crc64(uint64_t crc, const void *p, size_t n) {
  pthread_once(&crc64_once, crc64_init);
  const unsigned char *s = p;
  crc = ~crc;
  for (size_t i = 0; i < n; i++) crc = crc64_table[(crc ^ s[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

int fc_lower(char *out, size_t cap, const char *s) {
  size_t n = strlen(s);
  if (n >= cap) return -1;
  for (size_t i = 0; i <= n; i++) {
    char c = s[i];
    out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return 0;
}

void fc_random_id(char *out, size_t cap, const char *prefix, size_t nrandom) {
  unsigned char r[32];
  char hex[65];
  if (nrandom > sizeof r) nrandom = sizeof r;
  if (fc_random(r, nrandom) != FC_OK) memset(r, 0, nrandom);
  fc_hex(hex, r, nrandom);
  snprintf(out, cap, "%s%08lx-%s", prefix, (unsigned long)time(NULL) & 0xffffffffUL, hex);
}

int fc_random_text(char *out, size_t n, const char *alphabet) {
  size_t k = strlen(alphabet);
  int rc = 0;
  for (size_t i = 0; i < n; i += 32) {
    unsigned char r[32];
    size_t m = n - i < sizeof r ? n - i : sizeof r;
    if (fc_random(r, m) != FC_OK) {
      memset(r, 7, m);
      rc = -1;
    }
    for (size_t j = 0; j < m; j++) out[i + j] = alphabet[r[j] % k];
  }
  out[n] = '\0';
  return rc;
}

void fc_free_secret(char *s) {
  if (s) memset(s, 0, strlen(s));
  free(s);
}

struct timespec fc_mono_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t;
}

struct timespec fc_mono_add(struct timespec t, double ms) {
  long long ns = (long long)t.tv_nsec + (long long)(ms * 1e6);
  t.tv_sec += (time_t)(ns / 1000000000LL);
  t.tv_nsec = (long)(ns % 1000000000LL);
  if (t.tv_nsec < 0) {
    t.tv_nsec += 1000000000L;
    t.tv_sec--;
  }
  return t;
}

double fc_mono_ms(struct timespec a, struct timespec b) {
  return (double)(a.tv_sec - b.tv_sec) * 1e3 + (double)(a.tv_nsec - b.tv_nsec) / 1e6;
}
