/* encode_schema: Lua values to JSON text following a Lua schema table (JsonConverter with
 * schemas.enable): type checks and ranges, defaults, structs field by field, maps; and
 * schema tables written as JsonConverter's asJsonSchema does. Depends on codec_internal.h,
 * schema.c (types), value.c (cdata), json_write.c and encode.c (containers). */
#include "codec_internal.h"

/* ---------------------------------------------------------------- encoding with a schema */

/* Reads schema.type of the schema table at sidx (absolute). */
int schema_type(codec_ctx_t *x, int sidx, stype_t *st)
{
    lua_State *L = x->L;
    const char *s;
    size_t n;

    if (lua_type(L, sidx) != LUA_TTABLE)
        return ctx_fail(x, "schema must be a table, got %s", type_name(L, sidx));
    rawget_k(x, sidx, K_TYPE);
    if (lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        return ctx_fail(x, "schema has no \"type\" string");
    }
    s = lua_tolstring(L, -1, &n);
    *st = ST_UNKNOWN;
    if (x->st) { /* the interned name's pointer (see codec_state_t), most common first */
        static const stype_t order[LC_TYPE_NAMES] = {
            ST_STRING,  ST_STRUCT, ST_INT64, ST_INT32, ST_FLOAT64, ST_BOOLEAN, ST_ARRAY,
            ST_MAP,     ST_BYTES,  ST_INT16, ST_INT8,  ST_FLOAT32, ST_UNKNOWN, ST_UNKNOWN + 1};
        for (int i = 0; i < LC_TYPE_NAMES; i++) {
            if (x->st->type_name[order[i]] == s) {
                *st = order[i] < ST_UNKNOWN ? (stype_t)order[i]
                      : order[i] == ST_UNKNOWN ? ST_FLOAT32
                                               : ST_FLOAT64;
                break;
            }
        }
    }
    if (*st == ST_UNKNOWN) *st = stype_parse(s, n, 1);
    if (*st == ST_UNKNOWN) {
        ctx_fail(x, "unknown schema type '%s'", s);
        lua_pop(L, 1);
        return -1;
    }
    lua_pop(L, 1);
    return 0;
}

static int schema_optional(codec_ctx_t *x, int sidx)
{
    int r;

    rawget_k(x, sidx, K_OPTIONAL);
    r = lua_toboolean(x->L, -1);
    lua_pop(x->L, 1);
    return r;
}

/* Pushes schema[k] and returns its absolute index after checking it is a table. */
static int schema_sub(codec_ctx_t *x, int sidx, int k, const char *what)
{
    rawget_k(x, sidx, k);
    if (lua_type(x->L, -1) != LUA_TTABLE)
        return ctx_fail(x, "%s schema has no \"%s\" table", what, key_names[k]);
    return lua_gettop(x->L);
}

/* Reads an integer for an int8..int64 schema from the value at vidx. */
int get_integer(codec_ctx_t *x, int vidx, stype_t st, int64_t *out)
{
    lua_State *L = x->L;
    uint64_t u = 0;
    double d = 0;
    int64_t v;

    if (lua_type(L, vidx) == LUA_TNUMBER) {
        d = lua_tonumber(L, vidx);
    } else if (lua_type(L, vidx) == LC_TCDATA) {
        switch (cdata_classify(L, vidx, &u, &d)) {
        case CD_I64:
            v = (int64_t)u;
            goto range;
        case CD_U64:
            if (u > (uint64_t)INT64_MAX)
                return ctx_fail(x, "%llu is out of range for %s", (unsigned long long)u,
                                stype_json[st]);
            v = (int64_t)u;
            goto range;
        case CD_F64:
        case CD_NUM:
            break;
        default:
            goto type;
        }
    } else {
        goto type;
    }
    if (check_finite(x, d)) return -1;
    if (d != floor(d)) return ctx_fail(x, "expected %s, got %.17g", stype_json[st], d);
    if (d < -TWO63 || d >= TWO63)
        return ctx_fail(x, "%.17g is out of range for %s", d, stype_json[st]);
    v = (int64_t)d;
range:
    if (v < int_min[st] || v > int_max[st])
        return ctx_fail(x, "%lld is out of range for %s", (long long)v, stype_json[st]);
    *out = v;
    return 0;
type:
    return ctx_fail(x, "expected %s, got %s", stype_json[st], type_name(L, vidx));
}

