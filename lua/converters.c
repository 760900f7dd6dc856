/* converters: codec.h's entry points. JsonConverter (the envelope when schemas.enable),
 * StringConverter and ByteArrayConverter in both directions, plain JSON for the SDK, and
 * lc_codec_init, which prepares a lua_State. Every walk runs inside lua_pcall through a
 * runner closure kept in the registry, so a Lua error unwinds to here. Depends on
 * codec_internal.h and every other codec file. */
#include "codec_internal.h"

#include <lualib.h>
#include <strings.h>

static char reg_encode, reg_decode, reg_frozen;
static int in_region(lua_State *L);

/* ---------------------------------------------------------------- encode entry */

/* StringConverter writes a double as Double.toString: NaN and the infinities unquoted (put_float
 * quotes them, as JsonConverter does). */
static LC_COLD int put_nonfinite_text(codec_ctx_t *x, double d)
{
    if (isnan(d)) return PUTLIT(x, "NaN");
    return d > 0 ? PUTLIT(x, "Infinity") : PUTLIT(x, "-Infinity");
}

static int enc_string_conv(codec_ctx_t *x, int vidx)
{
    lua_State *L = x->L;
    const char *s;
    size_t n;
    uint64_t u = 0;
    double d = 0;

    switch (lua_type(L, vidx)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, vidx, &n);
        return put(x, s, n);
    case LUA_TNUMBER:
        d = lua_tonumber(L, vidx);
        return isfinite(d) ? put_number(x, d) : put_nonfinite_text(x, d);
    case LUA_TBOOLEAN:
        return lua_toboolean(L, vidx) ? PUTLIT(x, "true") : PUTLIT(x, "false");
    case LC_TCDATA:
        switch (cdata_classify(L, vidx, &u, &d)) {
        case CD_I64:
            return put_i64(x, (int64_t)u);
        case CD_U64:
            return put_u64(x, u);
        case CD_F64:
            return isfinite(d) ? put_float(x, d, 0) : put_nonfinite_text(x, d);
        case CD_NUM:
            return isfinite(d) ? put_number(x, d) : put_nonfinite_text(x, d);
        default:
            break;
        }
        break;
    }
    return ctx_fail(x, "StringConverter cannot encode a %s", type_name(L, vidx));
}

/* The encode runner's work on the value at vidx and the schema at sidx (absolute). */
static void enc_body(lua_State *L, codec_ctx_t *x, int vidx, int sidx)
{
    const lc_converter_t *c = x->conv;
    size_t n;
    const char *s;

    x->mt = lua_upvalueindex(UPV_MT);
    x->st = lua_touserdata(L, lua_upvalueindex(UPV_STATE));
    if (x->mode == MODE_SORTED) {
        enc_plain(x, vidx);
        return;
    }
    if (is_null_ud(L, vidx) && c->kind != LC_CONV_JSON) {
        x->is_null = 1;
        return;
    }
    switch (c->kind) {
    case LC_CONV_STRING:
        enc_string_conv(x, vidx);
        break;
    case LC_CONV_BYTES:
        if (lua_type(L, vidx) != LUA_TSTRING) {
            ctx_fail(x, "ByteArrayConverter needs a string (bytes), got %s", type_name(L, vidx));
            break;
        }
        s = lua_tolstring(L, vidx, &n);
        put(x, s, n);
        break;
    case LC_CONV_JSON:
        if (c->schemas_enable) {
            if (PUTLIT(x, "{\"schema\":")) break;
            x->root = "schema";
            if (x->has_schema ? put_frozen_schema(x, sidx) : PUTLIT(x, "null")) break;
            x->root = "value";
            x->nsegs = 0;
            if (PUTLIT(x, ",\"payload\":")) break;
        }
        if (x->has_schema ? enc_frozen(x, vidx, sidx) : enc_plain(x, vidx)) break;
        if (c->schemas_enable) putc_(x, '}');
        break;
    }
}

/* Runs inside lua_pcall: (ctx, value, schema-or-nil). */
static int enc_runner(lua_State *L)
{
    enc_body(L, lua_touserdata(L, 1), 2, 3);
    return 0;
}

