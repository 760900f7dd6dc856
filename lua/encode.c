/* encode: Lua values to JSON text without a schema (codec.h's rules: arrays, objects,
 * [[k,v],...] maps with other keys, int64 and float cdata), and the container walks
 * encode_schema.c reuses with item or value schemas. Also lc_json_encode_sorted's walk
 * (sorted object keys). Depends on codec_internal.h, value.c (cdata), json_write.c and
 * encode_schema.c (items that have a schema). */
#include "codec_internal.h"

#include <stdlib.h>

/* ---------------------------------------------------------------- encoding, no schema */

/* Counts the keys of the table at idx, for telling arrays from mixed tables. */
size_t count_keys(lua_State *L, int idx)
{
    size_t c = 0;

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        c++;
        lua_pop(L, 1);
    }
    return c;
}

static int is_array_table(codec_ctx_t *x, int idx)
{
    lua_State *L = x->L;
    int r = 0;

    if (lua_getmetatable(L, idx)) {
        r = lua_rawequal(L, -1, x->mt);
        lua_pop(L, 1);
        if (r) return 1;
    }
    lua_rawgeti(L, idx, 1);
    r = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return r;
}

/* Writes the table at idx (absolute) as a JSON array; items follow the schema at sidx
 * (absolute) or none when sidx is 0. */
static const char mixed_table_error[] =
    "cannot encode a table with both array items and other keys (or holes) as an array";

/* enc_array for tables whose keys lua_next does not give as 1, 2, ..., n. */
static int enc_array_slow(codec_ctx_t *x, int idx, int sidx)
{
    lua_State *L = x->L;
    size_t n = lua_objlen(L, idx), i;
    int top = lua_gettop(L), rc;

    if (count_keys(L, idx) != n) return ctx_fail(x, "%s", mixed_table_error);
    if (putc_(x, '[')) return -1;
    for (i = 1; i <= n; i++) {
        if (i > 1 && putc_(x, ',')) return -1;
        lua_rawgeti(L, idx, (int)i);
        seg_index(x, (long long)i);
        if (lua_isnil(L, -1))
            return ctx_fail(x, "array hole (nil); use connect.null for a null item");
        rc = sidx ? enc_schema(x, top + 1, sidx) : enc_plain(x, top + 1);
        if (rc) return -1;
        x->nsegs--;
        lua_pop(L, 1);
    }
    return putc_(x, ']');
}

/* Writes the table at idx (absolute) as a JSON array; items follow the schema at sidx
 * (absolute) or none when sidx is 0. A sequence held in the table's array part comes from
 * lua_next as 1, 2, ..., n and nothing else, so one pass both checks and writes it; any
 * other order starts over in enc_array_slow. */
int enc_array(codec_ctx_t *x, int idx, int sidx)
{
    lua_State *L = x->L;
    size_t start = x->out->len;
    int top = lua_gettop(L), nsegs = x->nsegs, rc;
    long long i = 0;

    if (putc_(x, '[')) return -1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, top + 1) != LUA_TNUMBER || lua_tonumber(L, top + 1) != (double)(i + 1)) {
            lua_settop(L, top);
            x->out->len = start;
            return enc_array_slow(x, idx, sidx);
        }
        if (++i > 1 && putc_(x, ',')) return -1;
        seg_index(x, i);
        rc = sidx ? enc_schema(x, top + 2, sidx) : enc_plain(x, top + 2);
        if (rc) {
            /* As if the table had been checked first, as enc_array_slow does. */
            if (!x->failed || count_keys(L, idx) == lua_objlen(L, idx)) return -1;
            x->failed = 0;
            x->nsegs = nsegs;
            return ctx_fail(x, "%s", mixed_table_error);
        }
        x->nsegs--;
        lua_settop(L, top + 1);
    }
    return putc_(x, ']');
}

