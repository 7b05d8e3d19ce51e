/*
** preload.h: what a lua_State inside fcrun (the host's, or an emulator
** worker's) needs to `require "fc"` without touching the file system:
** fc.core and cjson linked in, the Lua half of fc embedded at build time.
*/
#ifndef FC_PRELOAD_H
#define FC_PRELOAD_H

#include <stddef.h>

struct lua_State;

struct fc_embedded {
  const char *module; /* "fc", "fc.client", ... */
  const char *chunkname;
  const char *bytecode; /* precompiled by luac5.4 at build time */
  size_t len;
};
extern const struct fc_embedded fc_embedded[]; /* ends with {NULL} */

/* Fills package.preload with fc.core, cjson and every embedded module. */
void fc_preload(struct lua_State *L);

#endif