/* Pushes the runner stored under key and x, the start of a run_protected call. */
static int push_runner(codec_ctx_t *x, void *key)
{
    push_reg(x->L, key);
    if (!lua_isfunction(x->L, -1)) {
        lua_pop(x->L, 1);
        set_err(x->errstr, x->errstr_size, "codec not initialised (call lc_codec_init)");
        return -1;
    }
    lua_pushlightuserdata(x->L, x);
    return 0;
}

/* Calls the runner that push_runner pushed, followed by nargs values; leaves nres results on
 * success and nothing on failure. */
static int run_protected(codec_ctx_t *x, int nargs, int nres)
{
    lua_State *L = x->L;
    int base = lua_gettop(L) - nargs - 2, status;

    status = lua_pcall(L, nargs + 1, nres, 0);
    if (status) {
        const char *m = lua_tostring(L, -1);
        set_err(x->errstr, x->errstr_size, "Lua error in codec: %s",
                m                      ? m
                : status == LUA_ERRMEM ? "out of memory"
                                       : "(no message)");
        lua_settop(L, base);
        return -1;
    }
    if (x->failed) {
        lua_settop(L, base);
        return -1;
    }
    return 0;
}

/** Serialises the Lua value at value_idx (see codec.h). Returns 0, or -1 with errstr. */
int lc_conv_from_lua(const lc_converter_t *c, lua_State *L, int value_idx, int schema_idx,
                     lc_buf_t *out, int *is_null, char *errstr, size_t errstr_size)
{
    codec_ctx_t x;
    int vidx, sidx = 0;

    out->len = 0;
    *is_null = 0;
    vidx = absidx(L, value_idx);
    if (schema_idx) {
        sidx = absidx(L, schema_idx);
        if (is_nil_or_null(L, sidx)) sidx = 0;
    }
    if (lua_isnil(L, vidx)) {
        *is_null = 1; /* a tombstone, with or without a schema */
        return 0;
    }
    if (!lua_checkstack(L, 8)) {
        set_err(errstr, errstr_size, "Lua stack exhausted");
        return -1;
    }
    ctx_init(&x, L, errstr, errstr_size);
    x.conv = c;
    x.out = out;
    x.has_schema = sidx != 0;
    if (in_region(L)) { /* already protected: the runner's work without its lua_pcall */
        int base = lua_gettop(L);
        lua_pushvalue(L, vidx); /* the runner's arguments, as copies */
        if (sidx)
            lua_pushvalue(L, sidx);
        else
            lua_pushnil(L);
        enc_body(L, &x, base + 1, base + 2);
        lua_settop(L, base);
        if (x.failed) {
            out->len = 0;
            return -1;
        }
    } else {
        if (push_runner(&x, &reg_encode)) return -1;
        lua_pushvalue(L, vidx);
        if (sidx)
            lua_pushvalue(L, sidx);
        else
            lua_pushnil(L);
        if (run_protected(&x, 2, 0)) {
            out->len = 0;
            return -1;
        }
    }
    if (x.is_null) {
        out->len = 0;
        *is_null = 1;
    }
    return 0;
}

/** Encodes the value at idx as plain JSON with sorted object keys, appending to out. A flat
 * object (a sink record's value, a source offset: one per record) is written by
 * enc_flat_sorted without the runner's lua_pcall. */
