/* headers: see headers.h. */
#include "headers.h"

#include <lauxlib.h>
#include <stdio.h>

/* Registry key of the headers metatable: a light userdata, so finding it per record is a
 * pointer lookup, not a string one. */
static const char mt_key = 0;

void lc_headers_open(lua_State *L)
{
    lua_newtable(L);
    lua_pushlightuserdata(L, (void *)&mt_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void lc_headers_push(lua_State *L, const rd_kafka_headers_t *h)
{
    const char *name;
    const void *val;
    size_t size, i;
    lua_createtable(L, (int)rd_kafka_header_cnt(h), 0);
    for (i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == 0; i++) {
        lua_createtable(L, 2, 0);
        lua_pushstring(L, name);
        lua_rawseti(L, -2, 1);
        if (val)
            lua_pushlstring(L, val, size);
        else
            lua_pushlightuserdata(L, NULL);
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_pushlightuserdata(L, (void *)&mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX); /* nil (no metatable) in a state without the SDK */
    lua_setmetatable(L, -2);
}

/* Adds header k with the value at the top of the stack (not popped). 0, or -1 with err. */
static int add_value(lua_State *L, rd_kafka_headers_t *h, const char *k, lc_buf_t *tmp, char *err,
                     size_t errsz)
{
    size_t vl = 0;
    const char *v = NULL;
    if (lua_type(L, -1) == LUA_TSTRING) {
        v = lua_tolstring(L, -1, &vl);
    } else if (!lua_isnil(L, -1) &&
               !(lua_type(L, -1) == LUA_TLIGHTUSERDATA && !lua_touserdata(L, -1))) {
        /* what a string-based header converter would write */
        tmp->len = 0;
        char sub[256];
        if (lc_json_encode_sorted(L, lua_gettop(L), tmp, sub, sizeof(sub)) != 0) {
            snprintf(err, errsz, "header '%s': %s", k, sub);
            return -1;
        }
        v = tmp->data, vl = tmp->len;
    }
    rd_kafka_header_add(h, k, -1, v, v ? (ssize_t)vl : 0);
    return 0;
}

rd_kafka_headers_t *lc_headers_from_lua(lua_State *L, int idx, lc_buf_t *tmp, char *err,
                                        size_t errsz)
{
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    int n = (int)lua_objlen(L, idx);
    rd_kafka_headers_t *h = rd_kafka_headers_new(n > 0 ? (size_t)n : 8);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        if (!lua_istable(L, -1)) {
            snprintf(err, errsz, "header %d of %d: expected a {name, value} pair, got a %s", i, n,
                     luaL_typename(L, -1));
            goto err1;
        }
        lua_rawgeti(L, -1, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            snprintf(err, errsz, "header %d of %d: names must be strings, got a %s", i, n,
                     luaL_typename(L, -1));
            lua_pop(L, 1);
            goto err1;
        }
        const char *k = lua_tostring(L, -1);
        lua_rawgeti(L, -2, 2);
        if (add_value(L, h, k, tmp, err, errsz) != 0) {
            lua_pop(L, 2);
            goto err1;
        }
        lua_pop(L, 3);
    }
    /* name = value fields: only a plain table from a script has them (the metatable keeps
     * names out of a headers list), so a headers list skips this walk */
    if (lua_getmetatable(L, idx)) {
        lua_pushlightuserdata(L, (void *)&mt_key);
        lua_rawget(L, LUA_REGISTRYINDEX);
        int is_list = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (is_list) return h;
    }
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) == LUA_TNUMBER) {
            lua_Number k = lua_tonumber(L, -2);
            lua_pop(L, 1);
            if (k >= 1 && k <= n && k == (lua_Number)(int)k) continue; /* an entry, sent above */
            snprintf(err, errsz, "headers: entry at %g after a gap (entries are 1..%d)", k, n);
            lua_pop(L, 1);
            goto err0;
        }
        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(err, errsz, "header names must be strings, got a %s", luaL_typename(L, -2));
            lua_pop(L, 2);
            goto err0;
        }
        if (add_value(L, h, lua_tostring(L, -2), tmp, err, errsz) != 0) {
            lua_pop(L, 2);
            goto err0;
        }
        lua_pop(L, 1);
    }
    return h;
err1:
    lua_pop(L, 1);
err0:
    rd_kafka_headers_destroy(h);
    return NULL;
}
