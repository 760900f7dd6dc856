/* json_edit_api: see json_edit_api.h. */
#include "json_edit_api.h"
#include "udata.h"

#include <lauxlib.h>
#include <string.h>

#define EDIT_MT "luaconnect.json_edit"

typedef struct {
    lc_json_edit_t e;
    const char *topic;
    lc_buf_t line; /* e:apply's, kept for the next call */
    /* then the ops, the names and the bytes they point to */
} edit_ud_t;

typedef struct {
    const char *op;
    lc_edit_kind_t kind;
    lc_edit_src_t src;
} op_name_t;

static const op_name_t op_names[] = {
    {"set_string", LC_EDIT_SET, LC_EDIT_TEXT},   {"set_partition", LC_EDIT_SET, LC_EDIT_PARTITION},
    {"set_offset", LC_EDIT_SET, LC_EDIT_OFFSET}, {"set_timestamp", LC_EDIT_SET, LC_EDIT_TIMESTAMP},
    {"drop", LC_EDIT_DROP, LC_EDIT_TEXT},        {"keep", LC_EDIT_KEEP, LC_EDIT_TEXT},
    {"move", LC_EDIT_MOVE, LC_EDIT_TEXT},
};

static const op_name_t *op_of(lua_State *L, int op_idx, int i)
{
    const char *s;
    size_t k;

    lua_rawgeti(L, op_idx, 1);
    s = lua_tostring(L, -1);
    lua_pop(L, 1);
    for (k = 0; s && k < sizeof op_names / sizeof *op_names; k++)
        if (strcmp(s, op_names[k].op) == 0) return &op_names[k];
    luaL_error(L, "json_edit: op %d: unknown op '%s'", i, s ? s : "?");
    return NULL;
}

/* Space for the strings: a bump allocator over the userdata's tail. */
typedef struct {
    char *at;
    size_t left;
} arena_t;

static const char *arena_str(lua_State *L, arena_t *a, int idx, size_t *n, const char *what)
{
    const char *s = lua_tolstring(L, idx, n);
    char *d;

    if (!s || lua_type(L, idx) != LUA_TSTRING) luaL_error(L, "json_edit: %s is not a string", what);
    if (!a) return s;
    d = a->at;
    memcpy(d, s, *n);
    d[*n] = '\0';
    a->at += *n + 1;
    a->left -= *n + 1;
    return d;
}

/* One pass over the ops: with a == NULL, counts (*nops, *nnames, *bytes); else fills e. */
static void walk(lua_State *L, int ops, int topic, arena_t *a, lc_json_edit_op_t *o,
                 lc_str_t *names, int *nops, int *nnames, size_t *bytes)
{
    int i, j, n = (int)lua_objlen(L, ops), top = lua_gettop(L), used = 0;
    size_t len;

    *nops = n;
    *nnames = 0;
    *bytes = 0;
    arena_str(L, a, topic, &len, "the topic");
    *bytes += len + 1;
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, ops, i);
        int op = lua_gettop(L);
        if (!lua_istable(L, op)) luaL_error(L, "json_edit: op %d is not a table", i);
        const op_name_t *on = op_of(L, op, i);
        lc_json_edit_op_t *d = a ? &o[i - 1] : NULL;
        if (d) {
            memset(d, 0, sizeof *d);
            d->kind = on->kind;
            d->src = on->src;
        }
        lua_rawgeti(L, op, 2);
        if (on->kind == LC_EDIT_SET || on->kind == LC_EDIT_DROP) {
            const char *s = arena_str(L, a, -1, &len, "a name");
            *bytes += len + 1;
            if (d) d->name = (lc_str_t){s, len};
            if (on->kind == LC_EDIT_SET && on->src == LC_EDIT_TEXT) {
                lc_buf_t json = {0};
                lua_rawgeti(L, op, 3);
                s = arena_str(L, NULL, -1, &len, "a set_string value");
                if (lc_json_string(&json, s, len)) luaL_error(L, "out of memory");
                *bytes += json.len + 1;
                if (d) {
                    memcpy(a->at, json.data, json.len);
                    d->text = (lc_str_t){a->at, json.len};
                    a->at += json.len + 1;
                }
                lc_buf_free(&json);
            }
        } else {
            int m = lua_istable(L, -1) ? (int)lua_objlen(L, -1) : -1, list = lua_gettop(L);
            if (m < 0 || (on->kind == LC_EDIT_MOVE && m % 2))
                luaL_error(L, "json_edit: op %d: %s", i,
                           on->kind == LC_EDIT_MOVE ? "a list of old and new names"
                                                    : "a list of names");
            if (d) {
                d->names = names + used;
                d->n = on->kind == LC_EDIT_MOVE ? m / 2 : m;
            }
            for (j = 1; j <= m; j++) {
                lua_rawgeti(L, list, j);
                const char *s = arena_str(L, a, -1, &len, "a name");
                *bytes += len + 1;
                if (d) names[used] = (lc_str_t){s, len};
                used++;
                lua_pop(L, 1);
            }
        }
        lua_settop(L, top);
    }
    *nnames = used;
}

