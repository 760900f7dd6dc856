/* codec: Kafka Connect's converters (JsonConverter, StringConverter, ByteArrayConverter)
 * between Kafka message bytes and Lua values. codec.h describes the Lua value model.
 *
 * Both directions run once per record, so neither builds a tree: decoding is a single-pass
 * parser that pushes Lua values as it reads (strict RFC 8259), encoding writes JSON straight
 * into an lc_buf_t. With schemas.enable, the schema of each record is looked up by its exact
 * text in a per-lua_State cache (schemas repeat on every record), which holds the Lua schema
 * table and a C-side form the payload is decoded against in the same pass. Schemaless
 * objects whose key sequence repeats are made by a Lua constructor compiled for it (see
 * "object shapes"), cheaper than setting each key through the C API.
 * Every walk runs inside lua_pcall (runner functions kept in the registry), so a Lua error
 * (out of memory, a failing FFI helper) unwinds to us instead of through the caller; the
 * only C resources, the string scratch buffer and the caller's buffer, live outside the
 * pcall, and schema cache entries are userdata whose __gc frees their memory.
 *
 * Where Kafka Connect leaves a choice open, or where we differ, this is what we do:
 *  - Output spelling is Jackson's, as Kafka Connect configures it: \" \\ \b \t \n \f \r,
 *    other control characters as \u00XX (upper-case hex), '/' and non-ASCII unescaped.
 *  - Floats follow Java's Double.toString / Float.toString layout (plain between 1e-3 and
 *    1e7, else d.dddE[-]n; always a '.') with the shortest digits that read back to the
 *    same value, as JDK 19+ prints them: 1.0, 0.1, 1.0E300, 1.0E-5. codec.h says "%.17g";
 *    this is that precision, minus the noise digits, in Kafka's spelling.
 *  - Invalid UTF-8 in a Lua string written as a JSON string becomes U+FFFD, one per maximal
 *    invalid subsequence: what a Java String built from those bytes holds. Bytes fields are
 *    base64 and StringConverter/ByteArrayConverter pass bytes unchanged.
 *  - A nil record value is a tombstone even when a schema is given (Kafka Connect would
 *    write an envelope with "payload":null); connect.null with a schema writes that envelope.
 *  - Empty (non-NULL) bytes decode to nil for JsonConverter (Jackson reads them as missing).
 *  - uint64_t cdata above INT64_MAX are written as their exact decimal without a schema and
 *    rejected by int64 schemas; JSON integers outside int64 are syntax errors (as with
 *    jansson, which this parser replaced: error texts keep its "line L column C" form).
 *  - Empty tables: the array metatable makes [], anything else {} (codec.h). A table mixing
 *    array items with other keys, or with holes, is an error instead of silently losing data.
 *  - Schemaless tables with any non-string key are written as [[k,v],...] as Kafka Connect
 *    does for maps; lc_json_encode_sorted refuses them (sorting needs comparable keys).
 *  - Struct tables with keys that are not schema fields are an error (Kafka's Struct.put
 *    refuses unknown fields); schema "parameters" are written with sorted keys.
 *  - Decoding with a schema is strict where Kafka Connect silently coerces (a string in an
 *    int32 field is an error, not 0); out-of-range ints are errors, not wrapped.
 *  - Schema types are JsonConverter's JSON names ("float", "double"); "float32"/"float64"
 *    are accepted as aliases when encoding. NaN and infinities are errors (Jackson would
 *    write the string "NaN").
 *  - Integral floats are lc_float_t struct cdata (see helpers_lua), not boxed doubles:
 *    LuaJIT does arithmetic on a boxed double in int64 (1.0 + 0.5 == 1LL). */
#include "codec.h"

#include <float.h>
#include <lauxlib.h>
#include <locale.h>
#include <lualib.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LC_CODEC_MAX_DEPTH 1000
/* Rare paths (errors, escapes) stay out of the hot functions they would bloat. */
#if defined(__GNUC__)
#define LC_COLD __attribute__((noinline, cold))
#else
#define LC_COLD
#endif
#define LC_KEYS_MAX 512 /* object keys held while their objects are read (see jp_object) */
#define LC_ARRAY_MT "luaconnect.array"
/* LuaJIT's lua_type() for cdata; lua.h has no name for it. */
#define LC_TCDATA 10
#define TWO53 9007199254740992.0
#define TWO63 9223372036854775808.0

/* Registry keys: addresses are unique, so they cannot clash with other modules' keys. */
static char reg_array_mt, reg_box_i64, reg_box_f64, reg_classify, reg_encode, reg_decode;
static char reg_sch_mt, reg_sch_cache;

/* Bytes that end a plain run inside a JSON string, both ways: control characters, '"',
 * '\\' and everything from 0x80 (UTF-8, checked separately). */
static const unsigned char str_special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* ---------------------------------------------------------------- buffers */

