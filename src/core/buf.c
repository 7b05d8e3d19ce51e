#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fc_buf_init(fc_buf *b, size_t max) {
  b->data = NULL;
  b->len = b->cap = 0;
  b->max = max;
}

void fc_buf_free(fc_buf *b) {
  free(b->data);
  fc_buf_init(b, b->max);
}

void fc_buf_reset(fc_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

/*
** Makes room for n more bytes plus the NUL. Grows by doubling, clamped to
** max + 1, so a buffer near its bound does not over-allocate.
*/
int fc_buf_reserve(fc_buf *b, size_t n) {
  /* len + n + 1 must fit in a size_t as well as under the bound */
  if (n > b->max || b->len > b->max - n || b->len + n == SIZE_MAX) return FC_ETOOBIG;
  size_t need = b->len + n + 1;
  if (need <= b->cap) return FC_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (b->max < SIZE_MAX && cap > b->max + 1) cap = b->max + 1; /* never below need */
  char *p = realloc(b->data, cap);
  if (!p) return FC_ENOMEM;
  b->data = p;
  b->cap = cap;
  p[b->len] = '\0';
  return FC_OK;
}

void fc_buf_commit(fc_buf *b, size_t n) {
  b->len += n;
  if (b->data) b->data[b->len] = '\0';
}

int fc_buf_add(fc_buf *b, const void *p, size_t n) {
  int rc = fc_buf_reserve(b, n);
  if (rc) return rc;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return FC_OK;
}

int fc_buf_adds(fc_buf *b, const char *s) { return fc_buf_add(b, s, strlen(s)); }

int fc_buf_addc(fc_buf *b, char c) { return fc_buf_add(b, &c, 1); }

int fc_buf_printf(fc_buf *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return FC_EINVAL;
  if ((size_t)n < sizeof small) return fc_buf_add(b, small, (size_t)n);
  int rc = fc_buf_reserve(b, (size_t)n);
  if (rc) return rc;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return FC_OK;
}

const char *fc_buf_str(const fc_buf *b) { return b->data ? b->data : ""; }

char *fc_buf_steal(fc_buf *b, size_t *len) {
  char *p = b->data;
  if (len) *len = b->len;
  fc_buf_init(b, b->max);
  return p;
}

const char *fc_strerror(int err) {
  switch (err) {
    case FC_OK: return "success";
    case FC_ENOMEM: return "out of memory";
    case FC_ETOOBIG: return "size limit exceeded";
    case FC_EINVAL: return "malformed input";
    default: return "unknown error";
  }
}
