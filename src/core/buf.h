/*
** buf.h: a growable byte buffer with a hard upper bound.
** Every buffer that holds something a peer sent (bodies, headers, logs) has
** a maximum size, and adding past it fails cleanly with FC_ETOOBIG instead of
** growing without limit. The data is always NUL-terminated so that text
** can be used as a C string, but may itself contain NUL bytes.
*/
#ifndef FC_BUF_H
#define FC_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* Error codes shared by the whole core: 0 is success, negative is failure. */
enum {
  FC_OK = 0,
  FC_ENOMEM = -1,  /* an allocation failed */
  FC_ETOOBIG = -2, /* a buffer would pass its upper bound */
  FC_EINVAL = -3   /* malformed input */
};

typedef struct fc_buf {
  char *data; /* NULL until the first byte is added */
  size_t len; /* bytes in use, not counting the trailing NUL */
  size_t cap; /* bytes allocated */
  size_t max; /* most bytes it may ever hold */
} fc_buf;

#define FC_BUF_INIT(maxlen) {NULL, 0, 0, (maxlen)}

void fc_buf_init(fc_buf *b, size_t max);
void fc_buf_free(fc_buf *b);
void fc_buf_reset(fc_buf *b); /* len = 0, keeps the memory */
/* Room for n more bytes (and the NUL) at data + len, for writers that fill
** the space themselves and then call fc_buf_commit(b, written). */
int fc_buf_reserve(fc_buf *b, size_t n);
void fc_buf_commit(fc_buf *b, size_t n);
int fc_buf_add(fc_buf *b, const void *p, size_t n);
int fc_buf_adds(fc_buf *b, const char *s);
int fc_buf_addc(fc_buf *b, char c);
int fc_buf_printf(fc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The contents as a C string: "" for an empty buffer, never NULL. */
const char *fc_buf_str(const fc_buf *b);
/* Hands the memory to the caller (free() it) and empties the buffer. */
char *fc_buf_steal(fc_buf *b, size_t *len);
const char *fc_strerror(int err);

#endif
