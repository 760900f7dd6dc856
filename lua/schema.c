/* schema: Kafka Connect schemas. Their types (JSON names, integer ranges), and the schemas
 * that come with records: a schema's JSON text becomes a Lua table (what scripts see) and C
 * nodes (what decode_schema.c reads the payload against) in one pass, cached per lua_State
 * by its exact text because every record repeats it. Depends on codec_internal.h, json_read.c
 * (the reader), decode_schema.c (for defaults) and libc. */
#include "codec_internal.h"

#include <stdlib.h>

static char reg_sch_mt, reg_sch_cache;

/* ---------------------------------------------------------------- schema types */

const char *const stype_json[] = {"boolean", "int8",   "int16",  "int32",  "int64",
                                  "float",   "double", "bytes",  "string", "array",
                                  "map",     "struct", "unknown"};

/* The type named s (n bytes); aliases: accept float32/float64 too. Runs once per value
 * encoded with a schema, hence the length switch instead of a strcmp per name. */
stype_t stype_parse(const char *s, size_t n, int aliases)
{
    static const stype_t by_len5[] = {ST_INT16, ST_INT32, ST_INT64, ST_FLOAT32, ST_BYTES, ST_ARRAY};
    static const stype_t by_len6[] = {ST_FLOAT64, ST_STRING, ST_STRUCT};
    const stype_t *c = NULL;
    size_t i, nc = 0;

    switch (n) {
    case 3:
        return memcmp(s, "map", 3) == 0 ? ST_MAP : ST_UNKNOWN;
    case 4:
        return memcmp(s, "int8", 4) == 0 ? ST_INT8 : ST_UNKNOWN;
    case 5:
        c = by_len5;
        nc = sizeof by_len5 / sizeof by_len5[0];
        break;
    case 6:
        c = by_len6;
        nc = sizeof by_len6 / sizeof by_len6[0];
        break;
    case 7:
        if (memcmp(s, "boolean", 7) == 0) return ST_BOOLEAN;
        if (aliases && memcmp(s, "float32", 7) == 0) return ST_FLOAT32;
        if (aliases && memcmp(s, "float64", 7) == 0) return ST_FLOAT64;
        return ST_UNKNOWN;
    default:
        return ST_UNKNOWN;
    }
    for (i = 0; i < nc; i++)
        if (memcmp(s, stype_json[c[i]], n) == 0) return c[i];
    return ST_UNKNOWN;
}

const int64_t int_min[] = {0, -128, -32768, -2147483647 - 1, INT64_MIN};
const int64_t int_max[] = {0, 127, 32767, 2147483647, INT64_MAX};

/* ---------------------------------------------------------------- schemas */

static int sch_entry_gc(lua_State *L)
{
    sch_entry_t *en = lua_touserdata(L, 1);
    sch_chunk_t *c, *next;

    if (!en) return 0;
    for (c = en->chunks; c; c = next) {
        next = c->next;
        free(c);
    }
    en->chunks = NULL;
    if (en->env_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, en->env_ref);
    en->env_ref = LUA_NOREF;
    return 0;
}

/* Zeroed memory from the entry's arena, or NULL after ctx_fail. */
static void *sch_alloc(codec_ctx_t *x, sch_entry_t *en, size_t n)
{
    sch_chunk_t *c = en->chunks;
    char *p;

    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        if (!(c = malloc(sizeof *c + cap))) {
            ctx_oom(x);
            return NULL;
        }
        c->next = en->chunks;
        c->used = 0;
        c->cap = cap;
        en->chunks = c;
    }
    p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

/* Records where the value of each known key of the schema object at x->p starts (last one
 * wins, as with jansson) and moves x->p past the object. Anything but an object has no
 * keys. */
