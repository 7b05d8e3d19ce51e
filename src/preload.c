#include "preload.h"

#include <lauxlib.h>
#include <lua-cjson.h>
#include <lua.h>

#include "lfc.h"

/*
** The loader of an embedded module: its index in fc_embedded is upvalue 1.
** The modules are bytecode made at build time by the luac of the Lua we
** link (cmake/embed.cmake); nothing else is ever loaded as bytecode.
*/
static int load_embedded(lua_State *L) {
  const struct fc_embedded *m = &fc_embedded[lua_tointeger(L, lua_upvalueindex(1))];
  if (luaL_loadbufferx(L, m->bytecode, m->len, m->chunkname, "b") != LUA_OK)
    return lua_error(L);
  lua_pushstring(L, m->module);
  lua_call(L, 1, 1);
  return 1;
}

void fc_preload(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_fc_core);
  lua_setfield(L, -2, "fc.core");
  lua_pushcfunction(L, luaopen_cjson);
  lua_setfield(L, -2, "cjson");
  for (lua_Integer i = 0; fc_embedded[i].module; i++) {
    lua_pushinteger(L, i);
    lua_pushcclosure(L, load_embedded, 1);
    lua_setfield(L, -2, fc_embedded[i].module);
  }
  lua_pop(L, 1);
}
