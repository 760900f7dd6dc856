/* headers: see headers.h. */
#include "headers.h"

#include <lauxlib.h>
#include <stdio.h>

void lc_headers_push(lua_State *L, const rd_kafka_headers_t *h)
{
    const char *name;
    const void *val;
    size_t size;
    lua_newtable(L);
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == 0; i++) {
        if (val)
            lua_pushlstring(L, val, size);
        else
            lua_pushlightuserdata(L, NULL);
        lua_setfield(L, -2, name);
    }
}

/* Headers from the record's map: strings as they are, connect.null as a null header, any
 * other value as JSON text (what a string-based header converter would write). */
rd_kafka_headers_t *lc_headers_from_lua(lua_State *L, int idx, lc_buf_t *tmp, char *err,
                                        size_t errsz)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (!k) {
            snprintf(err, errsz, "header names must be strings, got a %s", luaL_typename(L, -2));
            lua_pop(L, 2);
            rd_kafka_headers_destroy(h);
            return NULL;
        }
        size_t vl = 0;
        const char *v = NULL;
        if (lua_type(L, -1) == LUA_TSTRING) {
            v = lua_tolstring(L, -1, &vl);
        } else if (!(lua_type(L, -1) == LUA_TLIGHTUSERDATA && !lua_touserdata(L, -1))) {
            tmp->len = 0;
            if (lc_json_encode_sorted(L, lua_gettop(L), tmp, err, errsz) != 0) {
                lua_pop(L, 2);
                rd_kafka_headers_destroy(h);
                return NULL;
            }
            v = tmp->data, vl = tmp->len;
        }
        rd_kafka_header_add(h, k, -1, v, v ? (ssize_t)vl : 0);
        lua_pop(L, 1);
    }
    return h;
}
