/*
** libFuzzer target for everything that parses what a peer sent: the
** Authorization header, percent and form decoding, base64 and hex decoding,
** and the signer over arbitrary query and header bytes (as the emulator
** re-canonicalises a request), and the client's wire request built from
** arbitrary header and query bytes: whatever it accepts puts no CR, LF or
** non-token name on the wire. Build with -DFC_FUZZ=ON and clang.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encode.h"
#include "request.h"
#include "sign.h"
#include "split.h"


/* An HTTP token, as a header name must be. */
static int token(const char *s, size_t n) {
  if (!n) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || strchr("!#$%&'*+-.^_`|~", s[i])))
      return 0;
  return 1;
}

/* The client's request from the parts (the endpoint is the client's own,
** checked before: fixed here). What it accepts must be safe to send. */
static void wire(char **parts, size_t size) {
  int err;
  fc_key *k = fc_key_new(parts[3], parts[4], size & 4 ? parts[6] : NULL, &err);
  if (!k) return;
  fc_kv q[2] = {{parts[1], parts[2]}, {parts[3], parts[4]}};
  fc_kv h[2] = {{parts[5], parts[6]}, {parts[7], parts[8]}};
  fc_request r = {"POST", "https", "fc.example:443", parts[0], q, 2, h, 2, parts[2],
                  strlen(parts[2]), "2023-03-30", "fuzz"};
  fc_wire w;
  fc_wire_init(&w);
  int rc = fc_wire_sign(&w, k, &r);
  if (rc == FC_OK) {
    for (const char *u = w.url; *u; u++)
      if ((unsigned char)*u <= ' ' || *u == 0x7f) abort(); /* the URL is encoded */
    for (size_t i = 0; i < w.nlines; i++) {
      const char *l = w.lines[i], *colon = strchr(l, ':');
      if (!colon || colon[1] != ' ' || !token(l, (size_t)(colon - l)) || strpbrk(l, "\r\n"))
        abort(); /* one "name: value" line, nothing more */
    }
  } else if (rc != FC_EINVAL && rc != FC_ETOOBIG && rc != FC_ENOMEM) {
    abort();
  }
  fc_wire_free(&w);
  fc_key_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  fc_buf b = FC_BUF_INIT(1 << 20);
  fc_pct_decode(&b, s, size);
  fc_buf_reset(&b);
  fc_form_decode(&b, s, size);
  fc_buf_reset(&b);
  fc_base64_decode(&b, s, size);
  fc_buf_reset(&b);
  fc_hex_decode(&b, s, size);
  fc_buf_reset(&b);
  fc_pct_encode(&b, s, size, size & 1);
  fc_buf_free(&b);

  char *parts[9] = {0};
  size_t n = split(data, size, parts, 9);
  if (n >= 1) {
    fc_auth a;
    fc_sign_parse_authorization(&a, parts[0]);
  }
  if (n == 9) {
    fc_kv q[2] = {{parts[1], parts[2]}, {parts[3], parts[4]}};
    fc_kv h[2] = {{parts[5], parts[6]}, {parts[7], parts[8]}};
    fc_sign_input in = {parts[0], parts[1], q, 2, h, 2, size & 2 ? parts[5] : NULL,
                        parts[2], parts[3], parts[4]};
    fc_signature sig;
    fc_signature_init(&sig);
    fc_sign(&sig, &in);
    fc_signature_free(&sig);
    wire(parts, size);
  }
  for (size_t i = 0; i < n; i++) free(parts[i]);
  return 0;
}