static void seg_any_key(codec_ctx_t *x, int kidx)
{
    lua_State *L = x->L;

    if (lua_type(L, kidx) == LUA_TSTRING) {
        size_t len;
        const char *k = lua_tolstring(L, kidx, &len);
        seg_key(x, k, len);
    } else if (lua_type(L, kidx) == LUA_TNUMBER) {
        seg_index(x, (long long)lua_tonumber(L, kidx));
    } else {
        seg_key(x, "?", 1);
    }
}

/* Writes the table at idx as [[k,v],...], the form Kafka Connect uses for maps whose keys
 * are not strings. ksidx/vsidx: key and value schemas, or 0. */
int enc_pairs(codec_ctx_t *x, int idx, int ksidx, int vsidx)
{
    lua_State *L = x->L;
    int first = 1, top = lua_gettop(L), rc;

    if (putc_(x, '[')) return -1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (!first && putc_(x, ',')) return -1;
        first = 0;
        if (putc_(x, '[')) return -1;
        seg_any_key(x, top + 1);
        rc = ksidx ? enc_schema(x, top + 1, ksidx) : enc_plain(x, top + 1);
        if (rc || putc_(x, ',')) return -1;
        rc = vsidx ? enc_schema(x, top + 2, vsidx) : enc_plain(x, top + 2);
        if (rc || putc_(x, ']')) return -1;
        x->nsegs--;
        lua_pop(L, 1);
    }
    return putc_(x, ']');
}

/* Writes the table at idx as a JSON object in lua_next order; values follow the schema at
 * vsidx or none. Falls back to pairs when a key is not a string, as Kafka Connect does. */
int enc_object(codec_ctx_t *x, int idx, int vsidx)
{
    lua_State *L = x->L;
    size_t start = x->out->len, klen;
    int first = 1, top = lua_gettop(L), rc;
    const char *k;

    if (putc_(x, '{')) return -1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            if (vsidx) return ctx_fail(x, "map key: expected string, got %s", type_name(L, -2));
            lua_pop(L, 2);
            x->out->len = start;
            return enc_pairs(x, idx, 0, 0);
        }
        k = lua_tolstring(L, -2, &klen);
        if (!first && putc_(x, ',')) return -1;
        first = 0;
        if (put_string(x, k, klen) || putc_(x, ':')) return -1;
        seg_key(x, k, klen);
        rc = vsidx ? enc_schema(x, top + 2, vsidx) : enc_plain(x, top + 2);
        if (rc) return -1;
        x->nsegs--;
        lua_pop(L, 1);
    }
    return putc_(x, '}');
}

static int kent_cmp(const void *a, const void *b)
{
    const kent_t *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);

    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Collects the string keys of the table at idx into a sorted array held by a userdata
 * pushed on the stack (so the GC owns it even if a Lua error unwinds us). The strings
 * stay valid because the table keeps them alive. Returns NULL after ctx_fail. */
kent_t *sorted_keys(codec_ctx_t *x, int idx, size_t *count)
{
    lua_State *L = x->L;
    size_t n = count_keys(L, idx), i = 0;
    kent_t *e = lua_newuserdata(L, n ? n * sizeof *e : 1);

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            ctx_fail(x, "cannot sort an object with a %s key", lua_typename(L, lua_type(L, -2)));
            return NULL;
        }
        e[i].s = lua_tolstring(L, -2, &e[i].n);
        i++;
        lua_pop(L, 1);
    }
    qsort(e, n, sizeof *e, kent_cmp);
    *count = n;
    return e;
}

/* enc_object_sorted for objects of at most SMALL_OBJECT keys (a record value, an offset):
 * the keys stay on the stack (values are then fetched by those strings, no re-interning)
 * and an insertion sort over a C array replaces the userdata and qsort. Returns 1 when
 * written, 0 when the table has more keys (nothing written, stack as on entry), -1 on
 * failure. Same output and errors as the general path. */
#define SMALL_OBJECT 16

