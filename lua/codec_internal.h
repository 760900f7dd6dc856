/* codec_internal.h: what the codec's files share (private: callers use codec.h).
 *
 * The codec is Kafka Connect's converters (JsonConverter, StringConverter,
 * ByteArrayConverter) between Kafka message bytes and Lua values. codec.h describes the Lua
 * value model.
 *
 * Both directions run once per record, so neither builds a tree: decoding is a single-pass
 * parser that pushes Lua values as it reads (strict RFC 8259), encoding writes JSON straight
 * into an lc_buf_t. With schemas.enable, the schema of each record is looked up by its exact
 * text in a per-lua_State cache (schemas repeat on every record), which holds the Lua schema
 * table and a C-side form the payload is decoded against in the same pass. Schemaless
 * objects whose key sequence repeats are made by a Lua constructor compiled for it (see
 * "object shapes" in value.c), cheaper than setting each key through the C API.
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
 *    are accepted as aliases when encoding. NaN and infinities are written as Connect's
 *    Jackson writes them, the strings "NaN", "Infinity", "-Infinity" (with or without a
 *    schema; in an integer field they are errors). Reading them back with a float or double
 *    schema gives the float value, where Connect's JsonConverter gives 0.0 for any string
 *    (TextNode.doubleValue()); without a schema they stay strings, as in Connect.
 *  - Integral floats are lc_float_t struct cdata (see helpers_lua in value.c), not boxed doubles:
 *    LuaJIT does arithmetic on a boxed double in int64 (1.0 + 0.5 == 1LL).
 *
 * The files, in the order a value travels (each opens with its job and what it uses):
 *   codec_ctx.c      output buffer, the walk context: error paths, depth
 *   value.c          the Lua value model: FFI int64/float boxing, tables, object shapes
 *   json_write.c     JSON text out: numbers, strings, base64
 *   json_read.c      JSON text in: the strict reader the decoders share
 *   schema.c         schema types; schema JSON to Lua table and C nodes, the schema cache
 *   encode.c         Lua value to JSON without a schema (also lc_json_encode_sorted)
 *   encode_schema.c  Lua value to JSON following a Lua schema table; schema tables as JSON
 *   decode.c         JSON to Lua value without a schema
 *   decode_schema.c  JSON payload to Lua value following a schema node
 *   converters.c     codec.h's entry points: the converters, lc_codec_init, the runners
 * Hot helpers are static inline here, so splitting the files costs no calls; functions
 * shared between files are hidden (visible to the linker only, never to ffi.C).
 * Depends on LuaJIT (lua.h, lauxlib.h) and libc. */
#ifndef LC_CODEC_INTERNAL_H
#define LC_CODEC_INTERNAL_H

#include "codec.h"

#include <float.h>
#include <lauxlib.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif

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
extern char reg_array_mt;

/* Bytes that end a plain run inside a JSON string, both ways: control characters, '"',
 * '\\' and everything from 0x80 (UTF-8, checked separately). In json_write.c. */
extern const unsigned char str_special[256];
/* 1e0 .. 1e22, the powers of ten a double holds exactly. In json_write.c. */
extern const double pow10_exact[23];

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
extern const char *const key_names[K_COUNT];

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

typedef struct kspan kspan_t;

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

extern const char *const stype_json[];
/* The smallest and largest value of int8..int64, indexed by stype_t. */
extern const int64_t int_min[], int_max[];

typedef enum { CD_NONE, CD_I64, CD_U64, CD_F64, CD_NUM } cdkind_t;

typedef struct {
    int is_int;
    int64_t i;
    double d;
} jnum_t;

typedef struct {
    const char *s;
    size_t n;
} kent_t;

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

/* ---------------------------------------------------------------- object shapes, codec state */

/* Object shapes: see value.c. */
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

/* Schema type names as the Lua strings LuaJIT interned (kept alive by the state's
 * environment table): a schema table's "type" string is one of these pointers when it names
 * a type, so encoding compares a pointer instead of parsing the name for every value. */
#define LC_TYPE_NAMES (ST_UNKNOWN + 2)
#define LC_PLAN_RECENT 2

/* Objects nested this deep or less remember the shape of the last object at their place
 * (depth, and member index in the object around, or "an array item"): the next one's keys
 * are compared with it as they are read (see jp_object). */
#define LC_SHAPE_DEPTHS 8