static int sch_members(codec_ctx_t *x, const unsigned char **at)
{
    const char *k;
    size_t kn;
    int i, more;

    if (*x->p != '{') return jp_skip(x, x->depth);
    x->p = jp_ws(x->p + 1, x->end);
    if (x->p < x->end && *x->p == '}') {
        x->p++;
        return 0;
    }
    do {
        if (jp_key(x, &k, &kn)) return -1;
        for (i = 0; i < K_COUNT; i++)
            if (strlen(key_names[i]) == kn && memcmp(key_names[i], k, kn) == 0) at[i] = x->p;
        if (jp_skip(x, x->depth)) return -1;
    } while ((more = jp_next(x, '}')) > 0);
    return more;
}

/* Pushes the "parameters" object at x->p (string values only). */
static int sch_params(codec_ctx_t *x)
{
    lua_State *L = x->L;
    const char *k, *v;
    size_t kn, vn;
    int more;

    lua_newtable(L);
    x->p = jp_ws(x->p + 1, x->end);
    if (x->p < x->end && *x->p == '}') {
        x->p++;
        return 0;
    }
    do {
        if (jp_key(x, &k, &kn)) return -1;
        lua_pushlstring(L, k, kn);
        if (x->p >= x->end || *x->p != '"')
            return ctx_fail(x, "schema parameters must have string values ('%s' is %s)",
                            lua_tostring(L, -1), json_kind_at(x->p < x->end ? *x->p : 'n'));
        if (jp_string(x, &v, &vn)) return -1;
        lua_pushlstring(L, v, vn);
        lua_rawset(L, -3);
    } while ((more = jp_next(x, '}')) > 0);
    return more;
}

/* Builds the schema at x->p: pushes its Lua table, validated as Kafka Connect's
 * asConnectSchema does (types keep their JSON names, "double"), and sets *out to its node.
 * fld: the struct field it describes, whose "field" name is checked first and recorded. */