/* Insertion sort of the n keys e (and their stack slots): a few keys, no qsort call. */
static void sort_small(kent_t *e, int *slot, int n)
{
    kent_t t;
    int i, j, ts;

    for (i = 1; i < n; i++) {
        t = e[i];
        ts = slot[i];
        for (j = i; j > 0 && kent_cmp(&e[j - 1], &t) > 0; j--) {
            e[j] = e[j - 1];
            slot[j] = slot[j - 1];
        }
        e[j] = t;
        slot[j] = ts;
    }
}

/* A flat object (lc_json_encode_sorted's usual input: a sink's record value, a source
 * offset), written without the runner's lua_pcall: the table at idx (absolute) without a
 * metatable, at most SMALL_OBJECT string keys, each value a string, a finite number, a
 * boolean or connect.null. Byte for byte what enc_plain writes, through API calls that
 * raise no Lua error (no allocation: keys and values stay on the stack as lua_next gives
 * them). Returns 1 when written, 0 for another shape (nothing written), -1 out of memory. */
int enc_flat_sorted(codec_ctx_t *x, int idx)
{
    lua_State *L = x->L;
    kent_t e[SMALL_OBJECT];
    int slot[SMALL_OBJECT], type[SMALL_OBJECT], top = lua_gettop(L), n = 0, i, rc = 0, t, k;
    double num[SMALL_OBJECT];
    size_t vn;
    const char *v;

    if (lua_type(L, idx) != LUA_TTABLE || lua_getmetatable(L, idx)) goto out;
    lua_pushnil(L);
    while (lua_next(L, idx)) { /* key n at top + 1 + 2n, its value above it */
        if (n == SMALL_OBJECT || lua_type(L, -2) != LUA_TSTRING) goto out;
        t = type[n] = lua_type(L, -1);
        if (t == LUA_TNUMBER) {
            num[n] = lua_tonumber(L, -1);
            if (!isfinite(num[n])) goto out;
        } else if (t == LUA_TLIGHTUSERDATA ? lua_touserdata(L, -1) != NULL
                                            : t != LUA_TSTRING && t != LUA_TBOOLEAN) {
            goto out;
        }
        e[n].s = lua_tolstring(L, -2, &e[n].n);
        slot[n] = top + 1 + 2 * n;
        /* the caller checked 8 free slots: 3 pairs and lua_next's key */
        if (++n == 3 && !lua_checkstack(L, 2 * SMALL_OBJECT + 2)) goto out;
        lua_pushvalue(L, -2);
    }
    sort_small(e, slot, n);
    rc = -1;
    if (putc_(x, '{')) goto out;
    for (i = 0; i < n; i++) {
        k = (slot[i] - top - 1) / 2; /* the pair's place in type[] and num[] */
        if ((i && putc_(x, ',')) || put_string(x, e[i].s, e[i].n) || putc_(x, ':')) goto out;
        switch (type[k]) {
        case LUA_TSTRING:
            v = lua_tolstring(L, slot[i] + 1, &vn);
            if (put_string(x, v, vn)) goto out;
            break;
        case LUA_TNUMBER:
            if (put_number(x, num[k])) goto out;
            break;
        case LUA_TBOOLEAN:
            if (lua_toboolean(L, slot[i] + 1) ? PUTLIT(x, "true") : PUTLIT(x, "false")) goto out;
            break;
        default:
            if (PUTLIT(x, "null")) goto out;
        }
    }
    rc = putc_(x, '}') ? -1 : 1;
out:
    lua_settop(L, top);
    return rc;
}
static int enc_object_sorted_small(codec_ctx_t *x, int idx)
{
    lua_State *L = x->L;
    kent_t e[SMALL_OBJECT];
    int slot[SMALL_OBJECT], top = lua_gettop(L), n = 0, i;

    if (!lua_checkstack(L, SMALL_OBJECT + 4)) return ctx_fail(x, "Lua stack exhausted");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1); /* the value; its key stays, a copy goes on to lua_next */
        if (n == SMALL_OBJECT) {
            lua_settop(L, top);
            return 0;
        }
        if (lua_type(L, -1) != LUA_TSTRING)
            return ctx_fail(x, "cannot sort an object with a %s key",
                            lua_typename(L, lua_type(L, -1)));
        e[n].s = lua_tolstring(L, -1, &e[n].n);
        slot[n++] = lua_gettop(L);
        lua_pushvalue(L, -1);
    }
    sort_small(e, slot, n);
    if (putc_(x, '{')) return -1;
    for (i = 0; i < n; i++) {
        if (i && putc_(x, ',')) return -1;
        if (put_string(x, e[i].s, e[i].n) || putc_(x, ':')) return -1;
        lua_pushvalue(L, slot[i]);
        lua_rawget(L, idx);
        seg_key(x, e[i].s, e[i].n);
        if (enc_plain(x, lua_gettop(L))) return -1;
        x->nsegs--;
        lua_pop(L, 1);
    }
    lua_settop(L, top);
    return putc_(x, '}') ? -1 : 1;
}

