/*
** libFuzzer target for everything that parses what a peer sent: the
** Authorization header, percent and form decoding, base64 and hex decoding,
** and the signer over arbitrary query and header bytes (as the emulator
** re-canonicalises a request). Build with -DFC_FUZZ=ON and clang.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encode.h"
#include "sign.h"
#include "split.h"


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
  }
  for (size_t i = 0; i < n; i++) free(parts[i]);
  return 0;
}