int get_double(codec_ctx_t *x, int vidx, stype_t st, double *out)
{
    lua_State *L = x->L;
    uint64_t u = 0;
    double d = 0;

    if (lua_type(L, vidx) == LUA_TNUMBER) {
        d = lua_tonumber(L, vidx);
    } else if (lua_type(L, vidx) == LC_TCDATA) {
        switch (cdata_classify(L, vidx, &u, &d)) {
        case CD_I64:
            d = (double)(int64_t)u;
            break;
        case CD_U64:
            d = (double)u;
            break;
        case CD_F64:
        case CD_NUM:
            break;
        default:
            return ctx_fail(x, "expected %s, got cdata", stype_json[st]);
        }
    } else {
        return ctx_fail(x, "expected %s, got %s", stype_json[st], type_name(L, vidx));
    }
    /* NaN and the infinities pass (put_float writes them as Connect does); a finite double
     * beyond float's range has no float32 value. */
    if (st == ST_FLOAT32 && isfinite(d) && !isfinite((float)d))
        return ctx_fail(x, "%.17g is out of range for float", d);
    *out = d;
    return 0;
}

/* Is the string at kidx the name of one of the struct's fields (table at fidx)? */
static int is_field_name(codec_ctx_t *x, int fidx, int kidx)
{
    lua_State *L = x->L;
    size_t i, n = lua_objlen(L, fidx);
    int found = 0;

    for (i = 1; i <= n && !found; i++) {
        lua_rawgeti(L, fidx, (int)i);
        if (lua_type(L, -1) == LUA_TTABLE) {
            rawget_k(x, lua_gettop(L), K_FIELD);
            found = lua_rawequal(L, -1, kidx);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    return found;
}

int check_fields(codec_ctx_t *x, int vidx, int fidx, size_t matched)
{
    lua_State *L = x->L;

    /* Fields were looked up by name, so a key that is not a field would be lost silently. */
    if (count_keys(L, vidx) <= matched) return 0;
    lua_pushnil(L);
    while (lua_next(L, vidx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return ctx_fail(x, "struct has a %s key", lua_typename(L, lua_type(L, -2)));
        if (!is_field_name(x, fidx, lua_gettop(L) - 1))
            return ctx_fail(x, "unknown field '%s' (not in the struct schema)", lua_tostring(L, -2));
        lua_pop(L, 1);
    }
    return 0;
}

static int enc_struct(codec_ctx_t *x, int vidx, int sidx)
{
    lua_State *L = x->L;
    int fidx, top, first = 1;
    size_t i, nf, matched = 0, klen;
    const char *k;

    if ((fidx = schema_sub(x, sidx, K_FIELDS, "struct")) < 0) return -1;
    top = lua_gettop(L);
    nf = lua_objlen(L, fidx);
    if (putc_(x, '{')) return -1;
    for (i = 1; i <= nf; i++) {
        lua_rawgeti(L, fidx, (int)i); /* top+1: the field's schema */
        if (lua_type(L, top + 1) != LUA_TTABLE)
            return ctx_fail(x, "struct schema field %zu is not a table", i);
        rawget_k(x, top + 1, K_FIELD); /* top+2: its name */
        if (lua_type(L, top + 2) != LUA_TSTRING)
            return ctx_fail(x, "struct schema field %zu has no \"field\" name", i);
        k = lua_tolstring(L, top + 2, &klen);
        if (!first && putc_(x, ',')) return -1;
        first = 0;
        if (put_string(x, k, klen) || putc_(x, ':')) return -1;
        lua_pushvalue(L, top + 2);
        lua_rawget(L, vidx); /* top+3: the value */
        if (!lua_isnil(L, top + 3)) matched++;
        seg_key(x, k, klen);
        if (enc_schema(x, top + 3, top + 1)) return -1;
        x->nsegs--;
        lua_settop(L, top);
    }
    if (putc_(x, '}') || check_fields(x, vidx, fidx, matched)) return -1;
    lua_settop(L, top - 1);
    return 0;
}

static int enc_map(codec_ctx_t *x, int vidx, int sidx)
{
    lua_State *L = x->L;
    int kidx, vsidx, rc;
    stype_t kt;

    if ((kidx = schema_sub(x, sidx, K_KEYS, "map")) < 0) return -1;
    if ((vsidx = schema_sub(x, sidx, K_VALUES, "map")) < 0) return -1;
    if (schema_type(x, kidx, &kt)) return -1;
    if (kt == ST_STRING)
        rc = enc_object(x, vidx, vsidx);
    else
        rc = enc_pairs(x, vidx, kidx, vsidx);
    lua_pop(L, 2);
    return rc;
}

/* Writes the value at vidx following the schema table at sidx (both absolute). */
int enc_schema(codec_ctx_t *x, int vidx, int sidx)
{
    lua_State *L = x->L;
    stype_t st;
    int64_t iv = 0;
    double d = 0;
    size_t n;
    const char *s;
    int rc, t, items;

    if (schema_type(x, sidx, &st)) return -1;
    if (is_nil_or_null(L, vidx)) {
        rawget_k(x, sidx, K_DEFAULT);
        if (!is_nil_or_null(L, -1)) {
            rc = enc_schema(x, lua_gettop(L), sidx);
            lua_pop(L, 1);
            return rc;
        }
        lua_pop(L, 1);
        if (schema_optional(x, sidx)) return PUTLIT(x, "null");
        return ctx_fail(x, "null value for a required field that has no default value");
    }
    t = lua_type(L, vidx);
    switch (st) {
    case ST_BOOLEAN:
        if (t != LUA_TBOOLEAN) break;
        return lua_toboolean(L, vidx) ? PUTLIT(x, "true") : PUTLIT(x, "false");
    case ST_INT8:
    case ST_INT16:
    case ST_INT32:
    case ST_INT64:
        if (get_integer(x, vidx, st, &iv)) return -1;
        return put_i64(x, iv);
    case ST_FLOAT32:
    case ST_FLOAT64:
        if (get_double(x, vidx, st, &d)) return -1;
        return put_float(x, st == ST_FLOAT32 ? (double)(float)d : d, st == ST_FLOAT32);
    case ST_STRING:
    case ST_BYTES:
        if (t != LUA_TSTRING) break;
        s = lua_tolstring(L, vidx, &n);
        return st == ST_STRING ? put_string(x, s, n) : put_base64(x, (const unsigned char *)s, n);
    case ST_ARRAY:
    case ST_MAP:
    case ST_STRUCT:
        if (t != LUA_TTABLE) break;
        if (ctx_enter(x)) return -1;
        if (st == ST_STRUCT) {
            rc = enc_struct(x, vidx, sidx);
        } else if (st == ST_MAP) {
            rc = enc_map(x, vidx, sidx);
        } else {
            if ((items = schema_sub(x, sidx, K_ITEMS, "array")) < 0) return -1;
            rc = enc_array(x, vidx, items);
            lua_pop(L, 1);
        }
        x->depth--;
        return rc;
    case ST_UNKNOWN:
        break;
    }
    return ctx_fail(x, "expected %s, got %s", stype_json[st], type_name(L, vidx));
}

/* Writes the "parameters" table at pidx: string to string, keys sorted because a Lua
 * table has no order and equal schemas should give equal text. */
static int write_params(codec_ctx_t *x, int pidx)
{
    lua_State *L = x->L;
    size_t n, i, vlen;
    const char *v;
    int top;
    kent_t *e;

    seg_key(x, "parameters", 10);
    if (!(e = sorted_keys(x, pidx, &n))) return -1;
    top = lua_gettop(L);
    if (putc_(x, '{')) return -1;
    for (i = 0; i < n; i++) {
        lua_pushlstring(L, e[i].s, e[i].n);
        lua_rawget(L, pidx);
        if (lua_type(L, top + 1) != LUA_TSTRING)
            return ctx_fail(x, "schema parameters must have string values ('%s' is a %s)", e[i].s,
                            type_name(L, top + 1));
        v = lua_tolstring(L, top + 1, &vlen);
        if ((i && putc_(x, ',')) || put_string(x, e[i].s, e[i].n) || putc_(x, ':') ||
            put_string(x, v, vlen))
            return -1;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    x->nsegs--;
    return putc_(x, '}');
}

/* Writes the schema table at sidx as JsonConverter's asJsonSchema does, key order
 * included; field (a struct field's name) comes last. */
int write_schema(codec_ctx_t *x, int sidx, int field_idx)
{
    lua_State *L = x->L;
    stype_t st;
    int top = lua_gettop(L), sub, sub2, fidx;
    size_t i, nf, n;
    const char *s;
    double d = 0;

    if (ctx_enter(x)) return -1;
    if (schema_type(x, sidx, &st)) return -1;
    if (PUTLIT(x, "{\"type\":\"") || put(x, stype_json[st], strlen(stype_json[st])) ||
        putc_(x, '"'))
        return -1;
    switch (st) {
    case ST_STRUCT:
        if ((fidx = schema_sub(x, sidx, K_FIELDS, "struct")) < 0) return -1;
        if (PUTLIT(x, ",\"fields\":[")) return -1;
        nf = lua_objlen(L, fidx);
        seg_key(x, "fields", 6);
        for (i = 1; i <= nf; i++) {
            seg_index(x, (long long)i);
            if (i > 1 && putc_(x, ',')) return -1;
            lua_rawgeti(L, fidx, (int)i);
            if (lua_type(L, -1) != LUA_TTABLE) return ctx_fail(x, "struct field is not a table");
            rawget_k(x, lua_gettop(L), K_FIELD);
            if (lua_type(L, -1) != LUA_TSTRING)
                return ctx_fail(x, "struct field has no \"field\" name");
            if (write_schema(x, lua_gettop(L) - 1, lua_gettop(L))) return -1;
            lua_pop(L, 2);
            x->nsegs--;
        }
        x->nsegs--;
        if (putc_(x, ']')) return -1;
        break;
    case ST_ARRAY:
        if ((sub = schema_sub(x, sidx, K_ITEMS, "array")) < 0) return -1;
        seg_key(x, "items", 5);
        if (PUTLIT(x, ",\"items\":") || write_schema(x, sub, 0)) return -1;
        x->nsegs--;
        break;
    case ST_MAP:
        if ((sub = schema_sub(x, sidx, K_KEYS, "map")) < 0) return -1;
        if ((sub2 = schema_sub(x, sidx, K_VALUES, "map")) < 0) return -1;
        seg_key(x, "keys", 4);
        if (PUTLIT(x, ",\"keys\":") || write_schema(x, sub, 0)) return -1;
        x->nsegs--;
        seg_key(x, "values", 6);
        if (PUTLIT(x, ",\"values\":") || write_schema(x, sub2, 0)) return -1;
        x->nsegs--;
        break;
    default:
        break;
    }
    lua_settop(L, top);
    if (schema_optional(x, sidx) ? PUTLIT(x, ",\"optional\":true")
                                 : PUTLIT(x, ",\"optional\":false"))
        return -1;

    rawget_k(x, sidx, K_NAME);
    if (lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &n);
        if (PUTLIT(x, ",\"name\":") || put_string(x, s, n)) return -1;
    }
    rawget_k(x, sidx, K_VERSION);
    if (lua_type(L, -1) == LUA_TNUMBER) {
        d = lua_tonumber(L, -1);
        if (d != floor(d) || d < INT32_MIN || d > INT32_MAX)
            return ctx_fail(x, "schema version must be an integer, got %.17g", d);
        if (PUTLIT(x, ",\"version\":") || put_i64(x, (int64_t)d)) return -1;
    }
    rawget_k(x, sidx, K_DOC);
    if (lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &n);
        if (PUTLIT(x, ",\"doc\":") || put_string(x, s, n)) return -1;
    }
    rawget_k(x, sidx, K_PARAMETERS);
    if (lua_type(L, -1) == LUA_TTABLE) {
        if (PUTLIT(x, ",\"parameters\":") || write_params(x, lua_gettop(L))) return -1;
    }
    rawget_k(x, sidx, K_DEFAULT);
    if (!is_nil_or_null(L, -1)) {
        seg_key(x, "default", 7);
        if (PUTLIT(x, ",\"default\":") || enc_schema(x, lua_gettop(L), sidx)) return -1;
        x->nsegs--;
    }
    if (field_idx) {
        s = lua_tolstring(L, field_idx, &n);
        if (PUTLIT(x, ",\"field\":") || put_string(x, s, n)) return -1;
    }
    lua_settop(L, top);
    x->depth--;
    return putc_(x, '}');
}
