/*
** request.h: a request to FC, signed and laid out for the wire, in one
** call. The client's whole per-request work: the headers FC requires (host,
** x-acs-version, x-acs-date, x-acs-signature-nonce, x-acs-content-sha256,
** and the STS pair), the ACS3 signature from a prepared key, and the URL
** and header lines that http.c sends.
**
** A key holds an AccessKey: its id, its secret (as HMAC pads and in the
** form the STS RPC signature uses) and an STS token. The secret never
** leaves it, and fc_key_free zeroes it.
*/
#ifndef FC_REQUEST_H
#define FC_REQUEST_H

#include <stddef.h>

#include "buf.h"
#include "sign.h"

typedef struct fc_key fc_key;

/* NULL with *err set: FC_EINVAL when the id or the token (which go on the
** wire) holds a control character, FC_ENOMEM. token may be NULL. */
fc_key *fc_key_new(const char *id, const char *secret, const char *token, int *err);
/* A key with k's secret and another id and token; NULL as fc_key_new. */
fc_key *fc_key_rekey(const fc_key *k, const char *id, const char *token, int *err);
void fc_key_free(fc_key *k);
const char *fc_key_id(const fc_key *k);
const char *fc_key_token(const fc_key *k); /* NULL when there is none */
/* base64(HMAC-SHA1(secret "&", text)), appended to out: the RPC signature
** (SignatureVersion 1.0) of an STS call signed with this key. */
int fc_key_rpc_signature(const fc_key *k, const char *text, size_t n, fc_buf *out);

typedef struct fc_request {
  const char *method;  /* upper case */
  const char *scheme;  /* "http" or "https" */
  const char *host;    /* host[:port]: the URL's authority and the host header */
  const char *path;    /* decoded, starting with '/' */
  const fc_kv *query;  /* decoded names and values */
  size_t nquery;
  const fc_kv *headers; /* lower-case names, one-line values; any of
                           x-acs-version, x-acs-date, x-acs-signature-nonce,
                           user-agent and accept given here replace the
                           defaults; host, x-acs-content-sha256,
                           authorization and the STS pair are always ours */
  size_t nheaders;
  const char *body;
  size_t body_len;
  const char *version;    /* x-acs-version unless given */
  const char *user_agent; /* unless given */
} fc_request;

/* A signed request. Its buffers are kept between requests (reset, not
** freed), so a caller that signs many requests with one fc_wire allocates
** only while they grow. */
typedef struct fc_wire {
  fc_signature sig;
  fc_buf text;  /* the URL, then each "name: value" line, NUL-terminated */
  fc_buf index; /* the lines' pointers into text */
  const char *url;
  const char *const *lines;
  size_t nlines;
} fc_wire;

void fc_wire_init(fc_wire *w);
void fc_wire_free(fc_wire *w);
/* Signs r with k into w (replacing what w held): FC_EINVAL for a header
** name or value that cannot go on the wire (NUL, CR, LF, ':' in a name). */
int fc_wire_sign(fc_wire *w, const fc_key *k, const fc_request *r);

/* The current time as x-acs-date wants it, "YYYY-MM-DDThh:mm:ssZ"
** (computed once per second per thread). */
void fc_acs_date(char out[21]);
/* A fresh random x-acs-signature-nonce: 32 hex digits, from a per-thread
** pool of kernel randomness (refilled 256 nonces at a time; emptied in the
** child of a fork, so that no two processes share a nonce). */
int fc_acs_nonce(char out[33]);

#endif