static int enc_object_sorted(codec_ctx_t *x, int idx)
{
    lua_State *L = x->L;
    size_t n, i;
    int top, rc;
    kent_t *e;

    if ((rc = enc_object_sorted_small(x, idx)) != 0) return rc < 0 ? -1 : 0;
    e = sorted_keys(x, idx, &n);

    if (!e) return -1;
    top = lua_gettop(L);
    if (putc_(x, '{')) return -1;
    for (i = 0; i < n; i++) {
        if (i && putc_(x, ',')) return -1;
        if (put_string(x, e[i].s, e[i].n) || putc_(x, ':')) return -1;
        lua_pushlstring(L, e[i].s, e[i].n);
        lua_rawget(L, idx);
        seg_key(x, e[i].s, e[i].n);
        if (enc_plain(x, top + 1)) return -1;
        x->nsegs--;
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* the key array */
    return putc_(x, '}');
}

static int enc_table(codec_ctx_t *x, int idx)
{
    int rc;

    if (ctx_enter(x)) return -1;
    if (is_array_table(x, idx))
        rc = enc_array(x, idx, 0);
    else
        rc = x->mode == MODE_SORTED ? enc_object_sorted(x, idx) : enc_object(x, idx, 0);
    x->depth--;
    return rc;
}

static int enc_cdata(codec_ctx_t *x, int idx)
{
    uint64_t u = 0;
    double d = 0;

    switch (cdata_classify(x->L, idx, &u, &d)) {
    case CD_I64:
        return put_i64(x, (int64_t)u);
    case CD_U64:
        return put_u64(x, u);
    case CD_F64:
        return put_float(x, d, 0);
    case CD_NUM:
        return put_number(x, d);
    default:
        return ctx_fail(x, "cannot encode a cdata that is not a number");
    }
}

/* Writes the value at idx (absolute) with the schemaless rules of codec.h. */
int enc_plain(codec_ctx_t *x, int idx)
{
    lua_State *L = x->L;
    size_t n;
    const char *s;

    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return PUTLIT(x, "null");
    case LUA_TBOOLEAN:
        return lua_toboolean(L, idx) ? PUTLIT(x, "true") : PUTLIT(x, "false");
    case LUA_TNUMBER:
        return put_number(x, lua_tonumber(L, idx));
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &n);
        return put_string(x, s, n);
    case LUA_TTABLE:
        return enc_table(x, idx);
    case LUA_TLIGHTUSERDATA:
        if (!lua_touserdata(L, idx)) return PUTLIT(x, "null");
        break;
    case LC_TCDATA:
        return enc_cdata(x, idx);
    }
    return ctx_fail(x, "cannot encode a %s", lua_typename(L, lua_type(L, idx)));
}
