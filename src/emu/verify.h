/*
** verify.h: the emulator's check of an incoming request, done the way FC
** does it: ACS3-HMAC-SHA256 over exactly the headers the client listed in
** SignedHeaders (recomputed with core/sign.c), the body hash, the date
** window, nonce reuse, the AccessKey id and the STS token. Lua-free, so it
** is unit-tested in plain C.
*/
#ifndef FC_EMU_VERIFY_H
#define FC_EMU_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "sign.h"

#define FC_NONCE_FULL 2 /* fc_nonce_store_add: no room for a new nonce */
#define FC_VERIFY_WINDOW 900 /* seconds x-acs-date may be off, each way */

/* What a request is checked against. */
typedef struct fc_verify_keys {
  const char *access_key_id;
  const char *access_key_secret;
  const char *security_token; /* NULL: none required */
} fc_verify_keys;

/* The request as received: method, decoded path and query, all headers. */
typedef struct fc_verify_request {
  const char *method;
  const char *path;
  const fc_kv *query;
  size_t nquery;
  const fc_kv *headers; /* names in any case, repeated names allowed */
  size_t nheaders;
  const void *body;
  size_t bodylen;
} fc_verify_request;

/* Why a request was refused, as FC answers it. */
typedef struct fc_verify_error {
  int status;       /* 400, 403, 500 */
  const char *code; /* FC error code, e.g. "SignatureNotMatch" */
  char message[320];
} fc_verify_error;

/* Nonces seen within the window: bounded, pruned as they expire, never
** forgotten before; safe to share between threads. */
typedef struct fc_nonce_store fc_nonce_store;
int fc_nonce_store_new(fc_nonce_store **out, size_t capacity);
void fc_nonce_store_free(fc_nonce_store *s);
/* 0: new (now remembered until expires), 1: seen before, FC_NONCE_FULL:
** the store holds capacity live nonces, so this one cannot be remembered
** (the request must be refused). Never FC_ENOMEM: allocated up front. */
int fc_nonce_store_add(fc_nonce_store *s, const char *nonce, time_t expires, time_t now);

/* Parses "yyyy-MM-ddTHH:mm:ssZ"; FC_EINVAL when it is not of that form. */
int fc_verify_parse_date(const char *s, time_t *out);

/* Everything but the body, as soon as the headers are in: 0 when the
** request is genuine (the signature covers x-acs-content-sha256); else -1
** with err filled in. The nonce is recorded only once the signature holds. */
int fc_verify_headers(const fc_verify_keys *keys, fc_nonce_store *nonces,
                      const fc_verify_request *rq, time_t now, fc_verify_error *err);
/* Then the body against the signed hash (hex): 0 when it matches. */
int fc_verify_body(const char *hash, const void *body, size_t len, fc_verify_error *err);
/* Both at once. */
int fc_verify(const fc_verify_keys *keys, fc_nonce_store *nonces,
              const fc_verify_request *rq, time_t now, fc_verify_error *err);

#endif