static int buf_grow(lc_buf_t *b, size_t n)
{
    size_t need, cap = b->cap ? b->cap : 256;
    char *p;

    if (n > SIZE_MAX - b->len) return -1;
    need = b->len + n;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static inline int buf_reserve(lc_buf_t *b, size_t n)
{
    return b->cap - b->len >= n ? 0 : buf_grow(b, n);
}

/** Appends n bytes; returns 0 or -1 (OOM). */
int lc_buf_append(lc_buf_t *b, const void *p, size_t n)
{
    if (buf_reserve(b, n)) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/** Frees the buffer's memory and zeroes it; safe on a zeroed buffer. */
void lc_buf_free(lc_buf_t *b)
{
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---------------------------------------------------------------- walk context */

/* One step of the path to the value being converted, kept as pointers (no copies) because
 * the path is only formatted when something fails. */
typedef struct {
    const char *key; /* NULL: an index */
    size_t len;
    long long index;
} seg_t;

enum {
    K_TYPE,
    K_OPTIONAL,
    K_DEFAULT,
    K_FIELDS,
    K_FIELD,
    K_ITEMS,
    K_KEYS,
    K_VALUES,
    K_NAME,
    K_VERSION,
    K_DOC,
    K_PARAMETERS,
    K_COUNT
};
static const char *const key_names[K_COUNT] = {"type",  "optional", "default", "fields",
                                               "field", "items",    "keys",    "values",
                                               "name",  "version",  "doc",     "parameters"};

typedef enum { MODE_CONV, MODE_SORTED, MODE_PLAIN_DECODE } codec_mode_t;

typedef struct codec_ctx {
    lua_State *L;
    char *errstr;
    size_t errstr_size;
    int failed;
    const char *root; /* first word of error paths: "value", "payload", "schema" */
    int depth, nsegs;
    int mt; /* stack slot of the array metatable */
    codec_mode_t mode;
    const lc_converter_t *conv;
    /* encoding */
    lc_buf_t *out;
    int has_schema;
    int is_null;
    /* decoding */
    const void *data;
    size_t len;
    const unsigned char *beg, *end, *p; /* the JSON text and the parser's cursor */
    int syntax;                         /* the failure is a JSON syntax error */
    int started;                        /* the runner ran (its failures are ours) */
    int ordered;   /* struct payloads are read field by field, in schema order */
    int env;       /* stack slot of the schema cache entry's environment table */
    int unescaped; /* the last string read had escapes (it is in scratch) */
    struct codec_state *st;
    lc_buf_t scratch; /* unescaped strings; freed after the pcall */
    int nks;          /* keys[] in use by the objects being read */
    struct kspan {
        const char *k; /* in the input; NULL: an unescaped copy is on the stack below the value */
        size_t len;
        int vidx; /* stack slot of the value */
    } keys[LC_KEYS_MAX];
    seg_t segs[LC_CODEC_MAX_DEPTH + 8];
} codec_ctx_t;

static void ctx_init(codec_ctx_t *x, lua_State *L, char *errstr, size_t errstr_size)
{
    /* Field by field: the seg array is large and needs no zeroing. */
    x->L = L;
    x->errstr = errstr;
    x->errstr_size = errstr_size;
    x->failed = 0;
    x->root = "value";
    x->depth = x->nsegs = 0;
    x->mt = 0;
    x->mode = MODE_CONV;
    x->conv = NULL;
    x->out = NULL;
    x->has_schema = x->is_null = 0;
    x->data = NULL;
    x->len = 0;
    x->beg = x->end = x->p = NULL;
    x->syntax = x->started = x->env = x->unescaped = x->nks = x->ordered = 0;
    x->st = NULL;
    x->scratch.data = NULL;
    x->scratch.len = x->scratch.cap = 0;
}

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;

    if (!errstr || !errstr_size) return;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

/* Records "<path>: <message>" and returns -1. The first failure wins: outer frames only
 * propagate it. */
static int ctx_fail(codec_ctx_t *x, const char *fmt, ...)
{
    char path[512], msg[512];
    size_t n;
    int i, w;
    va_list ap;

    if (x->failed) return -1;
    x->failed = 1;
    w = snprintf(path, sizeof path, "%s", x->root);
    n = w < 0 ? 0 : (size_t)w;
    for (i = 0; i < x->nsegs && n < sizeof path; i++) {
        if (x->segs[i].key)
            w = snprintf(path + n, sizeof path - n, ".%.*s", (int)x->segs[i].len, x->segs[i].key);
        else
            w = snprintf(path + n, sizeof path - n, "[%lld]", x->segs[i].index);
        if (w < 0) break;
        n += (size_t)w;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_err(x->errstr, x->errstr_size, "%s: %s", path, msg);
    return -1;
}

static inline void seg_key(codec_ctx_t *x, const char *k, size_t len)
{
    seg_t *s = &x->segs[x->nsegs++];
    s->key = k;
    s->len = len;
}

static inline void seg_index(codec_ctx_t *x, long long i)
{
    seg_t *s = &x->segs[x->nsegs++];
    s->key = NULL;
    s->index = i;
}

/* Entering a container: bounds recursion (cycles in Lua tables end here too) and makes room
 * on the Lua stack for the container's slots. */
static int ctx_enter(codec_ctx_t *x)
{
    if (x->depth >= LC_CODEC_MAX_DEPTH) {
        x->nsegs = 0; /* a thousand-step path helps nobody */
        return ctx_fail(x, "nesting too deep (more than %d levels)", LC_CODEC_MAX_DEPTH);
    }
    if (!lua_checkstack(x->L, 8)) return ctx_fail(x, "Lua stack exhausted");
    x->depth++;
    return 0;
}

static inline int absidx(lua_State *L, int idx)
{
    return idx > 0 || idx <= LUA_REGISTRYINDEX ? idx : lua_gettop(L) + idx + 1;
}

static inline int is_null_ud(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
}

static inline int is_nil_or_null(lua_State *L, int idx)
{
    return lua_isnil(L, idx) || is_null_ud(L, idx);
}

/* lua_typename, with names for cdata and connect.null. */
static const char *type_name(lua_State *L, int idx)
{
    int t = lua_type(L, idx);

    if (t == LC_TCDATA) return "cdata";
    if (t == LUA_TLIGHTUSERDATA && !lua_touserdata(L, idx)) return "connect.null";
    return lua_typename(L, t);
}

/* Upvalues of both runners (C closures made by lc_codec_init): what they use on every call,
 * reached without a registry lookup. */
enum {
    UPV_MT = 1, /* the array metatable */
    UPV_STATE,  /* codec_state_t userdata */
    UPV_SHAPES, /* object shapes' constructors and key texts */
    UPV_FROZEN, /* weak-keyed: decoder-built schema table -> true, or the JSON written for it */
    UPV_KEYS,   /* key_names[0], key_names[1], ... as Lua strings */
    UPV_COUNT = UPV_KEYS + K_COUNT - 1
};

/* t[key_names[k]] without metamethods; t must be an absolute index. */
static inline void rawget_k(codec_ctx_t *x, int t, int k)
{
    lua_pushvalue(x->L, lua_upvalueindex(UPV_KEYS + k));
    lua_rawget(x->L, t);
}

/* t[key_names[k]] = top of stack (popped), raw; t absolute. */
static inline void rawset_k(codec_ctx_t *x, int t, int k)
{
    lua_pushvalue(x->L, lua_upvalueindex(UPV_KEYS + k));
    lua_insert(x->L, -2);
    lua_rawset(x->L, t);
}

/* ---------------------------------------------------------------- schema types */

typedef enum {
    ST_BOOLEAN,
    ST_INT8,
    ST_INT16,
    ST_INT32,
    ST_INT64,
    ST_FLOAT32,
    ST_FLOAT64,
    ST_BYTES,
    ST_STRING,
    ST_ARRAY,
    ST_MAP,
    ST_STRUCT,
    ST_UNKNOWN
} stype_t;

static const char *const stype_json[] = {"boolean", "int8",   "int16",  "int32",  "int64",
                                         "float",   "double", "bytes",  "string", "array",
                                         "map",     "struct", "unknown"};

/* The type named s (n bytes); aliases: accept float32/float64 too. Runs once per value
 * encoded with a schema, hence the length switch instead of a strcmp per name. */
static stype_t stype_parse(const char *s, size_t n, int aliases)
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

/* ---------------------------------------------------------------- FFI helpers */

/* The helpers live in Lua because only the FFI can make and inspect int64 and double
 * cdata; C calls them for rare values only (big integers, integral floats, cdata). */
static const char helpers_lua[] =
    "local ffi = ...\n"
    "local istype, new, cast, tonumber, pcall, type = ffi.istype, ffi.new, ffi.cast, "
    "tonumber, pcall, type\n"
    "local i64, u64 = ffi.typeof('int64_t'), ffi.typeof('uint64_t')\n"
    "local dbl, flt = ffi.typeof('double'), ffi.typeof('float')\n"
    "local two32 = new(u64, 4294967296)\n"
    "local h = {}\n"
    "function h.box_i64(hi, lo, unsigned)\n"
    "  local u = new(u64, hi) * two32 + lo\n"
    "  if unsigned then return u end\n"
    "  return cast(i64, u)\n"
    "end\n"
    /* An integral float (1.0) is a struct cdata whose metamethods do float arithmetic and
     * compare equal to Lua numbers; a plain boxed double would do int64 math in LuaJIT. */
    "ffi.cdef('typedef struct { double v; } lc_float_t;')\n"
    "local fl\n"
    "local function num(x) if istype(fl, x) then return x.v end return x end\n"
    "fl = ffi.metatype('lc_float_t', {\n"
    "  __add = function(a, b) return num(a) + num(b) end,\n"
    "  __sub = function(a, b) return num(a) - num(b) end,\n"
    "  __mul = function(a, b) return num(a) * num(b) end,\n"
    "  __div = function(a, b) return num(a) / num(b) end,\n"
    "  __mod = function(a, b) return num(a) % num(b) end,\n"
    "  __pow = function(a, b) return num(a) ^ num(b) end,\n"
    "  __unm = function(a) return -a.v end,\n"
    "  __eq = function(a, b) return num(a) == num(b) end,\n"
    "  __lt = function(a, b) return num(a) < num(b) end,\n"
    "  __le = function(a, b) return num(a) <= num(b) end,\n"
    "  __concat = function(a, b) return tostring(num(a)) .. tostring(num(b)) end,\n"
    "  __tostring = function(a) return string.format('%.1f', a.v) end,\n"
    "})\n"
    "function h.box_f64(x) return fl(x) end\n"
    "package.loaded['luaconnect._float'] = { new = fl, is = function(x) return istype(fl, x) end, "
    "value = num }\n"
    "function h.classify(x)\n"
    "  if istype(i64, x) then\n"
    "    local u = cast(u64, x)\n"
    "    return 'i64', tonumber(u / two32), tonumber(u % two32)\n"
    "  elseif istype(u64, x) then\n"
    "    return 'u64', tonumber(x / two32), tonumber(x % two32)\n"
    "  elseif istype(fl, x) then\n"
    "    return 'f64', x.v\n"
    "  elseif istype(dbl, x) or istype(flt, x) then\n"
    "    return 'f64', tonumber(x)\n"
    "  end\n"
    "  local ok, n = pcall(tonumber, x)\n"
    "  if ok and type(n) == 'number' then return 'num', n end\n"
    "  return nil\n"
    "end\n"
    "return h\n";

static inline void push_reg(lua_State *L, void *key)
{
    lua_pushlightuserdata(L, key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

/* registry[key] = top of stack (popped). */
static void reg_set(lua_State *L, void *key)
{
    lua_pushlightuserdata(L, key);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

static void push_i64(lua_State *L, uint64_t u, int is_unsigned)
{
    if (is_unsigned ? u <= (uint64_t)TWO53
                    : ((int64_t)u >= -(int64_t)TWO53 && (int64_t)u <= (int64_t)TWO53)) {
        lua_pushnumber(L, is_unsigned ? (double)u : (double)(int64_t)u);
        return;
    }
    push_reg(L, &reg_box_i64);
    lua_pushnumber(L, (double)(u >> 32));
    lua_pushnumber(L, (double)(u & 0xffffffffu));
    lua_pushboolean(L, is_unsigned);
    lua_call(L, 3, 1);
}

static void push_boxed_double(lua_State *L, double d)
{
    push_reg(L, &reg_box_f64);
    lua_pushnumber(L, d);
    lua_call(L, 1, 1);
}

typedef enum { CD_NONE, CD_I64, CD_U64, CD_F64, CD_NUM } cdkind_t;

/* Classifies the cdata at idx; fills *u for CD_I64/CD_U64 (two's complement bits) and *d
 * for CD_F64/CD_NUM. */
static cdkind_t cdata_classify(lua_State *L, int idx, uint64_t *u, double *d)
{
    cdkind_t k = CD_NONE;
    const char *s;

    push_reg(L, &reg_classify);
    lua_pushvalue(L, idx);
    lua_call(L, 1, 3);
    s = lua_tostring(L, -3);
    if (s && (s[0] == 'i' || s[0] == 'u')) {
        k = s[0] == 'i' ? CD_I64 : CD_U64;
        *u = ((uint64_t)lua_tonumber(L, -2) << 32) | (uint64_t)lua_tonumber(L, -1);
    } else if (s) {
        k = s[0] == 'f' ? CD_F64 : CD_NUM;
        *d = lua_tonumber(L, -2);
    }
    lua_pop(L, 3);
    return k;
}

/* ---------------------------------------------------------------- JSON writing */

/* Skips bytes that need no attention inside a string: printable ASCII but '"' and '\\'.
 * Returns the first special byte in [p, e), or e. Eight bytes at a time: in these tests a
 * special byte may also flag bytes above it (borrows propagate upwards), never below, so
 * the lowest flag is the first special byte. */
static inline const unsigned char *str_scan(const unsigned char *p, const unsigned char *e)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;

    while (e - p >= 8) {
        uint64_t v, q, b, m;
        memcpy(&v, p, 8);
        q = v ^ (ones * '"');
        b = v ^ (ones * '\\');
        m = (((v - ones * 0x20) & ~v) | v | ((q - ones) & ~q) | ((b - ones) & ~b)) & high;
        if (m) return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < e && !str_special[*p])
        p++;
    return p;
}

static int ctx_oom(codec_ctx_t *x)
{
    return ctx_fail(x, "out of memory");
}

/* memcpy, without a libc call for the short runs JSON is made of: two overlapping fixed-size
 * copies cover any length up to twice their size. */
static inline void copy(char *dst, const void *src, size_t n)
{
    const char *s = src;
    uint64_t a, b;
    uint32_t c, d;

    if (n >= 8) {
        if (n > 16) {
            memcpy(dst, s, n);
            return;
        }
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4) {
        memcpy(&c, s, 4);
        memcpy(&d, s + n - 4, 4);
        memcpy(dst, &c, 4);
        memcpy(dst + n - 4, &d, 4);
    } else if (n) {
        dst[0] = s[0];
        dst[n / 2] = s[n / 2];
        dst[n - 1] = s[n - 1];
    }
}

static inline int put(codec_ctx_t *x, const void *p, size_t n)
{
    lc_buf_t *b = x->out;

    if (b->cap - b->len < n && buf_grow(b, n)) return ctx_oom(x);
    copy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static inline int putc_(codec_ctx_t *x, char c)
{
    lc_buf_t *b = x->out;

    if (b->cap == b->len && buf_grow(b, 1)) return ctx_oom(x);
    b->data[b->len++] = c;
    return 0;
}

#define PUTLIT(x, s) put((x), (s), sizeof(s) - 1)

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

/* Writes u in decimal ending at end; returns its length. Two digits per division. */
static size_t fmt_u64(char *end, uint64_t u)
{
    char *p = end;

    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        p -= 2;
        memcpy(p, digit_pairs + 2 * r, 2);
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * u, 2);
    } else {
        *--p = (char)('0' + u);
    }
    return (size_t)(end - p);
}

static int put_u64(codec_ctx_t *x, uint64_t u)
{
    char tmp[24];
    size_t n = fmt_u64(tmp + sizeof tmp, u);

    return put(x, tmp + sizeof tmp - n, n);
}

static int put_i64(codec_ctx_t *x, int64_t v)
{
    char tmp[24];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = fmt_u64(tmp + sizeof tmp, u);

    if (v < 0) tmp[sizeof tmp - ++n] = '-';
    return put(x, tmp + sizeof tmp - n, n);
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* fmt_java_float's shortcut for doubles in Java's plain range, 1e-3 <= |d| < 1e7: finds the
 * fewest fraction digits p for which m = round(|d| * 10^p) reads back as |d| (m / 10^p is
 * one correctly rounded division of two exact numbers, what strtod computes). While
 * |d| * 10^p < 2^50, |d|'s rounding interval spans less than 1/4 there, so m is the only
 * candidate with p digits and the first p that works gives the shortest digits, Java's
 * choice. Returns 0 when it cannot tell; fmt_java_float searches then. */
static size_t fmt_double_plain(char *dst, double d)
{
    char digits[24], *o = dst;
    const char *s;
    double a = fabs(d), t;
    uint64_t m = 0;
    size_t n, p, i;

    if (!(a >= 1e-3 && a < 1e7)) return 0;
    for (p = 0;; p++) {
        if (p > 22) return 0;
        t = a * pow10_exact[p];
        if (t >= 1125899906842624.0) return 0; /* 2^50 */
        m = (uint64_t)(t + 0.5);
        if ((double)m / pow10_exact[p] == a) break;
    }
    n = fmt_u64(digits + sizeof digits, m);
    s = digits + sizeof digits - n;
    if (d < 0) *o++ = '-';
    if (p == 0) {
        memcpy(o, s, n);
        memcpy(o + n, ".0", 2);
        return (size_t)(o + n + 2 - dst);
    }
    if (n > p) {
        memcpy(o, s, n - p);
        o += n - p;
        *o++ = '.';
        memcpy(o, s + n - p, p);
        return (size_t)(o + p - dst);
    }
    *o++ = '0';
    *o++ = '.';
    for (i = n; i < p; i++)
        *o++ = '0';
    memcpy(o, s, n);
    return (size_t)(o + n - dst);
}

/* Formats a finite d as Java's Double.toString (is_float: Float.toString of (float)d) with
 * the shortest digits that parse back to the same value. dst needs 32 bytes. */
static size_t fmt_java_float(char *dst, double d, int is_float)
{
    char tmp[48], tmp2[48], digits[24];
    const char *s;
    char *p = dst;
    int prec, maxprec = is_float ? 9 : 17, ndig = 0, e, i;

    if (signbit(d)) {
        *p++ = '-';
        d = -d;
    }
    if (d == 0) {
        memcpy(p, "0.0", 3);
        return (size_t)(p + 3 - dst);
    }
    /* A normal double rounded to DBL_DIG (FLT_DIG) digits is its shortest form padded with
     * zeros, so start there; subnormals have fewer bits and need the search from 1. */
    prec = is_float ? (d < FLT_MIN ? 1 : 6) : (d < DBL_MIN ? 1 : 15);
    for (;; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (prec >= maxprec) break;
        if (is_float ? strtof(tmp, NULL) == (float)d : strtod(tmp, NULL) == d) break;
    }
    /* Java picks the closest of the one- and two-digit candidates when one digit would do:
     * Double.MIN_VALUE is 4.9E-324, not 5.0E-324. Only subnormals can differ. */
    if (prec == 1) {
        snprintf(tmp2, sizeof tmp2, "%.1e", d);
        if (is_float ? strtof(tmp2, NULL) == (float)d : strtod(tmp2, NULL) == d)
            memcpy(tmp, tmp2, sizeof tmp);
    }
    for (s = tmp; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') digits[ndig++] = *s;
    e = atoi(s + 1);
    while (ndig > 1 && digits[ndig - 1] == '0')
        ndig--;
    if (e >= -3 && e < 7) {
        if (e >= 0) {
            for (i = 0; i <= e; i++)
                *p++ = i < ndig ? digits[i] : '0';
            *p++ = '.';
            if (ndig > e + 1)
                for (i = e + 1; i < ndig; i++)
                    *p++ = digits[i];
            else
                *p++ = '0';
        } else {
            *p++ = '0';
            *p++ = '.';
            for (i = 0; i < -e - 1; i++)
                *p++ = '0';
            for (i = 0; i < ndig; i++)
                *p++ = digits[i];
        }
    } else {
        *p++ = digits[0];
        *p++ = '.';
        if (ndig > 1)
            for (i = 1; i < ndig; i++)
                *p++ = digits[i];
        else
            *p++ = '0';
        p += sprintf(p, "E%d", e);
    }
    return (size_t)(p - dst);
}

static int check_finite(codec_ctx_t *x, double d)
{
    if (isnan(d)) return ctx_fail(x, "cannot encode NaN");
    if (isinf(d)) return ctx_fail(x, "cannot encode %s", d > 0 ? "inf" : "-inf");
    return 0;
}

static int put_float(codec_ctx_t *x, double d, int is_float)
{
    char tmp[40];
    size_t n;

    if (check_finite(x, d)) return -1;
    if (is_float || !(n = fmt_double_plain(tmp, d))) n = fmt_java_float(tmp, d, is_float);
    return put(x, tmp, n);
}

/* A Lua number without a schema: integral values within 2^53 are integers (a double holds
 * them exactly), everything else a float. */
static int put_number(codec_ctx_t *x, double d)
{
    if (d >= -TWO53 && d <= TWO53 && d == (double)(int64_t)d) return put_i64(x, (int64_t)d);
    return put_float(x, d, 0);
}

/* Length of the valid UTF-8 sequence at s (2..4), or 0 with *skip set to the length of the
 * maximal invalid subpart (Unicode's "U+FFFD substitution of maximal subparts"). */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *skip)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need, k;

    if (c < 0xC2 || c > 0xF4) {
        *skip = 1;
        return 0;
    }
    need = c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F; /* surrogates are not characters */
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    for (k = 1; k <= need; k++) {
        if (k >= n || s[k] < lo || s[k] > hi) {
            *skip = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

/* Writes a JSON string: one reservation for the text as is, more only when an escape or a
 * U+FFFD grows it; runs of plain bytes are found with str_scan and copied at once. */
static int put_string(codec_ctx_t *x, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str, *e = s + n, *run;
    lc_buf_t *b = x->out;
    size_t k, skip = 1;
    unsigned char c;
    char *o;

    if (n > SIZE_MAX / 2 || buf_reserve(b, n + 8)) return ctx_oom(x);
    o = b->data + b->len;
    *o++ = '"';
    for (;;) {
        /* Invariant: room for the rest of the input as is, plus the closing quote. */
        run = s;
        s = str_scan(s, e);
        copy(o, run, (size_t)(s - run));
        o += s - run;
        if (s == e) break;
        c = *s;
        if (c >= 0x80 && (k = utf8_seq(s, (size_t)(e - s), &skip)) != 0) {
            memcpy(o, s, k);
            o += k;
            s += k;
            continue;
        }
        b->len = (size_t)(o - b->data);
        if (buf_reserve(b, (size_t)(e - s) + 8)) return ctx_oom(x);
        o = b->data + b->len;
        if (c >= 0x80) {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            s += skip;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\t':
            *o++ = 't';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\r':
            *o++ = 'r';
            break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
        s++;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return 0;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard alphabet with padding: Jackson's default (MIME without line feeds). */
static int put_base64(codec_ctx_t *x, const unsigned char *s, size_t n)
{
    lc_buf_t *b = x->out;
    char *p;
    size_t i;

    if (n > (SIZE_MAX - 8) / 4 * 3 || buf_reserve(b, (n + 2) / 3 * 4 + 2)) return ctx_oom(x);
    p = b->data + b->len;
    *p++ = '"';
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *p++ = b64chars[v >> 18];
        *p++ = b64chars[(v >> 12) & 63];
        *p++ = b64chars[(v >> 6) & 63];
        *p++ = b64chars[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        *p++ = b64chars[v >> 18];
        *p++ = b64chars[(v >> 12) & 63];
        *p++ = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        *p++ = '=';
    }
    *p++ = '"';
    b->len = (size_t)(p - b->data);
    return 0;
}

/* Decodes base64 (padding optional) into out, which holds n / 4 * 3 + 3 bytes. Returns
 * the decoded length or -1. */
static inline int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static long b64_decode(const char *s, size_t n, unsigned char *out)
{
    size_t i, m = n, o = 0;
    uint32_t acc = 0;
    int bits = 0;
    if (m && s[m - 1] == '=') m--;
    if (m && s[m - 1] == '=') m--;
    if (m != n && n % 4) return -1;
    if (m % 4 == 1) return -1;
    for (i = 0; i < m; i++) {
        int v = b64_val((unsigned char)s[i]);
        if (v < 0) return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)o;
}

/* ---------------------------------------------------------------- encoding, no schema */

static int enc_plain(codec_ctx_t *x, int idx);

/* Counts the keys of the table at idx, for telling arrays from mixed tables. */
static size_t count_keys(lua_State *L, int idx)
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

static int enc_schema(codec_ctx_t *x, int vidx, int sidx);

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
static int enc_array(codec_ctx_t *x, int idx, int sidx)
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
static int enc_pairs(codec_ctx_t *x, int idx, int ksidx, int vsidx)
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
static int enc_object(codec_ctx_t *x, int idx, int vsidx)
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

typedef struct {
    const char *s;
    size_t n;
} kent_t;

static int kent_cmp(const void *a, const void *b)
{
    const kent_t *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);

    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Collects the string keys of the table at idx into a sorted array held by a userdata
 * pushed on the stack (so the GC owns it even if a Lua error unwinds us). The strings
 * stay valid because the table keeps them alive. Returns NULL after ctx_fail. */
static kent_t *sorted_keys(codec_ctx_t *x, int idx, size_t *count)
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

static int enc_object_sorted(codec_ctx_t *x, int idx)
{
    lua_State *L = x->L;
    size_t n, i;
    int top;
    kent_t *e = sorted_keys(x, idx, &n);

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
static int enc_plain(codec_ctx_t *x, int idx)
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

/* ---------------------------------------------------------------- encoding with a schema */

/* Reads schema.type of the schema table at sidx (absolute). */
static int schema_type(codec_ctx_t *x, int sidx, stype_t *st)
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
    *st = stype_parse(s, n, 1);
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

static const int64_t int_min[] = {0, -128, -32768, -2147483647 - 1, INT64_MIN};
static const int64_t int_max[] = {0, 127, 32767, 2147483647, INT64_MAX};

/* Reads an integer for an int8..int64 schema from the value at vidx. */
static int get_integer(codec_ctx_t *x, int vidx, stype_t st, int64_t *out)
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

static int get_double(codec_ctx_t *x, int vidx, stype_t st, double *out)
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
    if (check_finite(x, d)) return -1;
    if (st == ST_FLOAT32 && !isfinite((float)d))
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
    if (putc_(x, '}')) return -1;
    /* Fields were looked up by name, so a key that is not a field would be lost silently. */
    if (count_keys(L, vidx) > matched) {
        lua_pushnil(L);
        while (lua_next(L, vidx)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                return ctx_fail(x, "struct has a %s key", lua_typename(L, lua_type(L, -2)));
            if (!is_field_name(x, fidx, lua_gettop(L) - 1))
                return ctx_fail(x, "unknown field '%s' (not in the struct schema)",
                                lua_tostring(L, -2));
            lua_pop(L, 1);
        }
    }
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
static int enc_schema(codec_ctx_t *x, int vidx, int sidx)
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
static int write_schema(codec_ctx_t *x, int sidx, int field_idx)
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

/* ---------------------------------------------------------------- encode entry */

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
        return put_number(x, lua_tonumber(L, vidx));
    case LUA_TBOOLEAN:
        return lua_toboolean(L, vidx) ? PUTLIT(x, "true") : PUTLIT(x, "false");
    case LC_TCDATA:
        switch (cdata_classify(L, vidx, &u, &d)) {
        case CD_I64:
            return put_i64(x, (int64_t)u);
        case CD_U64:
            return put_u64(x, u);
        case CD_F64:
            return put_float(x, d, 0);
        case CD_NUM:
            return put_number(x, d);
        default:
            break;
        }
        break;
    }
    return ctx_fail(x, "StringConverter cannot encode a %s", type_name(L, vidx));
}

/* write_schema, but a schema table the decoder built (immutable, see codec.h) is written once
 * and its text kept in the weak-keyed UPV_FROZEN table: every record carries the same. */
static int put_schema(codec_ctx_t *x, int sidx)
{
    lua_State *L = x->L;
    size_t start = x->out->len, n;
    const char *s;
    int t;

    lua_pushvalue(L, sidx);
    lua_rawget(L, lua_upvalueindex(UPV_FROZEN));
    t = lua_type(L, -1);
    if (t == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &n);
        lua_pop(L, 1);
        return put(x, s, n);
    }
    lua_pop(L, 1);
    if (write_schema(x, sidx, 0)) return -1;
    if (t == LUA_TBOOLEAN) {
        lua_pushvalue(L, sidx);
        lua_pushlstring(L, x->out->data + start, x->out->len - start);
        lua_rawset(L, lua_upvalueindex(UPV_FROZEN));
    }
    return 0;
}

/* Runs inside lua_pcall: (ctx, value, schema-or-nil). */
static int enc_runner(lua_State *L)
{
    codec_ctx_t *x = lua_touserdata(L, 1);
    const lc_converter_t *c = x->conv;
    size_t n;
    const char *s;

    x->mt = lua_upvalueindex(UPV_MT);
    if (x->mode == MODE_SORTED) {
        enc_plain(x, 2);
        return 0;
    }
    if (is_null_ud(L, 2) && c->kind != LC_CONV_JSON) {
        x->is_null = 1;
        return 0;
    }
    switch (c->kind) {
    case LC_CONV_STRING:
        enc_string_conv(x, 2);
        break;
    case LC_CONV_BYTES:
        if (lua_type(L, 2) != LUA_TSTRING) {
            ctx_fail(x, "ByteArrayConverter needs a string (bytes), got %s", type_name(L, 2));
            break;
        }
        s = lua_tolstring(L, 2, &n);
        put(x, s, n);
        break;
    case LC_CONV_JSON:
        if (c->schemas_enable) {
            if (PUTLIT(x, "{\"schema\":")) break;
            x->root = "schema";
            if (x->has_schema ? put_schema(x, 3) : PUTLIT(x, "null")) break;
            x->root = "value";
            x->nsegs = 0;
            if (PUTLIT(x, ",\"payload\":")) break;
        }
        if (x->has_schema ? enc_schema(x, 2, 3) : enc_plain(x, 2)) break;
        if (c->schemas_enable) putc_(x, '}');
        break;
    }
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
    if (x.is_null) {
        out->len = 0;
        *is_null = 1;
    }
    return 0;
}

/** Encodes the value at idx as plain JSON with sorted object keys, appending to out. */
int lc_json_encode_sorted(lua_State *L, int idx, lc_buf_t *out, char *errstr, size_t errstr_size)
{
    codec_ctx_t x;
    size_t start = out->len;

    idx = absidx(L, idx);
    if (!lua_checkstack(L, 8)) {
        set_err(errstr, errstr_size, "Lua stack exhausted");
        return -1;
    }
    ctx_init(&x, L, errstr, errstr_size);
    x.mode = MODE_SORTED;
    x.out = out;
    if (push_runner(&x, &reg_encode)) return -1;
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    if (run_protected(&x, 2, 0)) {
        out->len = start;
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- JSON reading */

/* The parser reads x->beg..x->end at the cursor x->p and pushes Lua values as it goes, with
 * no tree in between. Strings without escapes are pushed straight from the input, others
 * are unescaped into x->scratch first. A syntax error names its line and column (lines
 * count '\n', columns count characters, as jansson did); any other failure is checked
 * against the whole text afterwards (dec_recheck), so a syntax error anywhere still wins,
 * as it did when a full parse came first. The reading functions below call no Lua API, so
 * they also run outside lua_pcall. */

LC_COLD static int jp_fail(codec_ctx_t *x, const unsigned char *at, const char *fmt, ...)
{
    const unsigned char *q;
    char msg[256];
    int line = 1, col = 0;
    va_list ap;

    if (x->failed) return -1;
    x->failed = x->syntax = 1;
    for (q = x->beg; q < at; q++) {
        if (*q == '\n') {
            line++;
            col = 0;
        } else if ((*q & 0xC0) != 0x80) {
            col++;
        }
    }
    if (at < x->end) col++; /* the offending character itself; at the end, the last one */
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_err(x->errstr, x->errstr_size, "invalid JSON at line %d column %d: %s", line, col, msg);
    return -1;
}

/* "unexpected <what is at at>[, expected <expected>]". */
LC_COLD static int jp_unexpected(codec_ctx_t *x, const unsigned char *at, const char *expected)
{
    char what[16];

    if (at >= x->end) return jp_fail(x, at, "unexpected end of input");
    if (*at >= 0x20 && *at < 0x7F)
        snprintf(what, sizeof what, "'%c'", *at);
    else
        snprintf(what, sizeof what, "byte 0x%02X", *at);
    return jp_fail(x, at, "unexpected %s%s%s", what, expected ? ", expected " : "",
                   expected ? expected : "");
}

static inline const unsigned char *jp_ws(const unsigned char *p, const unsigned char *e)
{
    while (p < e && *p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

static inline int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int jp_lit(codec_ctx_t *x, const char *lit, size_t n)
{
    const unsigned char *p = x->p;
    size_t i;

    if ((size_t)(x->end - p) >= n && memcmp(p, lit, n) == 0) {
        x->p = p + n;
        return 0;
    }
    for (i = 0; i < n && p + i < x->end && p[i] == (unsigned char)lit[i]; i++)
        ;
    return jp_unexpected(x, p + i, lit);
}

/* Reads the four hex digits of the \u escape at p (the backslash); -1 when they are not. */
static int hex4(const unsigned char *p, const unsigned char *e, uint32_t *cp)
{
    uint32_t v = 0;
    int i, c;

    if (e - p < 6 || p[0] != '\\' || p[1] != 'u') return -1;
    for (i = 2; i < 6; i++) {
        c = p[i];
        if (is_digit((unsigned char)c))
            c -= '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            c = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | (uint32_t)c;
    }
    *cp = v;
    return 0;
}

static size_t utf8_put(unsigned char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The rest of a string from its first escape at p: unescaped into x->scratch when out is
 * given, else only checked. */
LC_COLD static int jp_string_esc(codec_ctx_t *x, const unsigned char *start, const unsigned char *p,
                                 const char **out, size_t *outn)
{
    lc_buf_t *b = &x->scratch;
    const unsigned char *e = x->end, *run = start;
    unsigned char u8[4], c;
    uint32_t cp, lo;
    size_t k, skip;

    b->len = 0;
    for (;;) {
        if (out && lc_buf_append(b, run, (size_t)(p - run))) return ctx_oom(x);
        if (p >= e) return jp_fail(x, p, "unexpected end of input in a string");
        c = *p;
        if (c == '"') break;
        if (c >= 0x80) {
            if (!(k = utf8_seq(p, (size_t)(e - p), &skip)))
                return jp_fail(x, p, "invalid UTF-8 in string");
            run = p;
            p += k;
            if (out && lc_buf_append(b, run, k)) return ctx_oom(x);
        } else if (c != '\\') {
            return jp_fail(x, p, "control character 0x%02X in string (must be escaped)", c);
        } else {
            if (p + 1 >= e) return jp_fail(x, p + 1, "unexpected end of input in a string");
            k = 1;
            switch (p[1]) {
            case '"':
            case '\\':
            case '/':
                u8[0] = p[1];
                break;
            case 'b':
                u8[0] = '\b';
                break;
            case 'f':
                u8[0] = '\f';
                break;
            case 'n':
                u8[0] = '\n';
                break;
            case 'r':
                u8[0] = '\r';
                break;
            case 't':
                u8[0] = '\t';
                break;
            case 'u':
                if (hex4(p, e, &cp))
                    return jp_fail(x, p, "invalid \\u escape (4 hex digits needed)");
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return jp_fail(x, p, "invalid \\u%04X: a low surrogate without a high one",
                                   (unsigned)cp);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (hex4(p + 6, e, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return jp_fail(x, p,
                                       "invalid \\u%04X: a high surrogate without a low one "
                                       "after it",
                                       (unsigned)cp);
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
                k = utf8_put(u8, cp);
                p += 4;
                break;
            default:
                return jp_unexpected(x, p + 1, "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)");
            }
            p += 2;
            if (out && lc_buf_append(b, u8, k)) return ctx_oom(x);
        }
        run = p;
        p = str_scan(p, e);
    }
    if (out) {
        *out = b->data ? b->data : "";
        *outn = b->len;
    }
    x->p = p + 1;
    x->unescaped = 1;
    return 0;
}

/* Reads the string at x->p (its opening quote). *out points into the input or into
 * x->scratch (valid until the next string); out NULL: only check it. */
static inline int jp_string(codec_ctx_t *x, const char **out, size_t *outn)
{
    const unsigned char *p = x->p + 1, *e = x->end, *start = p;
    size_t k, skip;

    for (;;) {
        p = str_scan(p, e);
        if (p >= e) return jp_fail(x, p, "unexpected end of input in a string");
        if (*p == '"') break;
        if (*p < 0x80) {
            if (*p == '\\') return jp_string_esc(x, start, p, out, outn);
            return jp_fail(x, p, "control character 0x%02X in string (must be escaped)", *p);
        }
        if (!(k = utf8_seq(p, (size_t)(e - p), &skip)))
            return jp_fail(x, p, "invalid UTF-8 in string");
        p += k;
    }
    if (out) {
        *out = (const char *)start;
        *outn = (size_t)(p - start);
    }
    x->p = p + 1;
    x->unescaped = 0;
    return 0;
}

typedef struct {
    int is_int;
    int64_t i;
    double d;
} jnum_t;

/* strtod on a NUL-terminated copy of the number (the input is not terminated), with the
 * locale's decimal point as jansson does. */
LC_COLD static int jp_strtod(codec_ctx_t *x, const unsigned char *s, size_t n, double *d)
{
    char small[64], *buf = small, *dot;
    char dp = localeconv()->decimal_point[0];

    if (n >= sizeof small && !(buf = malloc(n + 1))) return ctx_oom(x);
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (dp && dp != '.' && (dot = memchr(buf, '.', n))) *dot = dp;
    *d = strtod(buf, NULL);
    if (buf != small) free(buf);
    if (isinf(*d))
        return jp_fail(x, s, "number out of range: %.*s", n > 40 ? 40 : (int)n, (const char *)s);
    return 0;
}

/* Reads the number at x->p. Integers must fit int64 (as with jansson); other numbers are
 * doubles, exact: m * 10^e in one rounding when m < 2^53 and |e| <= 22 (both factors
 * exact), else strtod. */
static int jp_number(codec_ctx_t *x, jnum_t *v)
{
    const unsigned char *p = x->p, *e = x->end, *start = p, *ip, *ie, *fp = NULL, *fe = NULL, *q;
    uint64_t m = 0;
    int neg = 0, ex = 0, exneg = 0, nd = 0, e10;
    double d;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    ip = p;
    if (p >= e || !is_digit(*p)) return jp_unexpected(x, p, "a digit");
    if (*p == '0') {
        p++;
        if (p < e && is_digit(*p)) return jp_fail(x, p, "invalid number (leading zero)");
    } else {
        while (p < e && is_digit(*p))
            p++;
    }
    ie = p;
    if (p < e && *p == '.') {
        fp = ++p;
        if (p >= e || !is_digit(*p)) return jp_unexpected(x, p, "a digit after '.'");
        while (p < e && is_digit(*p))
            p++;
        fe = p;
    }
    if (p < e && (*p | 0x20) == 'e') {
        p++;
        if (p < e && (*p == '+' || *p == '-')) exneg = *p++ == '-';
        if (p >= e || !is_digit(*p)) return jp_unexpected(x, p, "a digit in the exponent");
        for (; p < e && is_digit(*p); p++)
            if (ex < 100000) ex = ex * 10 + (*p - '0');
    } else if (!fp) {
        x->p = p;
        if (ie - ip > 19) goto int_range;
        for (q = ip; q < ie; q++)
            m = m * 10 + (uint64_t)(*q - '0');
        if (m > (uint64_t)INT64_MAX + (uint64_t)neg) goto int_range;
        v->is_int = 1;
        v->i = !neg ? (int64_t)m : m > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)m;
        return 0;
    }
    x->p = p;
    v->is_int = 0;
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    for (q = ip; q < (fp ? fe : ie) && nd <= 19; q++) {
        if (q == ie) q = fp;
        if (m || *q != '0') {
            m = m * 10 + (uint64_t)(*q - '0');
            nd++;
        }
    }
    e10 = (exneg ? -ex : ex) - (fp ? (int)(fe - fp) : 0);
    if (nd <= 19 && (m == 0 || (m <= (1ull << 53) && e10 >= -22 && e10 <= 22))) {
        d = (double)m;
        if (m) d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
        v->d = neg ? -d : d;
        return 0;
    }
#else
    (void)nd;
    (void)e10;
    (void)d;
#endif
    return jp_strtod(x, start, (size_t)(p - start), &v->d);
int_range:
    return jp_fail(x, start, "integer out of range (64 bits): %.*s",
                   (int)(p - start) > 40 ? 40 : (int)(p - start), (const char *)start);
}

static inline int is_value_start(unsigned char c)
{
    return c == '{' || c == '[' || c == '"' || c == '-' || is_digit(c) || c == 't' || c == 'f' ||
           c == 'n';
}

static int jp_skip(codec_ctx_t *x, int depth);

/* Skips the array or object at x->p; depth counts the levels around it. */
static int jp_skip_container(codec_ctx_t *x, int depth)
{
    const unsigned char *e = x->end;
    int obj = *x->p == '{';
    unsigned char close = obj ? '}' : ']';

    x->p = jp_ws(x->p + 1, e);
    if (x->p < e && *x->p == close) {
        x->p++;
        return 0;
    }
    for (;;) {
        if (obj) {
            if (x->p >= e || *x->p != '"') return jp_unexpected(x, x->p, "a string key");
            if (jp_string(x, NULL, NULL)) return -1;
            x->p = jp_ws(x->p, e);
            if (x->p >= e || *x->p != ':') return jp_unexpected(x, x->p, "':'");
            x->p = jp_ws(x->p + 1, e);
        }
        if (jp_skip(x, depth)) return -1;
        x->p = jp_ws(x->p, e);
        if (x->p < e && *x->p == ',') {
            x->p = jp_ws(x->p + 1, e);
            continue;
        }
        if (x->p < e && *x->p == close) {
            x->p++;
            return 0;
        }
        return jp_unexpected(x, x->p, obj ? "',' or '}'" : "',' or ']'");
    }
}

/* Skips (and checks) the value at x->p. */
static int jp_skip(codec_ctx_t *x, int depth)
{
    jnum_t v;

    if (x->p >= x->end) return jp_unexpected(x, x->p, NULL);
    switch (*x->p) {
    case '"':
        return jp_string(x, NULL, NULL);
    case 't':
        return jp_lit(x, "true", 4);
    case 'f':
        return jp_lit(x, "false", 5);
    case 'n':
        return jp_lit(x, "null", 4);
    case '[':
    case '{':
        if (depth >= LC_CODEC_MAX_DEPTH) {
            x->nsegs = 0;
            return ctx_fail(x, "nesting too deep (more than %d levels)", LC_CODEC_MAX_DEPTH);
        }
        return jp_skip_container(x, depth + 1);
    default:
        if (*x->p == '-' || is_digit(*x->p)) return jp_number(x, &v);
        return jp_unexpected(x, x->p, "a JSON value");
    }
}

/* Counts the items of the array at x->p, leaving x->p after it. */
static int jp_count_items(codec_ctx_t *x, size_t *n)
{
    const unsigned char *e = x->end;

    *n = 0;
    x->p = jp_ws(x->p + 1, e);
    if (x->p < e && *x->p == ']') {
        x->p++;
        return 0;
    }
    for (;;) {
        if (jp_skip(x, x->depth)) return -1;
        ++*n;
        x->p = jp_ws(x->p, e);
        if (x->p < e && *x->p == ',') {
            x->p = jp_ws(x->p + 1, e);
            continue;
        }
        if (x->p < e && *x->p == ']') {
            x->p++;
            return 0;
        }
        return jp_unexpected(x, x->p, "',' or ']'");
    }
}

/* After a value: moves past ',' (returns 1: another member follows) or the closing byte
 * (returns 0), else fails (-1). */
static inline int jp_next(codec_ctx_t *x, unsigned char close)
{
    const unsigned char *e = x->end;

    x->p = jp_ws(x->p, e);
    if (x->p < e && *x->p == ',') {
        x->p = jp_ws(x->p + 1, e);
        return 1;
    }
    if (x->p < e && *x->p == close) {
        x->p++;
        return 0;
    }
    return jp_unexpected(x, x->p, close == '}' ? "',' or '}'" : "',' or ']'");
}

/* Reads an object key and its ':' (x->p at the key's quote, or what is there instead). */
static inline int jp_key(codec_ctx_t *x, const char **k, size_t *kn)
{
    const unsigned char *e = x->end;

    if (x->p >= e || *x->p != '"') return jp_unexpected(x, x->p, "a string key");
    if (jp_string(x, k, kn)) return -1;
    x->p = jp_ws(x->p, e);
    if (x->p >= e || *x->p != ':') return jp_unexpected(x, x->p, "':'");
    x->p = jp_ws(x->p + 1, e);
    return 0;
}

/* ---------------------------------------------------------------- building tables */

/* A container's items stay on the Lua stack until its end, so its table is made once with
 * the right size instead of growing by rehashes. Past PEND_MAX items, or deep in the stack
 * (a C function gets LUAI_MAXCSTACK slots; nested levels in direct mode need about three
 * each, a thousand levels deep), the table is made and filled as items come. */
#ifndef LUAI_MAXCSTACK
#define LUAI_MAXCSTACK 8000
#endif
#define PEND_MAX 32
#define PEND_TOP (LUAI_MAXCSTACK / 2)

typedef struct {
    int base;   /* the table ends up at base + 1 */
    int n;      /* items (or pairs) so far */
    int direct; /* the table exists at base + 1 */
    int obj;
} tb_t;

/* ctx_enter for a container that may keep up to PEND_MAX pairs on the stack: *pend says
 * whether it may (one lua_checkstack for both). */
static int ctx_enter_pend(codec_ctx_t *x, int *pend)
{
    int top = lua_gettop(x->L);

    if (x->depth >= LC_CODEC_MAX_DEPTH) {
        x->nsegs = 0;
        return ctx_fail(x, "nesting too deep (more than %d levels)", LC_CODEC_MAX_DEPTH);
    }
    *pend = top + 2 * PEND_MAX + 8 <= PEND_TOP && lua_checkstack(x->L, 2 * PEND_MAX + 8);
    if (!*pend && !lua_checkstack(x->L, 8)) return ctx_fail(x, "Lua stack exhausted");
    x->depth++;
    return 0;
}

/* Starts a table after ctx_enter_pend. */
static inline void tb_begin(lua_State *L, tb_t *b, int obj, int pend)
{
    b->base = lua_gettop(L);
    b->n = 0;
    b->obj = obj;
    b->direct = !pend;
    if (b->direct) lua_createtable(L, 0, 0);
}

static void tb_flush(lua_State *L, tb_t *b, int extra)
{
    int i, n = b->n, base = b->base;

    lua_createtable(L, b->obj ? 0 : n + extra, b->obj ? n + extra : 0);
    for (i = 0; i < n; i++) {
        if (b->obj) {
            lua_pushvalue(L, base + 1 + 2 * i);
            lua_pushvalue(L, base + 2 + 2 * i);
            lua_rawset(L, -3);
        } else {
            lua_pushvalue(L, base + 1 + i);
            lua_rawseti(L, -2, i + 1);
        }
    }
    if (n) {
        lua_replace(L, base + 1);
        lua_settop(L, base + 1);
    }
    b->direct = 1;
}

/* After pushing an item, or a key and its value. */
static inline void tb_add(lua_State *L, tb_t *b)
{
    b->n++;
    if (b->direct) {
        if (b->obj)
            lua_rawset(L, b->base + 1);
        else
            lua_rawseti(L, b->base + 1, b->n);
    } else if (b->n == PEND_MAX) {
        tb_flush(L, b, PEND_MAX);
    }
}

static inline void tb_end(lua_State *L, tb_t *b)
{
    if (!b->direct) tb_flush(L, b, 0);
}

/* ---------------------------------------------------------------- decoding, no schema */

static inline void push_null_or_nil(lua_State *L, int top)
{
    if (top)
        lua_pushnil(L);
    else
        lua_pushlightuserdata(L, NULL);
}

static void push_jnum(lua_State *L, const jnum_t *v)
{
    if (v->is_int)
        push_i64(L, (uint64_t)v->i, 0);
    else if (v->d == floor(v->d))
        push_boxed_double(L, v->d); /* so that 1.0 is written back as 1.0, not 1 */
    else
        lua_pushnumber(L, v->d);
}

/* ---------------------------------------------------------------- object shapes */

/* Objects in a stream of records mostly share their keys. When a key sequence (a shape)
 * keeps coming, it gets a Lua constructor, function(v1, ..., vn) return {k1 = v1,
 * ..., kn = vn} end: LuaJIT copies its table template with the keys already hashed and the
 * size right, twice as fast as making the table and setting each key through the C API.
 * Shapes live in a direct-mapped cache in the codec state; the constructors and the key
 * texts (which shape_t points into) in the shape table, the decode runner's upvalue 3. */
#define LC_SHAPES 256
#define LC_SHAPE_TEXT_MAX 1024
#define SHAPE_TABLE lua_upvalueindex(UPV_SHAPES)

typedef struct {
    uint32_t hash;
    int nkeys;        /* 0: an empty slot */
    int compiled;     /* shape table [2 * slot + 1] holds its constructor */
    const char *text; /* each key after its length byte (shape table [2 * slot + 2]) or NULL */
    size_t len;
} shape_t;

/* Per lua_State: the schema cache entries matched last (by memcmp, before any hashing; a few,
 * since key and value schemas alternate), the cache table's size and the object shapes. A
 * userdata whose environment table keeps recent[] alive. */
#define LC_SCHEMA_CACHE_MAX 256
#define LC_SCHEMA_RECENT 4

typedef struct codec_state {
    struct sch_entry *recent[LC_SCHEMA_RECENT];
    int next, cached;
    shape_t shapes[LC_SHAPES];
} codec_state_t;

typedef struct kspan kspan_t;

/* Up to eight bytes of s as a number, for hashing (overlapping loads, no byte loop and no
 * store to memory, which would stall the load that follows). */
static inline uint64_t load_upto8(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    uint64_t v;
    uint32_t a, b;

    if (n >= 8) {
        memcpy(&v, s, 8);
        return v;
    }
    if (n >= 4) {
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        return (uint64_t)a << 32 | b;
    }
    return n ? (uint64_t)u[0] << 16 | (uint64_t)u[n / 2] << 8 | u[n - 1] : 0;
}

/* Hashes the keys' lengths and first and last eight bytes; 0 when they cannot be a shape. */
static uint32_t shape_hash(const kspan_t *ks, int n)
{
    uint64_t h = 0x9E3779B97F4A7C15u ^ (uint64_t)n;
    size_t total = 0;
    int i;

    for (i = 0; i < n; i++) {
        size_t len = ks[i].len;
        if (len > 255) return 0;
        total += len + 1;
        h = (h ^ len ^ load_upto8(ks[i].k, len)) * 0xFF51AFD7ED558CCDu;
        if (len > 8) h = (h ^ load_upto8(ks[i].k + len - 8, 8)) * 0xC4CEB9FE1A85EC53u;
        h ^= h >> 29;
    }
    if (total > LC_SHAPE_TEXT_MAX) return 0;
    return (uint32_t)(h >> 32) | 1;
}

static int shape_equal(const shape_t *sh, const kspan_t *ks, int n)
{
    const unsigned char *t = (const unsigned char *)sh->text;
    int i;

    for (i = 0; i < n; i++) {
        if (*t != ks[i].len || memcmp(t + 1, ks[i].k, ks[i].len) != 0) return 0;
        t += 1 + ks[i].len;
    }
    return 1;
}

/* Builds and stores the constructor of slot's shape; -1 leaves the slot without one. */
static int shape_compile(codec_ctx_t *x, int slot, const kspan_t *ks, int n)
{
    lua_State *L = x->L;
    lc_buf_t *b = &x->scratch;
    char tmp[16];
    int i, ok = 1;
    size_t j;

    b->len = 0;
    ok &= !lc_buf_append(b, "return function(", 16);
    for (i = 0; i < n; i++) {
        snprintf(tmp, sizeof tmp, i ? ",v%d" : "v%d", i + 1);
        ok &= !lc_buf_append(b, tmp, strlen(tmp));
    }
    ok &= !lc_buf_append(b, ") return {", 10);
    for (i = 0; i < n; i++) {
        ok &= !lc_buf_append(b, "[\"", 2);
        for (j = 0; j < ks[i].len; j++) {
            unsigned char c = (unsigned char)ks[i].k[j];
            if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
                ok &= !lc_buf_append(b, &c, 1);
            } else {
                snprintf(tmp, sizeof tmp, "\\%03u", c);
                ok &= !lc_buf_append(b, tmp, 4);
            }
        }
        snprintf(tmp, sizeof tmp, "\"]=v%d,", i + 1);
        ok &= !lc_buf_append(b, tmp, strlen(tmp));
    }
    ok &= !lc_buf_append(b, "} end", 5);
    if (!ok) return -1;
    if (luaL_loadbuffer(L, b->data, b->len, "=luaconnect.codec.shape")) {
        lua_pop(L, 1);
        return -1;
    }
    lua_call(L, 0, 1);
    lua_rawseti(L, SHAPE_TABLE, 2 * slot + 1);
    return 0;
}

/* Records the shape of ks[0..n) in its slot, replacing what was there. */
static void shape_set(codec_ctx_t *x, shape_t *sh, int slot, uint32_t h, const kspan_t *ks, int n)
{
    lua_State *L = x->L;
    char text[LC_SHAPE_TEXT_MAX], *t = text;
    int i;

    if (sh->compiled) {
        lua_pushnil(L);
        lua_rawseti(L, SHAPE_TABLE, 2 * slot + 1);
    }
    sh->hash = h;
    sh->nkeys = n;
    sh->compiled = 0;
    if (!ks) { /* met once: a hash is enough to notice it again */
        sh->text = NULL;
        return;
    }
    for (i = 0; i < n; i++) {
        *t++ = (char)ks[i].len;
        memcpy(t, ks[i].k, ks[i].len);
        t += ks[i].len;
    }
    lua_pushlstring(L, text, (size_t)(t - text));
    sh->text = lua_tolstring(L, -1, &sh->len);
    lua_rawseti(L, SHAPE_TABLE, 2 * slot + 2);
}

/* Pushes the constructor for the keys ks[0..n) and returns 1, or returns 0. A slot learns a
 * shape in steps, so that one-off key sets (maps keyed by ids) cost little: its hash when it
 * is first met, its keys the second time, a constructor the third. */
static int shape_get(codec_ctx_t *x, const kspan_t *ks, int n)
{
    uint32_t h = shape_hash(ks, n);
    int slot = (int)(h & (LC_SHAPES - 1));
    shape_t *sh = &x->st->shapes[slot];

    if (!h) return 0;
    if (sh->hash != h || sh->nkeys != n) {
        shape_set(x, sh, slot, h, NULL, n);
        return 0;
    }
    if (!sh->text || !shape_equal(sh, ks, n)) {
        shape_set(x, sh, slot, h, ks, n);
        return 0;
    }
    if (!sh->compiled) {
        if (shape_compile(x, slot, ks, n)) return 0;
        sh->compiled = 1;
    }
    lua_rawgeti(x->L, SHAPE_TABLE, 2 * slot + 1);
    return 1;
}

/* ---------------------------------------------------------------- reading containers */

static int jp_value(codec_ctx_t *x, int top);

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
static int jp_value(codec_ctx_t *x, int top)
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
static int dec_text(codec_ctx_t *x)
{
    x->p = jp_ws(x->beg, x->end);
    if (jp_value(x, 1)) return -1;
    x->p = jp_ws(x->p, x->end);
    if (x->p < x->end) return jp_unexpected(x, x->p, "end of input");
    return 0;
}

/* ---------------------------------------------------------------- schemas */

/* A decoded schema, C side: what the payload decoder needs, built once per distinct schema
 * text next to its Lua table. Nodes live in the arena of their cache entry. */
typedef struct sch_node sch_node_t;

typedef struct {
    const char *name; /* in the arena */
    size_t len;
    int kref; /* index of the name string in the entry's environment table */
    sch_node_t *schema;
} sch_field_t;

struct sch_node {
    stype_t type;
    int optional;
    size_t nfields;
    sch_field_t *fields;                /* struct */
    sch_node_t *items, *keys, *values;  /* array, map */
    const unsigned char *def, *def_end; /* the default's JSON text (in the entry's copy) */
};

typedef struct sch_chunk {
    struct sch_chunk *next;
    size_t used, cap;
    max_align_t data[];
} sch_chunk_t;

/* A schema cache entry: a userdata (metatable with __gc) keyed by the schema JSON text.
 * env_ref is a registry reference to its environment table: [1] the Lua schema table,
 * [2..] the struct field names, so the payload decoder pushes keys without hashing. */
typedef struct sch_entry {
    sch_chunk_t *chunks;
    sch_node_t *root;
    const unsigned char *text; /* the schema JSON, copied (the cache key) */
    size_t len;
    int env_ref, nkeys;
} sch_entry_t;

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

static const char *json_kind_at(unsigned char c)
{
    switch (c) {
    case '{':
        return "object";
    case '[':
        return "array";
    case '"':
        return "string";
    case 't':
    case 'f':
        return "boolean";
    case 'n':
        return "null";
    default:
        return "number";
    }
}

static int sp_value(codec_ctx_t *x, const sch_node_t *s, int top);

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
static sch_entry_t *sch_intern(codec_ctx_t *x)
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

/* Pushes the payload value at x->p following the schema node s; top: null becomes nil. */
static int sp_value(codec_ctx_t *x, const sch_node_t *s, int top)
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

/* Runs inside lua_pcall: (ctx). Pushes value and schema (always two results). */
static int dec_runner(lua_State *L)
{
    codec_ctx_t *x = lua_touserdata(L, 1);

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
    rc = push_runner(&x, &reg_decode) ? -1 : run_protected(&x, 0, 2);
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

    if (!lua_checkstack(L, 2 * UPV_COUNT + 8)) {
        set_err(errstr, errstr_size, "Lua stack exhausted");
        return -1;
    }
    luaL_newmetatable(L, LC_ARRAY_MT);
    reg_set(L, &reg_array_mt);

    /* Take ffi from package.loaded when there, else open it: a sandbox may have no require. */
    lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
    if (lua_istable(L, -1)) lua_getfield(L, -1, "ffi");
    if (!lua_istable(L, -1)) {
        lua_settop(L, top);
        lua_pushcfunction(L, luaopen_ffi);
        lua_pushstring(L, "ffi");
        if (lua_pcall(L, 1, 1, 0)) goto lua_err;
    }
    if (luaL_loadbuffer(L, helpers_lua, sizeof helpers_lua - 1, "=luaconnect.codec")) goto lua_err;
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0)) goto lua_err;
    lua_getfield(L, -1, "box_i64");
    reg_set(L, &reg_box_i64);
    lua_getfield(L, -1, "box_f64");
    reg_set(L, &reg_box_f64);
    lua_getfield(L, -1, "classify");
    reg_set(L, &reg_classify);
    lua_settop(L, top);

    /* The schema cache (see sch_intern): entries' metatable, the table, the state. */
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, sch_entry_gc);
    lua_setfield(L, -2, "__gc");
    reg_set(L, &reg_sch_mt);
    lua_newtable(L);
    reg_set(L, &reg_sch_cache);

    /* The runners, with what they use on every call as upvalues (UPV_*). */
    push_reg(L, &reg_array_mt);
    memset(lua_newuserdata(L, sizeof(codec_state_t)), 0, sizeof(codec_state_t));
    lua_createtable(L, LC_SCHEMA_RECENT, 0);
    lua_setfenv(L, -2);
    lua_createtable(L, 2 * LC_SHAPES, 0);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    for (i = 0; i < K_COUNT; i++)
        lua_pushstring(L, key_names[i]);
    for (i = 1; i <= UPV_COUNT; i++)
        lua_pushvalue(L, top + i);
    lua_pushcclosure(L, enc_runner, UPV_COUNT);
    reg_set(L, &reg_encode);
    lua_pushcclosure(L, dec_runner, UPV_COUNT);
    reg_set(L, &reg_decode);
    lua_settop(L, top);
    return 0;

lua_err:
    m = lua_tostring(L, -1);
    set_err(errstr, errstr_size, "codec init failed: %s", m ? m : "(no message)");
    lua_settop(L, top);
    return -1;
}
