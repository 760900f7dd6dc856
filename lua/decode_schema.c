/* decode_schema: a JSON payload to Lua values following the C nodes of its schema
 * (schema.c): strict type checks, int ranges, defaults for null or missing fields, base64
 * bytes, maps either way. Struct fields are read as they come and, after a failure, once
 * more in schema order (so the error named is Kafka Connect's). Depends on
 * codec_internal.h, json_read.c and value.c. */
#include "codec_internal.h"

/* ---------------------------------------------------------------- decoding with a schema */

/* A null or missing value: the default, else null when optional, else an error. */
static int sp_null(codec_ctx_t *x, const sch_node_t *s, int top)
{
    const unsigned char *beg = x->beg, *end = x->end, *p = x->p;
    int rc;

    if (s->def) {
        x->beg = x->p = s->def;
        x->end = s->def_end;
        rc = sp_value(x, s, top);
        x->beg = beg;
        x->end = end;
        x->p = p;
        return rc;
    }
    if (!s->optional)
        return ctx_fail(x, "invalid null value for required %s field", stype_json[s->type]);
    push_null_or_nil(x->L, top);
    return 0;
}

/* Pushes an int8..int64 payload value; integral JSON reals are accepted. */
static int sp_int(codec_ctx_t *x, const jnum_t *v, stype_t st)
{
    int64_t iv;
    double d;

    if (v->is_int) {
        iv = v->i;
    } else {
        d = v->d;
        if (d != floor(d)) return ctx_fail(x, "expected %s, got %.17g", stype_json[st], d);
        if (d < -TWO63 || d >= TWO63)
            return ctx_fail(x, "%.17g is out of range for %s", d, stype_json[st]);
        iv = (int64_t)d;
    }
    if (iv < int_min[st] || iv > int_max[st])
        return ctx_fail(x, "%lld is out of range for %s", (long long)iv, stype_json[st]);
    push_i64(x->L, (uint64_t)iv, 0);
    return 0;
}

static int sp_bytes(codec_ctx_t *x)
{
    lua_State *L = x->L;
    unsigned char small[256], *out = small;
    const char *s;
    size_t n;
    long m;

    if (jp_string(x, &s, &n)) return -1;
    if (n / 4 * 3 + 3 > sizeof small) out = lua_newuserdata(L, n / 4 * 3 + 3);
    m = b64_decode(s, n, out);
    if (m < 0) return ctx_fail(x, "invalid base64 in bytes value");
    lua_pushlstring(L, (const char *)out, (size_t)m);
    if (out != small) lua_remove(L, -2);
    return 0;
}

/* The index of the field named k (kn bytes) in s, trying from want on (fields usually come
 * in schema order); nf when there is none. */
static inline size_t field_index(const sch_node_t *s, size_t want, const char *k, size_t kn)
{
    size_t nf = s->nfields, i, j;

    for (i = 0; i < nf; i++) {
        j = want + i < nf ? want + i : want + i - nf;
        if (s->fields[j].len == kn && memcmp(s->fields[j].name, k, kn) == 0) return j;
    }
    return nf;
}

/* sp_struct when x->ordered: finds each field's value first, then decodes the fields in
 * schema order, so that the first error reported is the first field's, as Kafka Connect
 * (and the tree walk this replaced) would report it. Used after a failure only. */
static int sp_struct_ordered(codec_ctx_t *x, const sch_node_t *s, int t)
{
    lua_State *L = x->L;
    size_t nf = s->nfields, i, kn;
    const unsigned char **at, *end;
    const char *k;
    int more;

    at = lua_newuserdata(L, nf ? nf * sizeof *at : 1);
    for (i = 0; i < nf; i++)
        at[i] = NULL;
    x->p = jp_ws(x->p + 1, x->end);
    if (x->p < x->end && *x->p == '}') {
        x->p++;
    } else {
        do {
            if (jp_key(x, &k, &kn)) return -1;
            if ((i = field_index(s, 0, k, kn)) < nf) at[i] = x->p;
            if (jp_skip(x, x->depth)) return -1;
        } while ((more = jp_next(x, '}')) > 0);
        if (more < 0) return -1;
    }
    end = x->p;
    for (i = 0; i < nf; i++) {
        lua_rawgeti(L, x->env, s->fields[i].kref);
        seg_key(x, s->fields[i].name, s->fields[i].len);
        x->p = at[i];
        if (at[i] ? sp_value(x, s->fields[i].schema, 0) : sp_null(x, s->fields[i].schema, 0))
            return -1;
        x->nsegs--;
        lua_rawset(L, t);
    }
    x->p = end;
    lua_settop(L, t);
    x->depth--;
    return 0;
}

