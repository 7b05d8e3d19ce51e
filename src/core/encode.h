/*
** encode.h: the text encodings of the signing protocol.
** Percent encoding follows RFC 3986 as ACS3 uses it: the unreserved bytes
** A-Z a-z 0-9 - _ . ~ stand as they are, every other byte is %XY with
** upper-case hex (space is %20, never +).
*/
#ifndef FC_ENCODE_H
#define FC_ENCODE_H

#include <stddef.h>

#include "buf.h"

/* Lower-case hex of n bytes; out has room for 2n + 1 chars. */
void fc_hex(char *out, const void *p, size_t n);
int fc_hex_encode(fc_buf *out, const void *p, size_t n);
/* FC_EINVAL on an odd length or a non-hex digit. */
int fc_hex_decode(fc_buf *out, const char *s, size_t n);
/* Percent-encodes s; with keep_slash, '/' stays (for paths). */
int fc_pct_encode(fc_buf *out, const char *s, size_t n, int keep_slash);
/* The same in two steps, for writers with their own memory: the encoded
** length, then the encoding written to dst (that many bytes, no NUL). */
size_t fc_pct_encoded_len(const char *s, size_t n, int keep_slash);
void fc_pct_write(char *dst, const char *s, size_t n, int keep_slash);
/* Decodes %XY escapes ('+' stays '+'); FC_EINVAL on a broken escape. */
int fc_pct_decode(fc_buf *out, const char *s, size_t n);
/* Decodes a query component: as fc_pct_decode, and '+' is a space. */
int fc_form_decode(fc_buf *out, const char *s, size_t n);
int fc_is_unreserved(unsigned char c);
/* 1 when item is one of the sep-separated entries of list ("a;b;c"). */
int fc_list_has(const char *list, char sep, const char *item);

#endif