static int sch_build(codec_ctx_t *x, sch_entry_t *en, sch_field_t *fld, sch_node_t **out)
{
    lua_State *L = x->L;
    const unsigned char *at[K_COUNT] = {0}, *end;
    const char *str;
    size_t n, i, j;
    sch_node_t *s;
    stype_t st;
    jnum_t v;
    int t, sub;
    char *name;

    if (ctx_enter(x)) return -1;
    if (sch_members(x, at)) return -1;
    end = x->p;
    if (fld && (!at[K_FIELD] || *at[K_FIELD] != '"'))
        return ctx_fail(x, "struct field has no \"field\" name");
    if (!at[K_TYPE] || *at[K_TYPE] != '"')
        return ctx_fail(x, "schema must contain a \"type\" string");
    x->p = at[K_TYPE];
    if (jp_string(x, &str, &n)) return -1;
    if ((st = stype_parse(str, n, 0)) == ST_UNKNOWN)
        return ctx_fail(x, "unknown schema type '%.*s'", (int)n, str);
    if (!(s = sch_alloc(x, en, sizeof *s))) return -1;
    s->type = st;
    *out = s;
    lua_createtable(L, 0, 4);
    t = lua_gettop(L);
    lua_pushstring(L, stype_json[st]);
    rawset_k(x, t, K_TYPE);
    switch (st) {
    case ST_ARRAY:
        if (!at[K_ITEMS] || *at[K_ITEMS] != '{')
            return ctx_fail(x, "array schema has no \"items\" schema");
        seg_key(x, "items", 5);
        x->p = at[K_ITEMS];
        if (sch_build(x, en, NULL, &s->items)) return -1;
        x->nsegs--;
        rawset_k(x, t, K_ITEMS);
        break;
    case ST_MAP:
        if (!at[K_KEYS] || *at[K_KEYS] != '{')
            return ctx_fail(x, "map schema has no \"keys\" schema");
        seg_key(x, "keys", 4);
        x->p = at[K_KEYS];
        if (sch_build(x, en, NULL, &s->keys)) return -1;
        x->nsegs--;
        rawset_k(x, t, K_KEYS);
        if (!at[K_VALUES] || *at[K_VALUES] != '{')
            return ctx_fail(x, "map schema has no \"values\" schema");
        seg_key(x, "values", 6);
        x->p = at[K_VALUES];
        if (sch_build(x, en, NULL, &s->values)) return -1;
        x->nsegs--;
        rawset_k(x, t, K_VALUES);
        break;
    case ST_STRUCT:
        if (!at[K_FIELDS] || *at[K_FIELDS] != '[')
            return ctx_fail(x, "struct schema's \"fields\" is not an array");
        x->p = at[K_FIELDS];
        if (jp_count_items(x, &s->nfields)) return -1;
        if (s->nfields > INT32_MAX / 2) return ctx_fail(x, "too many struct fields");
        if (s->nfields && !(s->fields = sch_alloc(x, en, s->nfields * sizeof *s->fields)))
            return -1;
        lua_createtable(L, (int)s->nfields, 0);
        sub = lua_gettop(L);
        seg_key(x, "fields", 6);
        x->p = jp_ws(at[K_FIELDS] + 1, x->end);
        for (i = 0; i < s->nfields; i++) {
            seg_index(x, (long long)i + 1);
            if (sch_build(x, en, &s->fields[i], &s->fields[i].schema)) return -1;
            /* SchemaBuilder refuses a name twice; payloads could not say which one they mean. */
            for (j = 0; j < i; j++)
                if (s->fields[j].len == s->fields[i].len &&
                    memcmp(s->fields[j].name, s->fields[i].name, s->fields[i].len) == 0)
                    return ctx_fail(x, "duplicate field name '%s' in struct schema",
                                    s->fields[i].name);
            lua_rawseti(L, sub, (int)i + 1);
            x->nsegs--;
            if (jp_next(x, ']') < 0) return -1;
        }
        x->nsegs--;
        lua_pushvalue(L, x->mt);
        lua_setmetatable(L, sub);
        rawset_k(x, t, K_FIELDS);
        break;
    default:
        break;
    }
    s->optional = at[K_OPTIONAL] && *at[K_OPTIONAL] == 't';
    lua_pushboolean(L, s->optional);
    rawset_k(x, t, K_OPTIONAL);
    if (at[K_NAME] && *at[K_NAME] == '"') {
        x->p = at[K_NAME];
        if (jp_string(x, &str, &n)) return -1;
        lua_pushlstring(L, str, n);
        rawset_k(x, t, K_NAME);
    }
    if (at[K_VERSION] && (*at[K_VERSION] == '-' || is_digit(*at[K_VERSION]))) {
        x->p = at[K_VERSION];
        if (jp_number(x, &v)) return -1;
        /* Connect's versions are Java ints; the encoder (write_schema) refuses others. */
        if (v.is_int && (v.i < INT32_MIN || v.i > INT32_MAX))
            return ctx_fail(x, "schema version %lld is out of range for int32", (long long)v.i);
        if (v.is_int) {
            lua_pushnumber(L, (double)v.i);
            rawset_k(x, t, K_VERSION);
        }
    }
    if (at[K_DOC] && *at[K_DOC] == '"') {
        x->p = at[K_DOC];
        if (jp_string(x, &str, &n)) return -1;
        lua_pushlstring(L, str, n);
        rawset_k(x, t, K_DOC);
    }
    if (at[K_PARAMETERS] && *at[K_PARAMETERS] == '{') {
        x->p = at[K_PARAMETERS];
        if (sch_params(x)) return -1;
        rawset_k(x, t, K_PARAMETERS);
    }
    if (at[K_DEFAULT] && *at[K_DEFAULT] != 'n') {
        seg_key(x, "default", 7);
        x->p = at[K_DEFAULT];
        if (sp_value(x, s, 0)) return -1;
        s->def = at[K_DEFAULT];
        s->def_end = x->end;
        x->nsegs--;
        rawset_k(x, t, K_DEFAULT);
    }
    if (fld) {
        x->p = at[K_FIELD];
        if (jp_string(x, &str, &n)) return -1;
        if (!(name = sch_alloc(x, en, n + 1))) return -1;
        memcpy(name, str, n);
        fld->name = name;
        fld->len = n;
        fld->kref = ++en->nkeys + 1;
        lua_pushlstring(L, str, n);
        lua_pushvalue(L, -1);
        lua_rawseti(L, x->env, fld->kref);
        rawset_k(x, t, K_FIELD);
    }
    x->p = end;
    x->depth--;
    return 0;
}

