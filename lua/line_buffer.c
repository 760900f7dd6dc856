/* line_buffer: see line_buffer.h. */
#include "line_buffer.h"
#include "udata.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MT "luaconnect.line_buffer"

typedef struct {
    char *data;
    size_t start, cut, len, cap;
    size_t n;            /* lines in the batch */
    size_t at_k, at_off; /* b:line's cursor: line at_k begins at at_off */
} lbuf_t;

static lbuf_t *check(lua_State *L)
{
    return (lbuf_t *)luaL_checkudata(L, 1, MT);
}

/* Room for extra more bytes after len; the consumed bytes before start are dropped first. */
static void reserve(lua_State *L, lbuf_t *b, size_t extra)
{
    if (b->start > 0) {
        memmove(b->data, b->data + b->start, b->len - b->start);
        b->cut -= b->start;
        b->len -= b->start;
        b->start = b->at_k = 0;
    }
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + extra)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) luaL_error(L, "line buffer: out of memory (%d bytes)", (int)cap);
    b->data = d;
    b->cap = cap;
}

static int l_new(lua_State *L)
{
    lbuf_t *b = lua_newuserdata(L, sizeof(*b));
    memset(b, 0, sizeof(*b));
    luaL_getmetatable(L, MT);
    lua_setmetatable(L, -2);
    return 1;
}

static int l_gc(lua_State *L)
{
    lbuf_t *b = check(L);
    free(b->data);
    b->data = NULL;
    b->cap = b->len = b->start = b->cut = 0;
    return 0;
}

static int l_begin(lua_State *L)
{
    lbuf_t *b = check(L);
    b->start = b->cut;
    b->n = b->at_k = 0;
    return 0;
}

static int l_cut(lua_State *L)
{
    lbuf_t *b = check(L);
    lua_Integer max = luaL_checkinteger(L, 2);
    while ((lua_Integer)b->n < max && b->cut < b->len) {
        const char *nl = memchr(b->data + b->cut, '\n', b->len - b->cut);
        if (!nl) break;
        b->cut = (size_t)(nl - b->data) + 1;
        b->n++;
    }
    lua_pushinteger(L, (lua_Integer)b->n);
    lua_pushinteger(L, (lua_Integer)(b->cut - b->start));
    return 2;
}

static int l_fill(lua_State *L)
{
    lbuf_t *b = check(L);
    FILE **f = (FILE **)luaL_checkudata(L, 2, LUA_FILEHANDLE);
    lua_Integer size = luaL_checkinteger(L, 3);
    if (!*f) return luaL_error(L, "line buffer: the file is closed");
    if (size < 1) size = 1;
    reserve(L, b, (size_t)size);
    size_t got = fread(b->data + b->len, 1, (size_t)size, *f);
    b->len += got;
    lua_pushinteger(L, (lua_Integer)got);
    return 1;
}

static int l_append(lua_State *L)
{
    lbuf_t *b = check(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    reserve(L, b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

static int l_reset(lua_State *L)
{
    lbuf_t *b = check(L);
    b->start = b->cut = b->len = b->n = b->at_k = b->at_off = 0;
    return 0;
}

static int l_text(lua_State *L)
{
    lbuf_t *b = check(L);
    lua_pushlstring(L, b->data ? b->data + b->start : "", b->cut - b->start);
    return 1;
}

static int l_line(lua_State *L)
{
    lbuf_t *b = check(L);
    lua_Integer k = luaL_checkinteger(L, 2);
    if (k < 1 || (size_t)k > b->n)
        return luaL_error(L, "line buffer: no line %d in a batch of %d", (int)k, (int)b->n);
    size_t off = b->start, at = 1;
    if (b->at_k && b->at_k <= (size_t)k && b->at_off >= b->start) {
        off = b->at_off;
        at = b->at_k;
    }
    for (; at < (size_t)k; at++)
        off = (size_t)((const char *)memchr(b->data + off, '\n', b->cut - off) - b->data) + 1;
    const char *nl = memchr(b->data + off, '\n', b->cut - off);
    size_t end = (size_t)(nl - b->data) + 1;
    b->at_k = (size_t)k;
    b->at_off = off;
    lua_pushlstring(L, b->data + off, end - off);
    return 1;
}

static int l_len(lua_State *L)
{
    lbuf_t *b = check(L);
    lua_pushinteger(L, (lua_Integer)(b->cut - b->start));
    return 1;
}

void lc_line_buffer_open(lua_State *L)
{
    static const luaL_Reg methods[] = {{"begin", l_begin},   {"cut", l_cut},     {"fill", l_fill},
                                       {"append", l_append}, {"reset", l_reset}, {"text", l_text},
                                       {"line", l_line},     {NULL, NULL}};
    if (lc_udata_class(L, MT, methods, l_gc)) {
        lua_pushcfunction(L, l_len);
        lua_setfield(L, -2, "__len");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_new);
}

int lc_line_buffer_batch(lua_State *L, int idx, const char **data, size_t *len)
{
    lbuf_t *b = lc_testudata(L, idx, MT);
    if (!b) return 0;
    *data = b->data ? b->data + b->start : "";
    *len = b->cut - b->start;
    return 1;
}