static int sp_struct(codec_ctx_t *x, const sch_node_t *s)
{
    lua_State *L = x->L;
    size_t nf = s->nfields, i, want = 0, kn;
    const sch_field_t *f;
    unsigned char *seen;
    uint64_t small = 0;
    const char *k;
    int t, more;

    if (ctx_enter(x)) return -1;
    lua_createtable(L, 0, (int)nf);
    t = lua_gettop(L);
    if (x->ordered) return sp_struct_ordered(x, s, t);
    seen = nf > 64 ? memset(lua_newuserdata(L, nf), 0, nf) : NULL;
    x->p = jp_ws(x->p + 1, x->end);
    if (x->p < x->end && *x->p == '}') {
        x->p++;
    } else {
        do {
            if (jp_key(x, &k, &kn)) return -1;
            if ((i = field_index(s, want, k, kn)) == nf) {
                if (jp_skip(x, x->depth)) return -1; /* not a field: ignored, as Kafka does */
                continue;
            }
            f = &s->fields[i];
            want = i + 1;
            if (seen)
                seen[i] = 1;
            else
                small |= (uint64_t)1 << i;
            lua_rawgeti(L, x->env, f->kref);
            seg_key(x, f->name, f->len);
            if (sp_value(x, f->schema, 0)) return -1;
            x->nsegs--;
            lua_rawset(L, t);
        } while ((more = jp_next(x, '}')) > 0);
        if (more < 0) return -1;
    }
    for (i = 0; i < nf; i++) {
        if (seen ? seen[i] : (small >> i) & 1) continue;
        f = &s->fields[i];
        lua_rawgeti(L, x->env, f->kref);
        seg_key(x, f->name, f->len);
        if (sp_null(x, f->schema, 0)) return -1;
        x->nsegs--;
        lua_rawset(L, t);
    }
    lua_settop(L, t);
    x->depth--;
    return 0;
}