static int json_edit_new(lua_State *L)
{
    int nops, nnames;
    size_t bytes, head;
    arena_t a;

    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TSTRING);
    walk(L, 1, 2, NULL, NULL, NULL, &nops, &nnames, &bytes);
    head = sizeof(edit_ud_t) + (size_t)nops * sizeof(lc_json_edit_op_t) +
           (size_t)nnames * sizeof(lc_str_t);
    edit_ud_t *u = lua_newuserdata(L, head + bytes);
    lc_json_edit_op_t *o = (lc_json_edit_op_t *)(u + 1);
    lc_str_t *names = (lc_str_t *)(o + nops);
    a.at = (char *)u + head;
    a.left = bytes;
    u->topic = a.at; /* walk copies the topic first */
    walk(L, 1, 2, &a, o, names, &nops, &nnames, &bytes);
    u->e.ops = o;
    u->e.nops = nops;
    memset(&u->line, 0, sizeof u->line);
    luaL_getmetatable(L, EDIT_MT);
    lua_setmetatable(L, -2);
    return 1;
}

int lc_json_edit_get(lua_State *L, int idx, const lc_json_edit_t **e, const char **topic)
{
    edit_ud_t *u = lc_testudata(L, idx, EDIT_MT);
    if (!u) return 0;
    *e = &u->e;
    *topic = u->topic;
    return 1;
}

static int edit_apply(lua_State *L)
{
    const lc_json_edit_t *e;
    const char *topic, *s;
    size_t n;
    lc_edit_meta_t meta;

    if (!lc_json_edit_get(L, 1, &e, &topic)) return luaL_argerror(L, 1, "not a json_edit");
    lc_buf_t *out = &((edit_ud_t *)lua_touserdata(L, 1))->line;
    out->len = 0;
    s = luaL_checklstring(L, 2, &n);
    meta.partition = (int32_t)luaL_checkinteger(L, 3);
    meta.offset = (int64_t)luaL_checknumber(L, 4);
    meta.timestamp = (int64_t)luaL_optnumber(L, 5, -1);
    if (lc_json_edit(s, n, e, &meta, out) == 1)
        lua_pushlstring(L, out->data, out->len);
    else
        lua_pushnil(L);
    return 1;
}

static int edit_gc(lua_State *L)
{
    edit_ud_t *u = lua_touserdata(L, 1);
    if (u) lc_buf_free(&u->line);
    return 0;
}

static int edit_topic(lua_State *L)
{
    const lc_json_edit_t *e;
    const char *topic;

    if (!lc_json_edit_get(L, 1, &e, &topic)) return luaL_argerror(L, 1, "not a json_edit");
    lua_pushstring(L, topic);
    return 1;
}

void lc_json_edit_open(lua_State *L)
{
    static const luaL_Reg methods[] = {{"apply", edit_apply}, {"topic", edit_topic}, {NULL, NULL}};
    if (lc_udata_class(L, EDIT_MT, methods, edit_gc)) {
        lua_pushliteral(L, EDIT_MT);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, json_edit_new);
}