typedef struct codec_state {
    struct sch_entry *recent[LC_SCHEMA_RECENT];
    int next, cached;
    shape_t shapes[LC_SHAPES];
    unsigned shape_gen; /* counts shape slot changes */
    /* slot + 1 of the last object at depth d + 1 and place p, or 0; places: the member
     * index (the last two: members from PEND_MAX - 2 on, and array items) */
    uint16_t last_shape[LC_SHAPE_DEPTHS][PEND_MAX];
    const char *type_name[LC_TYPE_NAMES]; /* stype_json[0..ST_UNKNOWN), float32, float64 */
    /* The frozen schemas encoded last and their entries (encode_plan.c); the environment
     * keeps the schema tables from LC_SCHEMA_RECENT + 1 on. */
    const void *plan_schema[LC_PLAN_RECENT];
    void *plan_entry[LC_PLAN_RECENT];
    int plan_next;
} codec_state_t;

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

/* ---------------------------------------------------------------- shared functions */

/* codec_ctx.c */
/** Grows b to hold n more bytes; returns 0 or -1 (OOM). */
int buf_grow(lc_buf_t *b, size_t n);
/** Resets x for one conversion of L's values; errors go to errstr. */
void ctx_init(codec_ctx_t *x, lua_State *L, char *errstr, size_t errstr_size);
/** snprintf into errstr when it is given. */
void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Records "<path>: <message>" and returns -1; the first failure wins. */
int ctx_fail(codec_ctx_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** ctx_fail(x, "out of memory"). */
int ctx_oom(codec_ctx_t *x);
/** Entering a container: bounds recursion and makes room on the Lua stack. */
int ctx_enter(codec_ctx_t *x);
/** lua_typename, with names for cdata and connect.null. */
const char *type_name(lua_State *L, int idx);

/* value.c */
/** Registers the array metatable and the FFI helpers in L; -1 leaves a message on top. */
int value_init(lua_State *L);
/** registry[key] = top of stack (popped). */
void reg_set(lua_State *L, void *key);
/** Pushes an integer: a Lua number within 2^53, else int64_t/uint64_t cdata. */
void push_i64(lua_State *L, uint64_t u, int is_unsigned);
/** Pushes an integral float as lc_float_t cdata (1.0 stays a float). */
void push_boxed_double(lua_State *L, double d);
/** Classifies the cdata at idx: *u for CD_I64/CD_U64, *d for CD_F64/CD_NUM. */
cdkind_t cdata_classify(lua_State *L, int idx, uint64_t *u, double *d);
/** ctx_enter for a container whose pairs may wait on the stack (*pend: whether they may). */
int ctx_enter_pend(codec_ctx_t *x, int *pend);
/** Makes the table of b's pending items at b->base + 1, with room for extra more. */
void tb_flush(lua_State *L, tb_t *b, int extra);
/** Pushes the constructor for objects with keys ks[0..n) and returns its slot + 1, or 0. */
int shape_get(codec_ctx_t *x, const kspan_t *ks, int n);

/* json_write.c */
/** Writes u in decimal. */
int put_u64(codec_ctx_t *x, uint64_t u);
/** Writes v in decimal. */
int put_i64(codec_ctx_t *x, int64_t v);
/** Writes d as Java's Double.toString (is_float: Float.toString) does; NaN/inf as Connect's
 * JsonConverter does, the strings "NaN", "Infinity", "-Infinity". */
int put_float(codec_ctx_t *x, double d, int is_float);
/** Length of the valid UTF-8 sequence at s (2..4), or 0 with *skip set to the invalid run. */
size_t utf8_seq(const unsigned char *s, size_t n, size_t *skip);
/** Writes str (n bytes) as a JSON string, in Jackson's escapes. */
int put_string(codec_ctx_t *x, const char *str, size_t n);
/** Writes s (n bytes) as a base64 JSON string. */
int put_base64(codec_ctx_t *x, const unsigned char *s, size_t n);

/* json_read.c */
/** Records a JSON syntax error at `at` (line and column) and returns -1. */
LC_COLD int jp_fail(codec_ctx_t *x, const unsigned char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** jp_fail with "unexpected <what is at at>[, expected <expected>]". */
LC_COLD int jp_unexpected(codec_ctx_t *x, const unsigned char *at, const char *expected);
/** The rest of a string from its first escape at p (see jp_string). */
LC_COLD int jp_string_esc(codec_ctx_t *x, const unsigned char *start, const unsigned char *p,
                          const char **out, size_t *outn);
/** Reads the number at x->p into *v (jp_number's general case). */
int jp_number_slow(codec_ctx_t *x, jnum_t *v);
/** Skips (and checks) the value at x->p; depth counts the levels around it. */
int jp_skip(codec_ctx_t *x, int depth);
/** Counts the items of the array at x->p, leaving x->p after it. */
int jp_count_items(codec_ctx_t *x, size_t *n);
/** The JSON kind of the value starting with c, for error messages. */
const char *json_kind_at(unsigned char c);
/** Decodes base64 s (n bytes) into out (n / 4 * 3 + 3 bytes); the length or -1. */
long b64_decode(const char *s, size_t n, unsigned char *out);

/* schema.c */
/** The schema type named s (n bytes); aliases: accept float32/float64 too. */
stype_t stype_parse(const char *s, size_t n, int aliases);
/** Creates the schema cache in L's registry. */
void schema_cache_init(lua_State *L);
/** Finds or builds the cache entry of the schema JSON at x->p (pushes its environment). */
sch_entry_t *sch_intern(codec_ctx_t *x);

/* encode.c */
/** Writes the value at idx (absolute) with the schemaless rules of codec.h. */
int enc_plain(codec_ctx_t *x, int idx);
/** Counts the keys of the table at idx. */
size_t count_keys(lua_State *L, int idx);
/** Writes the table at idx as a JSON array; items follow the schema at sidx, or none (0). */
int enc_array(codec_ctx_t *x, int idx, int sidx);
/** Writes the table at idx as [[k,v],...]; ksidx/vsidx: key and value schemas, or 0. */
int enc_pairs(codec_ctx_t *x, int idx, int ksidx, int vsidx);
/** Writes the table at idx as a JSON object; values follow the schema at vsidx, or none. */
int enc_object(codec_ctx_t *x, int idx, int vsidx);
/** Writes the table at idx as a sorted flat object without a pcall: 1, 0 (not flat: nothing
 * written) or -1 (out of memory). Needs 8 free stack slots. */
int enc_flat_sorted(codec_ctx_t *x, int idx);
/** Pushes a userdata holding the sorted string keys of the table at idx; NULL on failure. */
kent_t *sorted_keys(codec_ctx_t *x, int idx, size_t *count);

/* encode_schema.c */
/** Writes the value at vidx following the schema table at sidx (both absolute). */
int enc_schema(codec_ctx_t *x, int vidx, int sidx);
/** Reads schema.type of the schema table at sidx (absolute). 0, or -1 (failed). */
int schema_type(codec_ctx_t *x, int sidx, stype_t *st);
/** The integer (int8..int64 schema st) or double (float32/float64) at vidx; 0 or -1. */
int get_integer(codec_ctx_t *x, int vidx, stype_t st, int64_t *out);
int get_double(codec_ctx_t *x, int vidx, stype_t st, double *out);
/** Fails when the struct at vidx has a key that is not a field of the fields list at fidx
 * (matched: how many of its fields were found by name). 0, or -1. */
int check_fields(codec_ctx_t *x, int vidx, int fidx, size_t matched);

/* encode_plan.c */
/** Writes the value at vidx with the schema at sidx (absolute, a table), through the
 * compiled plan when the schema is a frozen struct and the value a table; else enc_schema. */
int enc_frozen(codec_ctx_t *x, int vidx, int sidx);
/** Writes the frozen schema at sidx as write_schema does, from its text when it was written
 * before (the text is kept for the next record); a schema not frozen is written each time. */
int put_frozen_schema(codec_ctx_t *x, int sidx);
/** Writes the schema table at sidx as JsonConverter's asJsonSchema does. */
int write_schema(codec_ctx_t *x, int sidx, int field_idx);

/* decode.c */
/** Pushes the value at x->p with the schemaless rules of codec.h; top: null becomes nil. */
int jp_value(codec_ctx_t *x, int top);
/** Pushes the whole text as one value, nothing but blanks after it. */
int dec_text(codec_ctx_t *x);

/* decode_schema.c */
/** Pushes the payload value at x->p following the schema node s; top: null becomes nil. */
int sp_value(codec_ctx_t *x, const sch_node_t *s, int top);

/* ---------------------------------------------------------------- inline helpers */

static inline int buf_reserve(lc_buf_t *b, size_t n)
{
    return b->cap - b->len >= n ? 0 : buf_grow(b, n);
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

static inline void push_reg(lua_State *L, void *key)
{
    lua_pushlightuserdata(L, key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

/* Skips bytes that need no attention inside a string: printable ASCII but '"' and '\\'.
 * Returns the first special byte in [p, e), or e. Sixteen bytes at a time with SSE2, then
 * eight: in these tests a special byte may also flag bytes above it (borrows propagate
 * upwards), never below, so the lowest flag is the first special byte. */
static inline const unsigned char *str_scan(const unsigned char *p, const unsigned char *e)
{
#if defined(__SSE2__)
    /* Sixteen bytes at a time: as signed bytes, everything from 0x80 is negative, so one
     * "less than 0x20" compare flags control characters and non-ASCII together. */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);

    while (e - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        int m = _mm_movemask_epi8(_mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
            _mm_cmplt_epi8(v, space)));
        if (m) return p + __builtin_ctz((unsigned)m);
        p += 16;
    }
#endif
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

static inline int check_finite(codec_ctx_t *x, double d)
{
    if (isnan(d)) return ctx_fail(x, "cannot encode NaN");
    if (isinf(d)) return ctx_fail(x, "cannot encode %s", d > 0 ? "inf" : "-inf");
    return 0;
}

/* A Lua number without a schema: integral values within 2^53 are integers (a double holds
 * them exactly), everything else a float. */
static inline int put_number(codec_ctx_t *x, double d)
{
    if (d >= -TWO53 && d <= TWO53 && d == (double)(int64_t)d) return put_i64(x, (int64_t)d);
    return put_float(x, d, 0);
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

/* Reads the number at x->p into *v. Integers of up to 16 digits and decimals of up to 15
 * digits without an exponent, what records are made of, are read here in one pass;
 * jp_number_slow reads the rest, and every malformed number. The results are those of
 * jp_number_slow: a decimal's digits m (< 10^15 < 2^53) over 10^k (k <= 15) is its exact
 * one-rounding case. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int jp_number(codec_ctx_t *x, jnum_t *v)
{
    const unsigned char *p = x->p, *e = x->end, *q, *lim;
    int neg = *p == '-';
    uint64_t m;

    p += neg;
    if (p >= e || !is_digit(*p)) return jp_number_slow(x, v);
    m = (uint64_t)(*p - '0');
    q = p + 1;
    if (m) {
        lim = e - q > 15 ? q + 15 : e;
        while (q < lim && is_digit(*q))
            m = m * 10 + (uint64_t)(*q++ - '0');
    }
    if (q < e && (is_digit(*q) || (*q | 0x20) == 'e')) return jp_number_slow(x, v);
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    if (q < e && *q == '.') {
        const unsigned char *f = q + 1;
        double d;

        if (q - p > 14) return jp_number_slow(x, v);
        lim = e - f > 15 - (q - p) ? f + (15 - (q - p)) : e;
        for (q = f; q < lim && is_digit(*q); q++)
            m = m * 10 + (uint64_t)(*q - '0');
        if (q == f || (q < e && (is_digit(*q) || (*q | 0x20) == 'e'))) return jp_number_slow(x, v);
        d = (double)m / pow10_exact[q - f];
        v->is_int = 0;
        v->d = neg ? -d : d;
        x->p = q;
        return 0;
    }
#else
    if (q < e && *q == '.') return jp_number_slow(x, v);
#endif
    v->is_int = 1;
    v->i = neg ? -(int64_t)m : (int64_t)m;
    x->p = q;
    return 0;
}

static inline int jp_lit(codec_ctx_t *x, const char *lit, size_t n)
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

/* Reads the string at x->p (its opening quote). *out points into the input or into
 * x->scratch (valid until the next string); out NULL: only check it. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
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

static inline int is_value_start(unsigned char c)
{
    return c == '{' || c == '[' || c == '"' || c == '-' || is_digit(c) || c == 't' || c == 'f' ||
           c == 'n';
}

/* After a value: moves past ',' (returns 1: another member follows) or the closing byte
 * (returns 0), else fails (-1). */
static inline int jp_next(codec_ctx_t *x, unsigned char close)
{
    const unsigned char *e = x->end, *p = x->p;

    if (p >= e || (*p != ',' && *p != close)) p = jp_ws(p, e); /* blanks are rare */
    if (p < e && *p == ',') {
        p++;
        x->p = p < e && *p > ' ' ? p : jp_ws(p, e);
        return 1;
    }
    if (p < e && *p == close) {
        x->p = p + 1;
        return 0;
    }
    x->p = p;
    return jp_unexpected(x, p, close == '}' ? "',' or '}'" : "',' or ']'");
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

/* Starts a table after ctx_enter_pend. */
static inline void tb_begin(lua_State *L, tb_t *b, int obj, int pend)
{
    b->base = lua_gettop(L);
    b->n = 0;
    b->obj = obj;
    b->direct = !pend;
    if (b->direct) lua_createtable(L, 0, 0);
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

static inline void push_null_or_nil(lua_State *L, int top)
{
    if (top)
        lua_pushnil(L);
    else
        lua_pushlightuserdata(L, NULL);
}

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif
