/* The bounded buffer: growth, the hard limit, NUL termination. */
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "test.h"

static void grows_and_terminates(void) {
  fc_buf b = FC_BUF_INIT(1 << 20);
  CHECK_STR(fc_buf_str(&b), "");
  for (int i = 0; i < 1000; i++) CHECK(fc_buf_adds(&b, "0123456789") == FC_OK);
  CHECK(b.len == 10000);
  CHECK(b.data[b.len] == '\0');
  CHECK(fc_buf_printf(&b, "%0300d", 7) == FC_OK); /* longer than the small path */
  CHECK(b.len == 10300 && b.data[b.len - 1] == '7');
  fc_buf_reset(&b);
  CHECK(b.len == 0 && b.data[0] == '\0');
  fc_buf_free(&b);
  CHECK(b.data == NULL && b.max == (1 << 20));
}

static void refuses_past_the_bound(void) {
  fc_buf b = FC_BUF_INIT(8);
  CHECK(fc_buf_add(&b, "12345678", 8) == FC_OK);
  CHECK(fc_buf_addc(&b, '9') == FC_ETOOBIG);
  CHECK(b.len == 8);
  CHECK_STR(fc_buf_str(&b), "12345678");
  CHECK(fc_buf_printf(&b, "%s", "x") == FC_ETOOBIG);
  CHECK(b.cap <= 9);
  fc_buf_free(&b);
  fc_buf z = FC_BUF_INIT(0);
  CHECK(fc_buf_add(&z, "", 0) == FC_OK);
  CHECK(fc_buf_addc(&z, 'x') == FC_ETOOBIG);
  fc_buf_free(&z);
}

static void steal_hands_over(void) {
  fc_buf b = FC_BUF_INIT(64);
  CHECK(fc_buf_adds(&b, "abc") == FC_OK);
  size_t n = 0;
  char *p = fc_buf_steal(&b, &n);
  CHECK(n == 3 && p && strcmp(p, "abc") == 0);
  CHECK(b.data == NULL && b.len == 0);
  free(p);
}

/* Issue 7, defect 7: with max = SIZE_MAX, max + 1 wrapped to 0 and the
** buffer was cut to nothing before being written (a heap overflow). */
static void unbounded_is_overflow_safe(void) {
  fc_buf b = FC_BUF_INIT(SIZE_MAX);
  for (int i = 0; i < 100; i++) CHECK(fc_buf_adds(&b, "0123456789") == FC_OK);
  CHECK(b.len == 1000 && b.cap > b.len && b.data[b.len] == '\0');
  CHECK(fc_buf_reserve(&b, SIZE_MAX - b.len) == FC_ETOOBIG); /* len + n + 1 wraps */
  CHECK(fc_buf_reserve(&b, SIZE_MAX) == FC_ETOOBIG);
  CHECK(b.len == 1000);
  fc_buf_free(&b);
  fc_buf m = FC_BUF_INIT(SIZE_MAX - 1);
  CHECK(fc_buf_add(&m, "abc", 3) == FC_OK && m.cap >= 4);
  CHECK(fc_buf_reserve(&m, SIZE_MAX - 1) == FC_ETOOBIG);
  fc_buf_free(&m);
}

int main(void) {
  RUN(grows_and_terminates);
  RUN(refuses_past_the_bound);
  RUN(steal_hands_over);
  RUN(unbounded_is_overflow_safe);
  DONE();
}
