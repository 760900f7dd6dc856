/* codec: Kafka Connect's converters (JsonConverter, StringConverter, ByteArrayConverter)
 * between Kafka message bytes and Lua values. codec.h describes the Lua value model.
 *
 * Decoding parses with jansson and walks the tree into Lua; encoding writes JSON straight
 * into an lc_buf_t with no intermediate tree, because it runs once per produced record.
 * Every walk runs inside lua_pcall (runner functions kept in the registry), so a Lua error
 * (out of memory, a failing FFI helper) unwinds to us instead of through the caller; the
 * only C resources, the jansson tree and the caller's buffer, live outside the pcall.
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
 *    rejected by int64 schemas; JSON integers outside int64 are rejected by jansson.
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
#include <jansson.h>
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LC_CODEC_MAX_DEPTH 1000
#define LC_ARRAY_MT "luaconnect.array"
/* LuaJIT's lua_type() for cdata; lua.h has no name for it. */
#define LC_TCDATA 10
#define TWO53 9007199254740992.0
#define TWO63 9223372036854775808.0

/* Registry keys: addresses are unique, so they cannot clash with other modules' keys. */
static char reg_array_mt, reg_box_i64, reg_box_f64, reg_classify, reg_encode, reg_decode;

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
    int mt;    /* stack slot of the array metatable */
    int kbase; /* stack slot of key_names[0], interned once per call; 0 when not pushed */
    codec_mode_t mode;
    const lc_converter_t *conv;
    /* encoding */
    lc_buf_t *out;
    int has_schema;
    int is_null;
    /* decoding */
    json_t *json;
    const void *data;
    size_t len;
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
    x->mt = x->kbase = 0;
    x->mode = MODE_CONV;
    x->conv = NULL;
    x->out = NULL;
    x->has_schema = x->is_null = 0;
    x->json = NULL;
    x->data = NULL;
    x->len = 0;
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

static void push_keys(codec_ctx_t *x)
{
    int i;

    x->kbase = lua_gettop(x->L) + 1;
    for (i = 0; i < K_COUNT; i++)
        lua_pushstring(x->L, key_names[i]);
}

/* t[key_names[k]] without metamethods; t must be an absolute index. */
static inline void rawget_k(codec_ctx_t *x, int t, int k)
{
    lua_pushvalue(x->L, x->kbase + k);
    lua_rawget(x->L, t);
}

