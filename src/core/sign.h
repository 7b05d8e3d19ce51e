/*
** sign.h: ACS3-HMAC-SHA256, the V3 signature of Alibaba Cloud APIs.
**
**   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n
**                      CanonicalHeaders \n SignedHeaders \n PayloadHash
**   StringToSign     = "ACS3-HMAC-SHA256" \n hex(SHA256(CanonicalRequest))
**   Signature        = hex(HMAC-SHA256(secret, StringToSign))
**
** Inputs are decoded: the signer does all the encoding, so a client and a
** server that re-canonicalises what it received share one implementation.
** Each step is a function of its own, tested on its own.
*/
#ifndef FC_SIGN_H
#define FC_SIGN_H

#include <stddef.h>

#include "buf.h"
#include "crypto.h"

#define FC_SIGN_ALGORITHM "ACS3-HMAC-SHA256"
#define FC_SIGN_MAX (1u << 20) /* bound of each canonical form */

typedef struct fc_kv {
  const char *name;
  const char *value;
} fc_kv;

typedef struct fc_sign_input {
  const char *method;       /* upper case; may be "" */
  const char *path;         /* decoded; "" stands for "/" */
  const fc_kv *query;       /* decoded names and values */
  size_t nquery;
  const fc_kv *headers;     /* names in any case; repeated names allowed */
  size_t nheaders;
  const char *only;         /* NULL: sign what FC signs (host, content-type,
                               x-acs-*); else the lower-case names to sign,
                               ';'-separated (a server verifying a request) */
  const char *payload_hash; /* lower-case hex SHA-256 of the body */
  const char *access_key_id;
  const char *access_key_secret;
} fc_sign_input;

typedef struct fc_signature {
  fc_buf canonical_request;
  fc_buf string_to_sign;
  fc_buf signed_headers;
  fc_buf authorization;
  char signature[65];
} fc_signature;

void fc_signature_init(fc_signature *s);
void fc_signature_free(fc_signature *s);
int fc_sign(fc_signature *s, const fc_sign_input *in);
/* fc_sign with the secret prepared once by fc_hmac_sha256_key_init (its
** HMAC pads are not hashed again for each signature); in->access_key_secret
** is not used. */
int fc_sign_keyed(fc_signature *s, const fc_sign_input *in, const fc_hmac_sha256_key *key);

/* The steps, in order. */
int fc_sign_canonical_uri(fc_buf *out, const char *path);
int fc_sign_canonical_query(fc_buf *out, const fc_kv *q, size_t n);
int fc_sign_canonical_headers(fc_buf *canon, fc_buf *names, const fc_kv *h,
                              size_t n, const char *only);
int fc_sign_canonical_request(fc_buf *out, fc_buf *names, const fc_sign_input *in);
int fc_sign_string_to_sign(fc_buf *out, const char *canon, size_t len);
int fc_sign_signature(char out[65], const char *secret, const char *sts, size_t len);

/* 1 when FC signs a header of this (lower-case) name. */
int fc_sign_selects(const char *lname);

/* The parts of an "ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=.."
** header, for a server. FC_EINVAL when it is not of that form. */
typedef struct fc_auth {
  char credential[256];
  char signed_headers[2048];
  char signature[65];
} fc_auth;
int fc_sign_parse_authorization(fc_auth *a, const char *value);

#endif
