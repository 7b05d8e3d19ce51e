/*
** lfc.h: fc.core, the C half of the Lua module `fc`.
*/
#ifndef FC_LFC_H
#define FC_LFC_H

struct lua_State;

int luaopen_fc_core(struct lua_State *L);

#endif