int lc_json_encode_sorted(lua_State *L, int idx, lc_buf_t *out, char *errstr, size_t errstr_size)
{
    codec_ctx_t x;
    size_t start = out->len;
    int rc;

    idx = absidx(L, idx);
    if (!lua_checkstack(L, 8)) {
        set_err(errstr, errstr_size, "Lua stack exhausted");
        return -1;
    }
    ctx_init(&x, L, errstr, errstr_size);
    x.mode = MODE_SORTED;
    x.out = out;
    if ((rc = enc_flat_sorted(&x, idx)) != 0) {
        if (rc < 0) out->len = start;
        return rc < 0 ? -1 : 0;
    }
    if (push_runner(&x, &reg_encode)) return -1;
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    if (run_protected(&x, 2, 0)) {
        out->len = start;
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- decode entry */

static const char envelope_error[] =
    "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not "
    "contain additional fields. If you are trying to deserialize plain JSON data, set "
    "schemas.enable=false in your converter configuration.";

static int env_fail(codec_ctx_t *x)
{
    if (x->failed) return -1;
    x->failed = 1;
    set_err(x->errstr, x->errstr_size, "%s", envelope_error);
    return -1;
}

static void push_simple_schema(lua_State *L, const char *type)
{
    lua_createtable(L, 0, 2);
    lua_pushstring(L, type);
    lua_setfield(L, -2, "type");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "optional");
}

/* The schema value at x->p: null, or a cache entry (pushes its environment table). */
static int env_schema(codec_ctx_t *x, sch_entry_t **en)
{
    x->root = "schema";
    x->nsegs = 0;
    if (x->p < x->end && *x->p == 'n') {
        *en = NULL;
        return jp_lit(x, "null", 4);
    }
    return (*en = sch_intern(x)) ? 0 : -1;
}

/* Pushes the payload at x->p, decoded against en's schema (or none). Struct fields are read
 * as they come; when that fails, once more in schema order so that the error reported is the
 * one Kafka Connect's walk over the schema would meet first. */
static int env_payload(codec_ctx_t *x, const sch_entry_t *en)
{
    const unsigned char *p = x->p;
    int top = lua_gettop(x->L), depth = x->depth, rc;

    x->root = "payload";
    x->nsegs = 0;
    if (!en) return jp_value(x, 1);
    if (sp_value(x, en->root, 1) == 0 || x->syntax || !x->failed) return x->failed ? -1 : 0;
    lua_settop(x->L, top);
    x->p = p;
    x->failed = 0;
    x->nsegs = 0;
    x->depth = depth;
    x->ordered = 1;
    rc = sp_value(x, en->root, 1);
    x->ordered = 0;
    return rc;
}

/* {"schema":..., "payload":...}: pushes the payload value and the schema table. Kafka
 * Connect writes the schema first, so the payload is decoded against it in the same pass;
 * another order, or a repeated key (the last one wins, as with jansson), takes a second
 * look at the values found. */
static int dec_envelope(codec_ctx_t *x)
{
    lua_State *L = x->L;
    const unsigned char *sch = NULL, *pay = NULL;
    int base = lua_gettop(L), in_order = 1, more;
    sch_entry_t *en = NULL;
    const char *k;
    size_t kn;

again:
    x->p = jp_ws(x->beg, x->end);
    if (x->p >= x->end || *x->p != '{') return env_fail(x);
    x->p = jp_ws(x->p + 1, x->end);
    if (x->p < x->end && *x->p == '}') return env_fail(x);
    do {
        if (jp_key(x, &k, &kn)) return -1;
        if (kn == 6 && memcmp(k, "schema", 6) == 0) {
            if (sch && in_order) goto reread;
            sch = x->p;
            if (!in_order || pay) {
                if (jp_skip(x, 0)) return -1;
            } else if (env_schema(x, &en)) {
                return -1;
            }
        } else if (kn == 7 && memcmp(k, "payload", 7) == 0) {
            if (pay && in_order) goto reread;
            pay = x->p;
            if (!in_order || !sch) {
                if (jp_skip(x, 0)) return -1;
            } else if (env_payload(x, en)) {
                return -1;
            }
        } else {
            return env_fail(x);
        }
    } while ((more = jp_next(x, '}')) > 0);
    if (more < 0) return -1;
    x->p = jp_ws(x->p, x->end);
    if (x->p < x->end) return jp_unexpected(x, x->p, "end of input");
    if (!sch || !pay) return env_fail(x);
    if (!in_order || pay < sch) {
        x->p = sch;
        if (env_schema(x, &en)) return -1;
        x->p = pay;
        if (env_payload(x, en)) return -1;
    }
    if (en)
        lua_rawgeti(L, x->env, 1);
    else
        lua_pushnil(L);
    return 0;
reread:
    lua_settop(L, base);
    in_order = 0;
    sch = pay = NULL;
    goto again;
}

/* The decode runner's work: pushes value and schema (returns 2), or returns 0 on failure. */
static int dec_body(lua_State *L, codec_ctx_t *x)
{
    x->started = 1;
    x->mt = lua_upvalueindex(UPV_MT);
    x->st = lua_touserdata(L, lua_upvalueindex(UPV_STATE));
    if (x->mode == MODE_PLAIN_DECODE || x->conv->kind == LC_CONV_JSON) {
        if (x->mode == MODE_PLAIN_DECODE || !x->conv->schemas_enable) {
            if (dec_text(x)) return 0;
            lua_pushnil(L);
            return 2;
        }
        return dec_envelope(x) ? 0 : 2;
    }
    lua_pushlstring(L, x->data, x->len);
    push_simple_schema(L, x->conv->kind == LC_CONV_STRING ? "string" : "bytes");
    return 2;
}

/* Runs inside lua_pcall: (ctx). Pushes value and schema (always two results). */
static int dec_runner(lua_State *L)
{
    return dec_body(L, lua_touserdata(L, 1));
}

/* ---------------------------------------------------------------- protected regions */

/* lc_conv_protected's region on this thread: its lua_State and codec state while the
 * region's runner is running, else NULL. Inside it, the current C function is the region
 * runner (a closure with the codec's upvalues) or one it called; the codec state upvalue
 * tells which, so a conversion made from a nested C function (a __gc metamethod's, say)
 * takes the ordinary pcall path. */
static __thread struct region {
    lua_State *L;
    const void *st;
} region;

static char reg_region;

typedef struct {
    lc_conv_region_fn fn;
    void *opaque;
    int rc;
} region_call_t;

/* Runs inside lua_pcall: (call, args...). */
static int region_runner(lua_State *L)
{
    region_call_t *c = lua_touserdata(L, 1);
    region.L = L;
    region.st = lua_touserdata(L, lua_upvalueindex(UPV_STATE));
    c->rc = c->fn(L, 2, c->opaque);
    return 0;
}

/* Whether a conversion on L may call the runners' bodies directly (see region). */
static int in_region(lua_State *L)
{
    return region.L == L && lua_touserdata(L, lua_upvalueindex(UPV_STATE)) == region.st;
}

int lc_conv_protected(lua_State *L, int nargs, lc_conv_region_fn fn, void *opaque, char *errstr,
                      size_t errstr_size)
{
    struct region saved = region;
    region_call_t call = {fn, opaque, 0};
    int status;

    if (!lua_checkstack(L, 4)) {
        set_err(errstr, errstr_size, "Lua stack exhausted");
        lua_pop(L, nargs);
        return -1;
    }
    push_reg(L, &reg_region);
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, nargs + 1);
        set_err(errstr, errstr_size, "codec not initialised (call lc_codec_init)");
        return -1;
    }
    lua_insert(L, -(nargs + 1));
    lua_pushlightuserdata(L, &call);
    lua_insert(L, -(nargs + 1));
    status = lua_pcall(L, nargs + 1, 0, 0);
    region = saved;
    if (status) {
        const char *m = lua_tostring(L, -1);
        set_err(errstr, errstr_size, "Lua error: %s",
                m                      ? m
                : status == LUA_ERRMEM ? "out of memory"
                                       : "(no message)");
        lua_pop(L, 1);
        return -1;
    }
    return call.rc;
}

