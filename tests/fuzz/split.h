/*
** split.h: shared by the fuzz targets, which take several strings out of one
** fuzzer input.
*/
#ifndef FC_FUZZ_SPLIT_H
#define FC_FUZZ_SPLIT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Splits data at NUL bytes into at most n strings (copies, NUL-terminated). */
static size_t split(const uint8_t *data, size_t size, char **out, size_t n) {
  size_t k = 0, start = 0;
  for (size_t i = 0; i <= size && k < n; i++) {
    if (i == size || data[i] == 0) {
      out[k] = malloc(i - start + 1);
      if (!out[k]) break;
      memcpy(out[k], data + start, i - start);
      out[k][i - start] = '\0';
      k++;
      start = i + 1;
    }
  }
  return k;
}

#endif
