/*
** The binding under Lua memory errors (issue 7, defect 8): a Lua API call
** that raises while C memory is held must not leak it. Each operation runs
** with a Lua memory budget that runs out at every point in turn, through
** the pushing of its results; after lua_close, no allocation of the core
** or the binding may be left. Linked with -Wl,--wrap=malloc,... so that the
** C side's allocations are counted, while Lua's own go straight to libc.
*/
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>

#include "lfc.h"
#include "test.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

static long live; /* allocations of the core and the binding not yet freed */

void *__wrap_malloc(size_t n) {
  void *p = __real_malloc(n);
  if (p) live++;
  return p;
}
void *__wrap_calloc(size_t n, size_t size) {
  void *p = __real_calloc(n, size);
  if (p) live++;
  return p;
}
void *__wrap_realloc(void *p, size_t n) {
  void *q = __real_realloc(p, n);
  if (!p && q) live++;
  return q;
}
void __wrap_free(void *p) {
  if (p) live--;
  __real_free(p);
}

static size_t used, budget;

static void *lalloc(void *ud, void *p, size_t osize, size_t nsize) {
  (void)ud;
  if (!p) osize = 0;
  if (nsize == 0) {
    __real_free(p);
    used -= osize;
    return NULL;
  }
  if (nsize > osize && used - osize + nsize > budget) return NULL;
  void *q = __real_realloc(p, nsize);
  if (q) used = used - osize + nsize;
  return q;
}

/*
** Runs code (which returns a function to call and its argument) under
** budgets that leave it `extra` bytes, for extra from 0 up to the size it
** needs; returns how many runs hit a memory error.
*/
static int run_tight(const char *code) {
  int errors = 0, succeeded = 0;
  for (size_t extra = 0; !succeeded && extra < (8u << 20); extra += extra < 4096 ? 256 : extra / 4) {
    used = 0;
    budget = (size_t)-1;
    lua_State *L = lua_newstate(lalloc, NULL);
    CHECK(L != NULL);
    luaL_openlibs(L);
    luaL_requiref(L, "fc.core", luaopen_fc_core, 0);
    lua_pop(L, 1);
    CHECK(luaL_dostring(L, code) == LUA_OK); /* pushes fn, arg */
    lua_gc(L, LUA_GCCOLLECT);
    lua_gc(L, LUA_GCSTOP);
    budget = used + extra;
    int rc = lua_pcall(L, 1, 1, 0);
    if (rc == LUA_ERRMEM) errors++;
    else succeeded = rc == LUA_OK;
    budget = (size_t)-1;
    lua_close(L);
    CHECK(live == 0);
    if (live) {
      fprintf(stderr, "  %ld allocations left after %s with %zu bytes to spare\n", live,
              rc == LUA_OK ? "success" : "an error", extra);
      live = 0;
      break;
    }
  }
  CHECK(succeeded);
  return errors;
}

static void encoders_free_on_error(void) {
  CHECK(run_tight("local c = require 'fc.core'; return c.hex, string.rep('a', 1 << 20)") > 0);
  CHECK(run_tight("local c = require 'fc.core'; return c.base64, string.rep('a', 1 << 20)") > 0);
}

static void sign_frees_on_error(void) {
  CHECK(run_tight("local c = require 'fc.core'\n"
                  "return c.sign, {method = 'GET', path = '/', access_key_id = 'a',\n"
                  "  access_key_secret = 'b', headers = {['x-acs-big'] = string.rep('v', 1 << 19)}}") > 0);
}

int main(void) {
  RUN(encoders_free_on_error);
  RUN(sign_frees_on_error);
  DONE();
}
