/* decode: JSON text to Lua values without a schema (codec.h's rules: null is connect.null
 * inside containers, arrays get the array metatable, integers beyond 2^53 are int64 cdata,
 * integral floats lc_float_t). One pass, no tree: values are pushed as they are read.
 * Depends on codec_internal.h, json_read.c (the reader) and value.c (tables, shapes,
 * boxing). */
#include "codec_internal.h"

/* ---------------------------------------------------------------- decoding, no schema */

static int jp_object(codec_ctx_t *x, int pos);
static int jp_array(codec_ctx_t *x);

/* Pushes a number as codec.h says: integers beyond 2^53 as int64 cdata, integral reals boxed. */
static inline void push_jnum(lua_State *L, const jnum_t *v)
{
    if (v->is_int) {
        if (v->i >= -(int64_t)TWO53 && v->i <= (int64_t)TWO53)
            lua_pushnumber(L, (double)v->i);
        else
            push_i64(L, (uint64_t)v->i, 0);
    } else if (v->d == floor(v->d)) {
        push_boxed_double(L, v->d); /* so that 1.0 is written back as 1.0, not 1 */
    } else {
        lua_pushnumber(L, v->d);
    }
}

/* Pushes the value at x->p with the schemaless rules of codec.h; top: null becomes nil.
 * Scalars are read here, inline in the container loops (a call per value costs more than
 * reading most values); containers by their readers. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int
dec_value(codec_ctx_t *x, int top, int pos)
{
    lua_State *L = x->L;
    const char *s;
    size_t n;
    jnum_t v;

    if (x->p >= x->end) return jp_unexpected(x, x->p, NULL);
    switch (*x->p) {
    case '"':
        if (jp_string(x, &s, &n)) return -1;
        lua_pushlstring(L, s, n);
        return 0;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        if (jp_number(x, &v)) return -1;
        push_jnum(L, &v);
        return 0;
    case '{':
        return jp_object(x, pos);
    case '[':
        return jp_array(x);
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
        return jp_unexpected(x, x->p, "a JSON value");
    }
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

/* Whether the string at p (its opening quote) is the len bytes at k, which hold no escapes
 * and no quote (a shape's key), so that comparing the bytes as they stand is enough. */
static inline int key_is(const unsigned char *p, const unsigned char *e, const unsigned char *k,
                         size_t len)
{
    uint64_t a, b, c, d;
    uint32_t a4, b4, c4, d4;

    if ((size_t)(e - p) < len + 2 || p[0] != '"' || p[len + 1] != '"') return 0;
    p++;
    if (len > 16) return memcmp(p, k, len) == 0;
    if (len >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, k, 8);
        memcpy(&c, p + len - 8, 8);
        memcpy(&d, k + len - 8, 8);
        return ((a ^ b) | (c ^ d)) == 0;
    }
    if (len >= 4) {
        memcpy(&a4, p, 4);
        memcpy(&b4, k, 4);
        memcpy(&c4, p + len - 4, 4);
        memcpy(&d4, k + len - 4, 4);
        return ((a4 ^ b4) | (c4 ^ d4)) == 0;
    }
    return !len || (p[0] == k[0] && p[len / 2] == k[len / 2] && p[len - 1] == k[len - 1]);
}

/* An object: its values stay on the stack and its keys in x->keys (pointers into the text)
 * until its end, when a shape constructor or one sized table takes them; past PEND_MAX
 * pairs, deep in the stack or out of x->keys, the table is made and filled as pairs come.
 * The keys are first compared with those of the last object at the same place, pos (see
 * codec_state_t's last_shape; a record's objects repeat their keys): while they match, a key
 * is read without a scan for its end,
 * and when all do, that shape's constructor (pushed before the values, so no lua_insert)
 * makes the table without hashing the keys. What is made is what shape_get would give: the
 * same slot, unless a shape changed meanwhile (shape_gen), and then the keys go the usual way. */
static int jp_object(codec_ctx_t *x, int pos)
{
    lua_State *L = x->L;
    codec_state_t *st = x->st;
    int base = lua_gettop(L), top = base, ks0 = x->nks, n = 0, direct, plain = 1, more, i;
    int fn = 0, left = 0, got;
    unsigned gen = 0;
    kspan_t *ks = x->keys + ks0;
    const unsigned char *e = x->end, *t = NULL, *p;
    const char *k;
    size_t kn;

    if (ctx_enter_pend(x, &direct)) return -1;
    direct = !direct || ks0 + PEND_MAX > LC_KEYS_MAX;
    x->p = jp_ws(x->p + 1, e);
    if (direct) {
        lua_createtable(L, 0, 0);
    } else if (x->depth <= LC_SHAPE_DEPTHS && (got = st->last_shape[x->depth - 1][pos])) {
        const shape_t *sh = &st->shapes[got - 1];
        if (sh->text) {
            t = (const unsigned char *)sh->text;
            left = sh->nkeys;
            gen = st->shape_gen;
            if (sh->compiled) {
                lua_rawgeti(L, SHAPE_TABLE, 2 * (got - 1) + 1);
                top++;
                fn = 1;
            }
        }
    }
    if (x->p < e && *x->p == '}') {
        x->p++;
    } else {
        do {
            if (left && st->shape_gen == gen && key_is(x->p, e, t + 1, *t)) {
                kn = *t;
                k = (const char *)x->p + 1;
                t += 1 + kn;
                left--;
                p = x->p + kn + 2;
                if (p >= e || *p != ':') p = jp_ws(p, e); /* blanks are rare */
                if (p >= e || *p != ':') return jp_unexpected(x, p, "':'");
                p++;
                x->p = p<e && * p> ' ' ? p : jp_ws(p, e);
                ks[n].len = kn;
                ks[n].k = k;
            } else {
                if (fn) { /* mispredicted: the pairs go the usual way */
                    lua_remove(L, base + 1);
                    top--;
                    for (i = 0; i < n; i++)
                        ks[i].vidx--;
                    fn = 0;
                }
                t = NULL;
                left = 0;
                if (jp_key(x, &k, &kn)) return -1;
                if (direct) {
                    lua_pushlstring(L, k, kn);
                    if (dec_value(x, 0, PEND_MAX - 2)) return -1;
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
            }
            x->nks++;
            if (dec_value(x, 0, n < PEND_MAX - 2 ? n : PEND_MAX - 2)) return -1;
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
        if (fn && (left || st->shape_gen != gen)) {
            lua_remove(L, base + 1);
            for (i = 0; i < n; i++)
                ks[i].vidx--;
            fn = 0;
        }
        if (fn) {
            lua_call(L, n, 1);
        } else if (n && plain && (got = shape_get(x, ks, n))) {
            lua_insert(L, base + 1);
            lua_call(L, n, 1);
            if (x->depth <= LC_SHAPE_DEPTHS) st->last_shape[x->depth - 1][pos] = (uint16_t)got;
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
            if (dec_value(x, 0, PEND_MAX - 1)) return -1;
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
    return dec_value(x, top, 0);
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