/* Is the text an envelope: an object whose keys are "schema" and "payload", both? Runs on
 * checked text. */
static int env_shape_ok(codec_ctx_t *x)
{
    int have_schema = 0, have_payload = 0;
    const char *k;
    size_t kn;

    x->p = jp_ws(x->beg, x->end);
    if (*x->p != '{') return 0;
    x->p = jp_ws(x->p + 1, x->end);
    if (*x->p == '}') return 0;
    do {
        if (jp_key(x, &k, &kn)) return 1; /* out of memory: keep the first error */
        if (kn == 6 && memcmp(k, "schema", 6) == 0)
            have_schema = 1;
        else if (kn == 7 && memcmp(k, "payload", 7) == 0)
            have_payload = 1;
        else
            return 0;
        if (jp_skip(x, 0)) return 1;
    } while (jp_next(x, '}') > 0);
    return have_schema && have_payload;
}

/* After a failure that is not a syntax error: a syntax error anywhere in the text, then a
 * text that is no envelope, take precedence, as when the whole text was parsed first. Calls
 * no Lua API (this runs after lua_pcall returned). */
static void dec_recheck(codec_ctx_t *x, int envelope)
{
    char *errstr = x->errstr, tmp[256];
    size_t errstr_size = x->errstr_size;

    x->errstr = tmp;
    x->errstr_size = sizeof tmp;
    x->failed = x->syntax = 0;
    x->depth = x->nsegs = 0;
    x->p = jp_ws(x->beg, x->end);
    if (jp_skip(x, 0) == 0) {
        x->p = jp_ws(x->p, x->end);
        if (x->p < x->end) jp_unexpected(x, x->p, "end of input");
    }
    x->errstr = errstr;
    x->errstr_size = errstr_size;
    if (x->syntax)
        set_err(errstr, errstr_size, "%s", tmp);
    else if (!x->failed && envelope && !env_shape_ok(x))
        set_err(errstr, errstr_size, "%s", envelope_error);
}

