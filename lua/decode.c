/* decode: JSON text to Lua values without a schema (codec.h's rules: null is connect.null
 * inside containers, arrays get the array metatable, integers beyond 2^53 are int64 cdata,
 * integral floats lc_float_t). One pass, no tree: values are pushed as they are read.
 * Depends on codec_internal.h, json_read.c (the reader) and value.c (tables, shapes,
 * boxing). */
#include "codec_internal.h"

/* ---------------------------------------------------------------- decoding, no schema */

/* Pushes a number as codec.h says: integers beyond 2^53 as int64 cdata, integral reals boxed. */
static void push_jnum(lua_State *L, const jnum_t *v)
{
    if (v->is_int)
        push_i64(L, (uint64_t)v->i, 0);
    else if (v->d == floor(v->d))
        push_boxed_double(L, v->d); /* so that 1.0 is written back as 1.0, not 1 */
    else
        lua_pushnumber(L, v->d);
}

/* ---------------------------------------------------------------- reading containers */

/* Makes the table of the pending pairs ks[0..n) at base + 1 (room for extra more). */
static void obj_flush(lua_State *L, int base, const kspan_t *ks, int n, int extra)
{
    int i;

    lua_createtable(L, 0, n + extra);
    for (i = 0; i < n; i++) {
        if (ks[i].k)
            lua_pushlstring(L, ks[i].k, ks[i].len);
        else
            lua_pushvalue(L, ks[i].vidx - 1);
        lua_pushvalue(L, ks[i].vidx);
        lua_rawset(L, -3);
    }
    if (n) {
        lua_replace(L, base + 1);
        lua_settop(L, base + 1);
    }
}

/* An object: its values stay on the stack and its keys in x->keys (pointers into the text)
 * until its end, when a shape constructor or one sized table takes them; past PEND_MAX
 * pairs, deep in the stack or out of x->keys, the table is made and filled as pairs come. */
static int jp_object(codec_ctx_t *x)
{
    lua_State *L = x->L;
    int base = lua_gettop(L), top = base, ks0 = x->nks, n = 0, direct, plain = 1, more;
    kspan_t *ks = x->keys + ks0;
    const char *k;
    size_t kn;

    if (ctx_enter_pend(x, &direct)) return -1;
    direct = !direct || ks0 + PEND_MAX > LC_KEYS_MAX;
    x->p = jp_ws(x->p + 1, x->end);
    if (direct) lua_createtable(L, 0, 0);
    if (x->p < x->end && *x->p == '}') {
        x->p++;
    } else {
        do {
            if (jp_key(x, &k, &kn)) return -1;
            if (direct) {
                lua_pushlstring(L, k, kn);
                if (jp_value(x, 0)) return -1;
                lua_rawset(L, base + 1);
                continue;
            }
            ks[n].len = kn;
            if (x->unescaped) {
                lua_pushlstring(L, k, kn);
                top++;
                ks[n].k = NULL;
                plain = 0;
            } else {
                ks[n].k = k;
            }
            x->nks++;
            if (jp_value(x, 0)) return -1;
            ks[n].vidx = ++top;
            if (++n == PEND_MAX) {
                obj_flush(L, base, ks, n, PEND_MAX);
                x->nks = ks0;
                direct = 1;
            }
        } while ((more = jp_next(x, '}')) > 0);
        if (more < 0) return -1;
    }
    if (!direct) {
        if (n && plain && shape_get(x, ks, n)) {
            lua_insert(L, base + 1);
            lua_call(L, n, 1);
        } else {
            obj_flush(L, base, ks, n, 0);
        }
    }
    x->nks = ks0;
    x->depth--;
    return 0;
}

/* An array: items stay on the stack until its end, then go into one sized table. */
static int jp_array(codec_ctx_t *x)
{
    lua_State *L = x->L;
    int more, pend;
    tb_t b;

    if (ctx_enter_pend(x, &pend)) return -1;
    x->p = jp_ws(x->p + 1, x->end);
    tb_begin(L, &b, 0, pend);
    if (x->p < x->end && *x->p == ']') {
        x->p++;
    } else {
        do {
            if (jp_value(x, 0)) return -1;
            tb_add(L, &b);
        } while ((more = jp_next(x, ']')) > 0);
        if (more < 0) return -1;
    }
    tb_end(L, &b);
    lua_pushvalue(L, x->mt);
    lua_setmetatable(L, -2);
    x->depth--;
    return 0;
}

/* Pushes the value at x->p with the schemaless rules of codec.h; top: null becomes nil. */
int jp_value(codec_ctx_t *x, int top)
{
    lua_State *L = x->L;
    const char *s;
    size_t n;
    jnum_t v;

    if (x->p >= x->end) return jp_unexpected(x, x->p, NULL);
    switch (*x->p) {
    case '{':
        return jp_object(x);
    case '[':
        return jp_array(x);
    case '"':
        if (jp_string(x, &s, &n)) return -1;
        lua_pushlstring(L, s, n);
        return 0;
    case 't':
        if (jp_lit(x, "true", 4)) return -1;
        lua_pushboolean(L, 1);
        return 0;
    case 'f':
        if (jp_lit(x, "false", 5)) return -1;
        lua_pushboolean(L, 0);
        return 0;
    case 'n':
        if (jp_lit(x, "null", 4)) return -1;
        push_null_or_nil(L, top);
        return 0;
    default:
        if (*x->p != '-' && !is_digit(*x->p)) return jp_unexpected(x, x->p, "a JSON value");
        if (jp_number(x, &v)) return -1;
        push_jnum(L, &v);
        return 0;
    }
}

/* The whole text as one value, nothing but blanks after it. */
int dec_text(codec_ctx_t *x)
{
    x->p = jp_ws(x->beg, x->end);
    if (jp_value(x, 1)) return -1;
    x->p = jp_ws(x->p, x->end);
    if (x->p < x->end) return jp_unexpected(x, x->p, "end of input");
    return 0;
}