/* t[key_names[k]] = top of stack (popped), raw; t absolute. */
static inline void rawset_k(codec_ctx_t *x, int t, int k)
{
    lua_pushvalue(x->L, x->kbase + k);
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

static stype_t stype_parse(const char *s, int aliases)
{
    int i;

    for (i = 0; i < ST_UNKNOWN; i++)
        if (strcmp(s, stype_json[i]) == 0) return (stype_t)i;
    if (aliases && strcmp(s, "float32") == 0) return ST_FLOAT32;
    if (aliases && strcmp(s, "float64") == 0) return ST_FLOAT64;
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
    "package.loaded['luaconnect._float'] = { new = fl, is = function(x) return istype(fl, x) end, value = num }\n"
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

static int ctx_oom(codec_ctx_t *x)
{
    return ctx_fail(x, "out of memory");
}

static inline int put(codec_ctx_t *x, const void *p, size_t n)
{
    lc_buf_t *b = x->out;

    if (b->cap - b->len < n && buf_grow(b, n)) return ctx_oom(x);
    memcpy(b->data + b->len, p, n);
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

static size_t fmt_u64(char *end, uint64_t u)
{
    char *p = end;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
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

    if (check_finite(x, d)) return -1;
    return put(x, tmp, fmt_java_float(tmp, d, is_float));
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

static int put_string(codec_ctx_t *x, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, start = 0, k, skip = 1;
    char esc[6];

    if (putc_(x, '"')) return -1;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80 && (k = utf8_seq(s + i, n - i, &skip)) != 0) {
            i += k;
            continue;
        }
        if (put(x, s + start, i - start)) return -1;
        if (c >= 0x80) {
            if (PUTLIT(x, "\xEF\xBF\xBD")) return -1;
            i += skip;
        } else {
            esc[0] = '\\';
            switch (c) {
            case '"':
                esc[1] = '"';
                k = 2;
                break;
            case '\\':
                esc[1] = '\\';
                k = 2;
                break;
            case '\b':
                esc[1] = 'b';
                k = 2;
                break;
            case '\t':
                esc[1] = 't';
                k = 2;
                break;
            case '\n':
                esc[1] = 'n';
                k = 2;
                break;
            case '\f':
                esc[1] = 'f';
                k = 2;
                break;
            case '\r':
                esc[1] = 'r';
                k = 2;
                break;
            default:
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                k = 6;
            }
            if (put(x, esc, k)) return -1;
            i++;
        }
        start = i;
    }
    if (put(x, s + start, i - start)) return -1;
    return putc_(x, '"');
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
static int enc_array(codec_ctx_t *x, int idx, int sidx)
{
    lua_State *L = x->L;
    size_t n = lua_objlen(L, idx), i;
    int top = lua_gettop(L), rc;

    if (count_keys(L, idx) != n)
        return ctx_fail(x, "cannot encode a table with both array items and other keys "
                           "(or holes) as an array");
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

    if (lua_type(L, sidx) != LUA_TTABLE)
        return ctx_fail(x, "schema must be a table, got %s", type_name(L, sidx));
    rawget_k(x, sidx, K_TYPE);
    s = lua_tostring(L, -1);
    if (lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        return ctx_fail(x, "schema has no \"type\" string");
    }
    *st = stype_parse(s, 1);
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

/* Runs inside lua_pcall: (ctx, value, schema-or-nil). */
static int enc_runner(lua_State *L)
{
    codec_ctx_t *x = lua_touserdata(L, 1);
    const lc_converter_t *c = x->conv;
    size_t n;
    const char *s;

    push_reg(L, &reg_array_mt);
    x->mt = lua_gettop(L);
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
        if (x->has_schema) push_keys(x);
        if (c->schemas_enable) {
            if (PUTLIT(x, "{\"schema\":")) break;
            x->root = "schema";
            if (x->has_schema ? write_schema(x, 3, 0) : PUTLIT(x, "null")) break;
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

/* Calls the runner stored under key with ctx and nargs values already pushed; leaves nres
 * results on success and nothing on failure. */
static int run_protected(codec_ctx_t *x, void *key, int nargs, int nres)
{
    lua_State *L = x->L;
    int base = lua_gettop(L) - nargs, status;

    push_reg(L, key);
    if (!lua_isfunction(L, -1)) {
        lua_settop(L, base);
        set_err(x->errstr, x->errstr_size, "codec not initialised (call lc_codec_init)");
        return -1;
    }
    lua_insert(L, base + 1);
    lua_pushlightuserdata(L, x);
    lua_insert(L, base + 2);
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
    lua_pushvalue(L, vidx);
    if (sidx)
        lua_pushvalue(L, sidx);
    else
        lua_pushnil(L);
    if (run_protected(&x, &reg_encode, 2, 0)) {
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
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    if (run_protected(&x, &reg_encode, 2, 0)) {
        out->len = start;
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- decoding */

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

static inline void push_null_or_nil(lua_State *L, int top)
{
    if (top)
        lua_pushnil(L);
    else
        lua_pushlightuserdata(L, NULL);
}

/* Pushes the JSON value j with the schemaless rules of codec.h; top: null becomes nil. */
static int dec_plain(codec_ctx_t *x, json_t *j, int top)
{
    lua_State *L = x->L;
    void *it;
    size_t i, n;
    double d = 0;

    switch (json_typeof(j)) {
    case JSON_OBJECT:
        if (ctx_enter(x)) return -1;
        lua_createtable(L, 0, (int)json_object_size(j));
        for (it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
            const char *k = json_object_iter_key(it);
            size_t klen = json_object_iter_key_len(it);
            lua_pushlstring(L, k, klen);
            seg_key(x, k, klen);
            if (dec_plain(x, json_object_iter_value(it), 0)) return -1;
            x->nsegs--;
            lua_rawset(L, -3);
        }
        x->depth--;
        return 0;
    case JSON_ARRAY:
        if (ctx_enter(x)) return -1;
        n = json_array_size(j);
        lua_createtable(L, (int)n, 0);
        for (i = 0; i < n; i++) {
            seg_index(x, (long long)i + 1);
            if (dec_plain(x, json_array_get(j, i), 0)) return -1;
            x->nsegs--;
            lua_rawseti(L, -2, (int)i + 1);
        }
        lua_pushvalue(L, x->mt);
        lua_setmetatable(L, -2);
        x->depth--;
        return 0;
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(j), json_string_length(j));
        return 0;
    case JSON_INTEGER:
        push_i64(L, (uint64_t)json_integer_value(j), 0);
        return 0;
    case JSON_REAL:
        d = json_real_value(j);
        /* Boxed so that 1.0 is written back as 1.0, not 1. */
        if (d == floor(d))
            push_boxed_double(L, d);
        else
            lua_pushnumber(L, d);
        return 0;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        return 0;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        return 0;
    case JSON_NULL:
        push_null_or_nil(L, top);
        return 0;
    }
    return ctx_fail(x, "unexpected JSON value");
}

static stype_t json_stype(json_t *s)
{
    json_t *t = json_object_get(s, "type");

    return json_is_string(t) ? stype_parse(json_string_value(t), 0) : ST_UNKNOWN;
}

static int dec_schema(codec_ctx_t *x, json_t *s, json_t *v, int top);

/* Pushes an int8..int64 payload value; integral JSON reals are accepted. */
static int dec_int(codec_ctx_t *x, json_t *v, stype_t st)
{
    int64_t iv = 0;
    double d = 0;

    if (json_is_integer(v)) {
        iv = json_integer_value(v);
    } else if (json_is_real(v)) {
        d = json_real_value(v);
        if (d != floor(d)) return ctx_fail(x, "expected %s, got %.17g", stype_json[st], d);
        if (d < -TWO63 || d >= TWO63)
            return ctx_fail(x, "%.17g is out of range for %s", d, stype_json[st]);
        iv = (int64_t)d;
    } else {
        return ctx_fail(x, "expected %s, got %s", stype_json[st], json_kind(v));
    }
    if (iv < int_min[st] || iv > int_max[st])
        return ctx_fail(x, "%lld is out of range for %s", (long long)iv, stype_json[st]);
    push_i64(x->L, (uint64_t)iv, 0);
    return 0;
}

static int dec_bytes(codec_ctx_t *x, json_t *v)
{
    lua_State *L = x->L;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    unsigned char small[256], *out = small;
    long m;

    if (n / 4 * 3 + 3 > sizeof small) out = lua_newuserdata(L, n / 4 * 3 + 3);
    m = b64_decode(s, n, out);
    if (m < 0) return ctx_fail(x, "invalid base64 in bytes value");
    lua_pushlstring(L, (const char *)out, (size_t)m);
    if (out != small) lua_remove(L, -2);
    return 0;
}

static int dec_map(codec_ctx_t *x, json_t *s, json_t *v)
{
    lua_State *L = x->L;
    json_t *ks = json_object_get(s, "keys"), *vs = json_object_get(s, "values"), *e;
    void *it;
    size_t i, n;

    if (json_stype(ks) == ST_STRING) {
        if (!json_is_object(v))
            return ctx_fail(x, "a map with string keys must be a JSON object, got %s",
                            json_kind(v));
        lua_createtable(L, 0, (int)json_object_size(v));
        for (it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
            const char *k = json_object_iter_key(it);
            size_t klen = json_object_iter_key_len(it);
            lua_pushlstring(L, k, klen);
            seg_key(x, k, klen);
            if (dec_schema(x, vs, json_object_iter_value(it), 0)) return -1;
            x->nsegs--;
            lua_rawset(L, -3);
        }
        return 0;
    }
    if (!json_is_array(v))
        return ctx_fail(x, "a map with %s keys must be a JSON array of [key, value] pairs, got %s",
                        stype_json[json_stype(ks)], json_kind(v));
    n = json_array_size(v);
    lua_createtable(L, 0, (int)n);
    for (i = 0; i < n; i++) {
        e = json_array_get(v, i);
        seg_index(x, (long long)i + 1);
        if (!json_is_array(e) || json_array_size(e) != 2)
            return ctx_fail(x, "map entry must be a [key, value] array");
        if (dec_schema(x, ks, json_array_get(e, 0), 0) ||
            dec_schema(x, vs, json_array_get(e, 1), 0))
            return -1;
        x->nsegs--;
        lua_rawset(L, -3);
    }
    return 0;
}

/* Pushes the payload value v (NULL when missing) following the JSON schema s. */
static int dec_schema(codec_ctx_t *x, json_t *s, json_t *v, int top)
{
    lua_State *L = x->L;
    stype_t st = json_stype(s);
    json_t *def, *f, *fields;
    size_t i, n;
    int rc;

    if (st == ST_UNKNOWN) return ctx_fail(x, "schema has no valid \"type\"");
    if (!v || json_is_null(v)) {
        def = json_object_get(s, "default");
        if (def && !json_is_null(def)) return dec_schema(x, s, def, top);
        if (json_is_true(json_object_get(s, "optional"))) {
            push_null_or_nil(L, top);
            return 0;
        }
        return ctx_fail(x, "invalid null value for required %s field", stype_json[st]);
    }
    switch (st) {
    case ST_BOOLEAN:
        if (!json_is_boolean(v)) break;
        lua_pushboolean(L, json_is_true(v));
        return 0;
    case ST_INT8:
    case ST_INT16:
    case ST_INT32:
    case ST_INT64:
        return dec_int(x, v, st);
    case ST_FLOAT32:
    case ST_FLOAT64:
        if (!json_is_number(v)) break;
        lua_pushnumber(L, json_number_value(v));
        return 0;
    case ST_STRING:
        if (!json_is_string(v)) break;
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        return 0;
    case ST_BYTES:
        if (!json_is_string(v)) break;
        return dec_bytes(x, v);
    case ST_ARRAY:
        if (!json_is_array(v)) break;
        if (ctx_enter(x)) return -1;
        n = json_array_size(v);
        lua_createtable(L, (int)n, 0);
        for (i = 0; i < n; i++) {
            seg_index(x, (long long)i + 1);
            if (dec_schema(x, json_object_get(s, "items"), json_array_get(v, i), 0)) return -1;
            x->nsegs--;
            lua_rawseti(L, -2, (int)i + 1);
        }
        lua_pushvalue(L, x->mt);
        lua_setmetatable(L, -2);
        x->depth--;
        return 0;
    case ST_MAP:
        if (ctx_enter(x)) return -1;
        rc = dec_map(x, s, v);
        x->depth--;
        return rc;
    case ST_STRUCT:
        if (!json_is_object(v)) break;
        if (ctx_enter(x)) return -1;
        fields = json_object_get(s, "fields");
        n = json_array_size(fields);
        lua_createtable(L, 0, (int)n);
        for (i = 0; i < n; i++) {
            const char *name;
            f = json_array_get(fields, i);
            name = json_string_value(json_object_get(f, "field"));
            if (!name) return ctx_fail(x, "struct schema field %zu has no name", i + 1);
            lua_pushstring(L, name);
            seg_key(x, name, strlen(name));
            if (dec_schema(x, f, json_object_get(v, name), 0)) return -1;
            x->nsegs--;
            lua_rawset(L, -3);
        }
        x->depth--;
        return 0;
    case ST_UNKNOWN:
        break;
    }
    return ctx_fail(x, "expected %s, got %s", stype_json[st], json_kind(v));
}

/* Pushes the Lua schema table for the JSON schema s, validating it as Kafka Connect's
 * asConnectSchema does. Types keep their JSON names ("double"). */
static int build_schema(codec_ctx_t *x, json_t *s)
{
    lua_State *L = x->L;
    json_t *j, *f;
    stype_t st;
    const char *k;
    size_t i, n;
    int t;
    void *it;

    if (ctx_enter(x)) return -1;
    j = json_object_get(s, "type");
    if (!json_is_string(j)) return ctx_fail(x, "schema must contain a \"type\" string");
    st = stype_parse(json_string_value(j), 0);
    if (st == ST_UNKNOWN) return ctx_fail(x, "unknown schema type '%s'", json_string_value(j));
    lua_createtable(L, 0, 4);
    t = lua_gettop(L);
    lua_pushstring(L, stype_json[st]);
    rawset_k(x, t, K_TYPE);
    switch (st) {
    case ST_ARRAY:
        j = json_object_get(s, "items");
        if (!json_is_object(j)) return ctx_fail(x, "array schema has no \"items\" schema");
        seg_key(x, "items", 5);
        if (build_schema(x, j)) return -1;
        x->nsegs--;
        rawset_k(x, t, K_ITEMS);
        break;
    case ST_MAP:
        j = json_object_get(s, "keys");
        if (!json_is_object(j)) return ctx_fail(x, "map schema has no \"keys\" schema");
        seg_key(x, "keys", 4);
        if (build_schema(x, j)) return -1;
        x->nsegs--;
        rawset_k(x, t, K_KEYS);
        j = json_object_get(s, "values");
        if (!json_is_object(j)) return ctx_fail(x, "map schema has no \"values\" schema");
        seg_key(x, "values", 6);
        if (build_schema(x, j)) return -1;
        x->nsegs--;
        rawset_k(x, t, K_VALUES);
        break;
    case ST_STRUCT:
        j = json_object_get(s, "fields");
        if (!json_is_array(j)) return ctx_fail(x, "struct schema's \"fields\" is not an array");
        n = json_array_size(j);
        lua_createtable(L, (int)n, 0);
        seg_key(x, "fields", 6);
        for (i = 0; i < n; i++) {
            f = json_array_get(j, i);
            seg_index(x, (long long)i + 1);
            if (!json_is_string(json_object_get(f, "field")))
                return ctx_fail(x, "struct field has no \"field\" name");
            if (build_schema(x, f)) return -1;
            lua_pushstring(L, json_string_value(json_object_get(f, "field")));
            rawset_k(x, lua_gettop(L) - 1, K_FIELD);
            lua_rawseti(L, -2, (int)i + 1);
            x->nsegs--;
        }
        x->nsegs--;
        lua_pushvalue(L, x->mt);
        lua_setmetatable(L, -2);
        rawset_k(x, t, K_FIELDS);
        break;
    default:
        break;
    }
    lua_pushboolean(L, json_is_true(json_object_get(s, "optional")));
    rawset_k(x, t, K_OPTIONAL);
    if (json_is_string(j = json_object_get(s, "name"))) {
        lua_pushlstring(L, json_string_value(j), json_string_length(j));
        rawset_k(x, t, K_NAME);
    }
    if (json_is_integer(j = json_object_get(s, "version"))) {
        lua_pushnumber(L, (double)json_integer_value(j));
        rawset_k(x, t, K_VERSION);
    }
    if (json_is_string(j = json_object_get(s, "doc"))) {
        lua_pushlstring(L, json_string_value(j), json_string_length(j));
        rawset_k(x, t, K_DOC);
    }
    if (json_is_object(j = json_object_get(s, "parameters"))) {
        lua_createtable(L, 0, (int)json_object_size(j));
        for (it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
            f = json_object_iter_value(it);
            k = json_object_iter_key(it);
            if (!json_is_string(f))
                return ctx_fail(x, "schema parameters must have string values ('%s' is %s)", k,
                                json_kind(f));
            lua_pushlstring(L, k, json_object_iter_key_len(it));
            lua_pushlstring(L, json_string_value(f), json_string_length(f));
            lua_rawset(L, -3);
        }
        rawset_k(x, t, K_PARAMETERS);
    }
    if ((j = json_object_get(s, "default")) && !json_is_null(j)) {
        seg_key(x, "default", 7);
        if (dec_schema(x, s, j, 0)) return -1;
        x->nsegs--;
        rawset_k(x, t, K_DEFAULT);
    }
    x->depth--;
    return 0;
}

static const char envelope_error[] =
    "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not "
    "contain additional fields. If you are trying to deserialize plain JSON data, set "
    "schemas.enable=false in your converter configuration.";

static void push_simple_schema(lua_State *L, const char *type)
{
    lua_createtable(L, 0, 2);
    lua_pushstring(L, type);
    lua_setfield(L, -2, "type");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "optional");
}

/* Runs inside lua_pcall: (ctx). Pushes value and schema (always two results). */
static int dec_runner(lua_State *L)
{
    codec_ctx_t *x = lua_touserdata(L, 1);
    json_t *root = x->json, *s, *p;

    push_reg(L, &reg_array_mt);
    x->mt = lua_gettop(L);
    if (x->mode == MODE_PLAIN_DECODE || x->conv->kind == LC_CONV_JSON) {
        if (x->mode == MODE_PLAIN_DECODE || !x->conv->schemas_enable) {
            if (dec_plain(x, root, 1)) return 0;
            lua_pushnil(L);
            return 2;
        }
        if (!json_is_object(root) || json_object_size(root) != 2 ||
            !(s = json_object_get(root, "schema")) || !(p = json_object_get(root, "payload"))) {
            set_err(x->errstr, x->errstr_size, "%s", envelope_error);
            x->failed = 1;
            return 0;
        }
        x->root = "payload";
        if (json_is_null(s)) {
            if (dec_plain(x, p, 1)) return 0;
            lua_pushnil(L);
            return 2;
        }
        push_keys(x);
        /* The schema first, so a broken schema is reported before payload errors. */
        x->root = "schema";
        if (build_schema(x, s)) return 0;
        x->root = "payload";
        x->nsegs = 0;
        if (dec_schema(x, s, p, 1)) return 0;
        lua_insert(L, -2);
        return 2;
    }
    lua_pushlstring(L, x->data, x->len);
    push_simple_schema(L, x->conv->kind == LC_CONV_STRING ? "string" : "bytes");
    return 2;
}

static int parse_json(codec_ctx_t *x, const void *data, size_t len)
{
    json_error_t jerr;

    x->json = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!x->json) {
        set_err(x->errstr, x->errstr_size, "invalid JSON at line %d column %d: %s", jerr.line,
                jerr.column, jerr.text);
        return -1;
    }
    return 0;
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
    if (c->kind == LC_CONV_JSON && parse_json(&x, data, len)) return -1;
    rc = run_protected(&x, &reg_decode, 0, 2);
    json_decref(x.json); /* NULL-safe */
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
    if (parse_json(&x, text, len)) return -1;
    rc = run_protected(&x, &reg_decode, 0, 2);
    json_decref(x.json);
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

static void reg_set(lua_State *L, void *key)
{
    lua_pushlightuserdata(L, key);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

/** Prepares L for the codec: array metatable, FFI helpers, runners. Returns 0 or -1. */
int lc_codec_init(lua_State *L, char *errstr, size_t errstr_size)
{
    int top = lua_gettop(L);
    const char *m;

    if (!lua_checkstack(L, 8)) {
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
    lua_pushcfunction(L, enc_runner);
    reg_set(L, &reg_encode);
    lua_pushcfunction(L, dec_runner);
    reg_set(L, &reg_decode);
    lua_settop(L, top);
    return 0;

lua_err:
    m = lua_tostring(L, -1);
    set_err(errstr, errstr_size, "codec init failed: %s", m ? m : "(no message)");
    lua_settop(L, top);
    return -1;
}
