/* udata: what the C-backed userdata classes of lua/ share: their metatable, made once in the
 * registry, and the test that a value is one of them (luaL_testudata, which Lua 5.1's API
 * lacks). Header only; depends on LuaJIT. */
#ifndef LC_UDATA_H
#define LC_UDATA_H

#include <lauxlib.h>
#include <lua.h>

static inline void *lc_testudata(lua_State *L, int idx, const char *tname)
{
    void *u = lua_touserdata(L, idx);
    if (!u || !lua_getmetatable(L, idx)) return NULL;
    luaL_getmetatable(L, tname);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same ? u : NULL;
}

/* Pushes the registry's metatable tname, made on the first call with methods as its __index
 * and gc as its __gc: returns 1 then (the caller adds what else it has), else 0. */
static inline int lc_udata_class(lua_State *L, const char *tname, const luaL_Reg *methods,
                                 lua_CFunction gc)
{
    if (!luaL_newmetatable(L, tname)) return 0;
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    return 1;
}

#endif