/* Builds a cache entry for the schema JSON start..start+len: pushes the entry userdata. */
static sch_entry_t *sch_new(codec_ctx_t *x, const unsigned char *start, size_t len)
{
    lua_State *L = x->L;
    const unsigned char *beg = x->beg, *end = x->end;
    unsigned char *text;
    sch_entry_t *en;
    int ud, env, rc;

    en = lua_newuserdata(L, sizeof *en);
    memset(en, 0, sizeof *en);
    en->env_ref = LUA_NOREF;
    ud = lua_gettop(L);
    push_reg(L, &reg_sch_mt);
    lua_setmetatable(L, ud);
    if (!(text = sch_alloc(x, en, len ? len : 1))) return NULL;
    memcpy(text, start, len);
    en->text = text;
    en->len = len;
    lua_createtable(L, 8, 0);
    env = x->env = lua_gettop(L);
    /* Parse the copy: defaults are decoded again from it whenever a value is null. */
    x->beg = x->p = text;
    x->end = text + len;
    x->root = "schema";
    x->nsegs = 0;
    rc = sch_build(x, en, NULL, &en->root);
    x->beg = beg;
    x->end = end;
    x->p = start + len;
    if (rc) return NULL;
    lua_pushvalue(L, -1);
    lua_pushboolean(L, 1);
    lua_rawset(L, lua_upvalueindex(UPV_FROZEN));
    lua_rawseti(L, env, 1);
    lua_pushvalue(L, env);
    en->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settop(L, ud);
    return en;
}

/* Finds or builds the cache entry of the schema JSON at x->p, moves x->p past it and pushes
 * the entry's environment table (x->env). */
sch_entry_t *sch_intern(codec_ctx_t *x)
{
    lua_State *L = x->L;
    const unsigned char *start = x->p;
    int i, top = lua_gettop(L);
    codec_state_t *st;
    sch_entry_t *en;
    size_t len;

    st = x->st;
    for (i = 0; i < LC_SCHEMA_RECENT; i++) {
        en = st->recent[i];
        if (en && en->len <= (size_t)(x->end - start) && memcmp(en->text, start, en->len) == 0) {
            x->p = start + en->len;
            goto found;
        }
    }
    if (jp_skip(x, x->depth)) return NULL;
    len = (size_t)(x->p - start);
    push_reg(L, &reg_sch_cache);
    lua_pushlstring(L, (const char *)start, len);
    lua_pushvalue(L, top + 2);
    lua_rawget(L, top + 1);
    if (!(en = lua_touserdata(L, top + 3))) {
        lua_settop(L, top + 2);
        if (!(en = sch_new(x, start, len))) return NULL;
        if (st->cached >= LC_SCHEMA_CACHE_MAX) { /* clear it: simple, and rare */
            lua_newtable(L);
            lua_pushvalue(L, -1);
            reg_set(L, &reg_sch_cache);
            lua_replace(L, top + 1);
            st->cached = 0;
        }
        lua_pushvalue(L, top + 2);
        lua_pushvalue(L, top + 3);
        lua_rawset(L, top + 1);
        st->cached++;
    }
    lua_getfenv(L, lua_upvalueindex(UPV_STATE));
    lua_pushvalue(L, top + 3);
    lua_rawseti(L, -2, st->next + 1);
    st->recent[st->next] = en;
    st->next = (st->next + 1) % LC_SCHEMA_RECENT;
    lua_settop(L, top);
found:
    lua_rawgeti(L, LUA_REGISTRYINDEX, en->env_ref);
    x->env = lua_gettop(L);
    return en;
}

/* The schema cache (see sch_intern): entries' metatable, the table. */
void schema_cache_init(lua_State *L)
{
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, sch_entry_gc);
    lua_setfield(L, -2, "__gc");
    reg_set(L, &reg_sch_mt);
    lua_newtable(L);
    reg_set(L, &reg_sch_cache);
}