static int sp_array(codec_ctx_t *x, const sch_node_t *s)
{
    lua_State *L = x->L;
    long long i = 0;
    int more, pend;
    tb_t b;

    if (ctx_enter_pend(x, &pend)) return -1;
    x->p = jp_ws(x->p + 1, x->end);
    tb_begin(L, &b, 0, pend);
    if (x->p < x->end && *x->p == ']') {
        x->p++;
    } else {
        do {
            seg_index(x, ++i);
            if (sp_value(x, s->items, 0)) return -1;
            x->nsegs--;
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

/* A map: a JSON object when its keys are strings, else [[k,v],...] as Kafka Connect writes. */
static int sp_map(codec_ctx_t *x, const sch_node_t *s)
{
    lua_State *L = x->L;
    const unsigned char *entry;
    long long i = 0;
    const char *k;
    size_t kn, n;
    int more, pend;
    tb_t b;

    if (s->keys->type == ST_STRING) {
        if (*x->p != '{')
            return ctx_fail(x, "a map with string keys must be a JSON object, got %s",
                            json_kind_at(*x->p));
    } else if (*x->p != '[') {
        return ctx_fail(x, "a map with %s keys must be a JSON array of [key, value] pairs, got %s",
                        stype_json[s->keys->type], json_kind_at(*x->p));
    }
    if (ctx_enter_pend(x, &pend)) return -1;
    x->p = jp_ws(x->p + 1, x->end);
    tb_begin(L, &b, 1, pend);
    if (x->p < x->end && *x->p == (s->keys->type == ST_STRING ? '}' : ']')) {
        x->p++;
        goto done;
    }
    do {
        if (s->keys->type == ST_STRING) {
            if (jp_key(x, &k, &kn)) return -1;
            lua_pushlstring(L, k, kn);
            k = lua_tolstring(L, -1, &kn); /* the scratch copy may not last */
            seg_key(x, k, kn);
            if (sp_value(x, s->values, 0)) return -1;
        } else {
            seg_index(x, ++i);
            entry = x->p;
            if (entry >= x->end) return jp_unexpected(x, entry, NULL);
            if (*entry != '[' || jp_count_items(x, &n)) {
                if (x->syntax) return -1;
                n = 0;
            }
            if (n != 2) return ctx_fail(x, "map entry must be a [key, value] array");
            x->p = jp_ws(entry + 1, x->end);
            if (sp_value(x, s->keys, 0)) return -1;
            if (jp_next(x, ']') < 0) return -1;
            if (sp_value(x, s->values, 0)) return -1;
            if (jp_next(x, ']') < 0) return -1;
        }
        x->nsegs--;
        tb_add(L, &b);
    } while ((more = jp_next(x, s->keys->type == ST_STRING ? '}' : ']')) > 0);
    if (more < 0) return -1;
done:
    tb_end(L, &b);
    x->depth--;
    return 0;
}

/* A float or double field's string: "NaN", "Infinity" or "-Infinity", as the encoder (and
 * Connect's JsonConverter) writes them, read back as the float value. Connect reads any
 * string there as 0.0 (TextNode.doubleValue()); we keep the value and refuse other strings. */
static LC_COLD int sp_nonfinite(codec_ctx_t *x, stype_t st)
{
    const char *str;
    size_t n;

    if (jp_string(x, &str, &n)) return -1;
    if (n == 3 && memcmp(str, "NaN", 3) == 0)
        lua_pushnumber(x->L, NAN);
    else if (n == 8 && memcmp(str, "Infinity", 8) == 0)
        lua_pushnumber(x->L, INFINITY);
    else if (n == 9 && memcmp(str, "-Infinity", 9) == 0)
        lua_pushnumber(x->L, -INFINITY);
    else
        return ctx_fail(x, "expected %s, got string", stype_json[st]);
    return 0;
}

/* Pushes the payload value at x->p following the schema node s; top: null becomes nil. */
int sp_value(codec_ctx_t *x, const sch_node_t *s, int top)
{
    lua_State *L = x->L;
    unsigned char c;
    const char *str;
    size_t n;
    jnum_t v;

    if (x->p >= x->end) return jp_unexpected(x, x->p, NULL);
    c = *x->p;
    if (c == 'n') {
        if (jp_lit(x, "null", 4)) return -1;
        return sp_null(x, s, top);
    }
    if (!is_value_start(c)) return jp_unexpected(x, x->p, "a JSON value");
    switch (s->type) {
    case ST_BOOLEAN:
        if (c != 't' && c != 'f') break;
        if (jp_lit(x, c == 't' ? "true" : "false", c == 't' ? 4 : 5)) return -1;
        lua_pushboolean(L, c == 't');
        return 0;
    case ST_INT8:
    case ST_INT16:
    case ST_INT32:
    case ST_INT64:
        if (c != '-' && !is_digit(c)) break;
        if (jp_number(x, &v)) return -1;
        return sp_int(x, &v, s->type);
    case ST_FLOAT32:
    case ST_FLOAT64:
        if (c == '"') return sp_nonfinite(x, s->type);
        if (c != '-' && !is_digit(c)) break;
        if (jp_number(x, &v)) return -1;
        /* What the encoder refuses (get_double) must not come in. */
        if (s->type == ST_FLOAT32 && !v.is_int && !isfinite((float)v.d))
            return ctx_fail(x, "%.17g is out of range for float", v.d);
        lua_pushnumber(L, v.is_int ? (double)v.i : v.d);
        return 0;
    case ST_STRING:
        if (c != '"') break;
        if (jp_string(x, &str, &n)) return -1;
        lua_pushlstring(L, str, n);
        return 0;
    case ST_BYTES:
        if (c != '"') break;
        return sp_bytes(x);
    case ST_ARRAY:
        if (c != '[') break;
        return sp_array(x, s);
    case ST_MAP:
        return sp_map(x, s);
    case ST_STRUCT:
        if (c != '{') break;
        return sp_struct(x, s);
    case ST_UNKNOWN:
        break;
    }
    return ctx_fail(x, "expected %s, got %s", stype_json[s->type], json_kind_at(c));
}
