/*
** util.h: the small helpers the emulator's files share: JSON string
** literals, CRC-64, lower-casing, random ids, monotonic deadlines.
*/
#ifndef FC_EMU_UTIL_H
#define FC_EMU_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

/* Appends s (n bytes) as a JSON string literal; bytes >= 0x80 pass as they
** are (logs and messages are UTF-8 as the function wrote them). */
int fc_json_str(fc_buf *out, const char *s, size_t n);
/* CRC-64/XZ (ECMA-182, reflected), the checksum OSS and FC use; start with
** crc = 0 and feed the pieces in order. */
uint64_t fc_crc64(uint64_t crc, const void *p, size_t n);
/* Copies s lower-cased (ASCII) into out (cap bytes, NUL-terminated); -1
** when it does not fit. out may be s. */
int fc_lower(char *out, size_t cap, const char *s);
/* "<prefix><8 hex of the unix time>-<2*nrandom hex>", FC's id shape
** (request ids "1-...", instance ids "c-..."); nrandom <= 32. */
void fc_random_id(char *out, size_t cap, const char *prefix, size_t nrandom);
/* n random characters of alphabet, then a NUL; -1 when the kernel gives no
** entropy (out is then still filled, from a fixed pattern). */
int fc_random_text(char *out, size_t n, const char *alphabet);
/* Wipes a secret (NULL is fine) and frees it. */
void fc_free_secret(char *s);
/* CLOCK_MONOTONIC now, and t + ms. */
struct timespec fc_mono_now(void);
struct timespec fc_mono_add(struct timespec t, double ms);
/* a - b in milliseconds. */
double fc_mono_ms(struct timespec a, struct timespec b);

#endif