/** Deserialises data and pushes the value and its schema (see codec.h). */
int lc_conv_to_lua(const lc_converter_t *c, lua_State *L, const void *data, size_t len,
                   char *errstr, size_t errstr_size)
{
    codec_ctx_t x;
    int rc;

    if (!lua_checkstack(L, 8)) {
        set_err(errstr, errstr_size, "Lua stack exhausted");
        return -1;
    }
    if (!data || (c->kind == LC_CONV_JSON && len == 0)) {
        lua_pushnil(L);
        lua_pushnil(L);
        return 0;
    }
    ctx_init(&x, L, errstr, errstr_size);
    x.conv = c;
    x.data = data;
    x.len = len;
    x.beg = x.p = data;
    x.end = x.beg + len;
    if (in_region(L)) { /* already protected: the runner's work without its lua_pcall */
        int base = lua_gettop(L), n = dec_body(L, &x);
        if (x.failed) {
            lua_settop(L, base);
            rc = -1;
        } else {
            if (!n) { /* as lua_pcall pads a runner's missing results */
                lua_pushnil(L);
                lua_pushnil(L);
            }
            lua_insert(L, base + 1); /* the two results down to base + 1, base + 2 */
            lua_insert(L, base + 1);
            lua_settop(L, base + 2);
            rc = 0;
        }
    } else {
        rc = push_runner(&x, &reg_decode) ? -1 : run_protected(&x, 0, 2);
    }
    if (rc && x.started && !x.syntax && c->kind == LC_CONV_JSON) dec_recheck(&x, c->schemas_enable);
    if (x.scratch.data) lc_buf_free(&x.scratch);
    return rc;
}

/** Decodes JSON text and pushes the Lua value (schemaless rules). Returns 0 or -1. */
int lc_json_decode(lua_State *L, const char *text, size_t len, char *errstr, size_t errstr_size)
{
    codec_ctx_t x;
    int rc;

    if (!lua_checkstack(L, 8)) {
        set_err(errstr, errstr_size, "Lua stack exhausted");
        return -1;
    }
    ctx_init(&x, L, errstr, errstr_size);
    x.mode = MODE_PLAIN_DECODE;
    x.beg = x.p = (const unsigned char *)text;
    x.end = x.beg + len;
    rc = push_runner(&x, &reg_decode) ? -1 : run_protected(&x, 0, 2);
    if (rc && x.started && !x.syntax) dec_recheck(&x, 0);
    lc_buf_free(&x.scratch);
    if (rc == 0) lua_pop(L, 1); /* the (nil) schema */
    return rc;
}

/* ---------------------------------------------------------------- setup */

static const struct {
    const char *full, *short_name;
    lc_conv_kind_t kind;
} conv_classes[] = {
    {"org.apache.kafka.connect.json.JsonConverter", "JsonConverter", LC_CONV_JSON},
    {"org.apache.kafka.connect.storage.StringConverter", "StringConverter", LC_CONV_STRING},
    {"org.apache.kafka.connect.converters.ByteArrayConverter", "ByteArrayConverter", LC_CONV_BYTES},
};

/* Copies s without surrounding blanks into dst (Kafka trims config values too). */
static const char *trim(const char *s, char *dst, size_t size)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= size) n = size - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return dst;
}

