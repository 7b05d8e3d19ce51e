/*
** test.h: the smallest harness that does the job. A test file defines
** test functions, lists them in main() with RUN(), and ends with DONE(),
** which prints "N passed, N failed" and sets the exit status.
*/
#ifndef FC_TEST_H
#define FC_TEST_H

#include <stdio.h>
#include <string.h>

static int t_passed, t_failed, t_ok;

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, \
              #cond);                                                     \
      t_ok = 0;                                                           \
    }                                                                     \
  } while (0)

#define CHECK_STR(got, want)                                                  \
  do {                                                                        \
    const char *g_ = (got), *w_ = (want);                                     \
    if (strcmp(g_, w_) != 0) {                                                \
      fprintf(stderr, "  %s:%d: %s\n    got:  \"%s\"\n    want: \"%s\"\n",    \
              __FILE__, __LINE__, #got, g_, w_);                              \
      t_ok = 0;                                                               \
    }                                                                         \
  } while (0)

#define RUN(fn)                                       \
  do {                                                \
    t_ok = 1;                                         \
    fn();                                             \
    if (t_ok) t_passed++; else t_failed++;            \
    printf("%s %s\n", t_ok ? "ok  " : "FAIL", #fn);   \
  } while (0)

#define DONE()                                             \
  do {                                                     \
    printf("%d passed, %d failed\n", t_passed, t_failed);  \
    return t_failed ? 1 : 0;                               \
  } while (0)

#endif