/** Configures c from a converter class name and schemas.enable (see codec.h). */
int lc_converter_init(lc_converter_t *c, const char *class_name, const char *schemas_enable,
                      char *errstr, size_t errstr_size)
{
    char name[256], flag[32];
    size_t i;
    int enable = 1;

    if (!class_name) {
        set_err(errstr, errstr_size, "no converter class given");
        return -1;
    }
    trim(class_name, name, sizeof name);
    for (i = 0; i < sizeof conv_classes / sizeof conv_classes[0]; i++)
        if (strcmp(name, conv_classes[i].full) == 0 ||
            strcmp(name, conv_classes[i].short_name) == 0)
            break;
    if (i == sizeof conv_classes / sizeof conv_classes[0]) {
        set_err(errstr, errstr_size,
                "unknown converter class '%s' (known: %s, %s, %s; the short names %s, %s, %s "
                "work too)",
                class_name, conv_classes[0].full, conv_classes[1].full, conv_classes[2].full,
                conv_classes[0].short_name, conv_classes[1].short_name, conv_classes[2].short_name);
        return -1;
    }
    if (schemas_enable && conv_classes[i].kind == LC_CONV_JSON) {
        trim(schemas_enable, flag, sizeof flag);
        if (strcasecmp(flag, "true") == 0) {
            enable = 1;
        } else if (strcasecmp(flag, "false") == 0) {
            enable = 0;
        } else {
            set_err(errstr, errstr_size,
                    "invalid value '%s' for schemas.enable (expected true or false)",
                    schemas_enable);
            return -1;
        }
    }
    c->kind = conv_classes[i].kind;
    c->schemas_enable = conv_classes[i].kind == LC_CONV_JSON ? enable : 0;
    return 0;
}

/** Prepares L for the codec: array metatable, FFI helpers, runners. Returns 0 or -1. */
int lc_codec_init(lua_State *L, char *errstr, size_t errstr_size)
{
    int top = lua_gettop(L), i;
    const char *m;
    codec_state_t *st;

    if (!lua_checkstack(L, 2 * UPV_COUNT + 8)) {
        set_err(errstr, errstr_size, "Lua stack exhausted");
        return -1;
    }
    if (value_init(L)) goto lua_err;

    /* The schema cache (see sch_intern): entries' metatable and the table; the state below. */
    schema_cache_init(L);

    /* The runners, with what they use on every call as upvalues (UPV_*). */
    push_reg(L, &reg_array_mt);
    st = lua_newuserdata(L, sizeof(codec_state_t));
    memset(st, 0, sizeof(codec_state_t));
    lua_createtable(L, LC_SCHEMA_RECENT, LC_TYPE_NAMES);
    for (i = 0; i < LC_TYPE_NAMES; i++) { /* env[name] = true keeps each string interned */
        lua_pushstring(L, i < ST_UNKNOWN ? stype_json[i] : i == ST_UNKNOWN ? "float32" : "float64");
        st->type_name[i] = lua_tostring(L, -1);
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
    }
    lua_setfenv(L, -2);
    lua_createtable(L, 2 * LC_SHAPES, 0);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    for (i = 0; i < K_COUNT; i++)
        lua_pushstring(L, key_names[i]);
    lua_pushvalue(L, top + UPV_FROZEN);
    reg_set(L, &reg_frozen);
    for (i = 1; i <= UPV_COUNT; i++)
        lua_pushvalue(L, top + i);
    lua_pushcclosure(L, enc_runner, UPV_COUNT);
    reg_set(L, &reg_encode);
    for (i = 1; i <= UPV_COUNT; i++)
        lua_pushvalue(L, top + i);
    lua_pushcclosure(L, dec_runner, UPV_COUNT);
    reg_set(L, &reg_decode);
    lua_pushcclosure(L, region_runner, UPV_COUNT);
    reg_set(L, &reg_region);
    lua_settop(L, top);
    return 0;

lua_err:
    m = lua_tostring(L, -1);
    set_err(errstr, errstr_size, "codec init failed: %s", m ? m : "(no message)");
    lua_settop(L, top);
    return -1;
}

void lc_codec_freeze(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TTABLE) return;
    idx = absidx(L, idx);
    push_reg(L, &reg_frozen);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    if (lua_isnil(L, -1)) { /* an entry or a mark already there stays */
        lua_pushvalue(L, idx);
        lua_pushboolean(L, 1);
        lua_rawset(L, -4);
    }
    lua_pop(L, 2);
}
