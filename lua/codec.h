/* codec: converters between Kafka bytes and Lua values, in C.
 *
 * Implements Kafka Connect's JsonConverter (schemas.enable true: the
 * {"schema":...,"payload":...} envelope, byte-compatible with Kafka Connect; false:
 * plain JSON), StringConverter and ByteArrayConverter.
 *
 * Lua value model (shared with lua/luaconnect.lua):
 *   JSON null inside a value  -> connect.null, a light userdata NULL
 *                                (lua_pushlightuserdata(L, NULL))
 *   top-level null / no bytes -> nil (a tombstone when it is a record value)
 *   object                    -> table (string keys)
 *   array                     -> table 1..n with the metatable registered as "luaconnect.array"
 *                                (luaL_newmetatable(L, "luaconnect.array")), so [] survives
 *   integer, |n| <= 2^53      -> Lua number
 *   integer beyond 2^53       -> int64_t cdata (LuaJIT FFI), e.g. 9007199254740993LL
 *   float with a fraction     -> Lua number
 *   float that is integral    -> an lc_float_t cdata (connect.float(x)) so 1.0 stays 1.0; its
 *                                metamethods make arithmetic and comparisons behave like a
 *                                number (x + 0.5 == 1.5, x == 1) and tonumber(x) works
 *                                (schemaless only; with a schema the schema says float)
 * Encoding Lua -> JSON: a table with the array metatable, or with t[1] ~= nil, is an
 * array, any other table an object; a Lua number that is integral and within 2^53 is
 * written as an integer, otherwise as Java's Double.toString would (shortest exact form);
 * int64_t/uint64_t cdata as integers; double and lc_float_t cdata as floats (always with a
 * '.' or an exponent); NaN and the infinities as the strings "NaN", "Infinity", "-Infinity"
 * (as Kafka Connect's JsonConverter writes them; a float/double schema reads them back as
 * the float values). Functions, userdata other than connect.null are errors that name the
 * path ("value.a.b[3]").
 *
 * Schemas are Lua tables shaped like JsonConverter's schema JSON:
 *   { type = "struct", optional = false, name = "x", version = 1, doc = "...",
 *     parameters = {...}, default = v,
 *     fields = { { field = "id", type = "int64", optional = false }, ... },
 *     items = <schema> (array), keys = <schema>, values = <schema> (map) }
 * With schemas.enable=true the envelope's schema is written from that table in Kafka
 * Connect's key order (type, fields/items/keys/values, optional, name, version, doc,
 * parameters, default; a struct field's "field" last), and the payload follows the
 * schema: int8..int64 integers, float32/float64 floats, bytes as base64, struct in
 * field order, map with non-string keys as [[k,v],...]. A missing schema writes
 * "schema":null and a schemaless payload.
 *
 * Schema tables returned by the decoder are shared: every record whose schema JSON has the
 * same text gets the same table (a per-lua_State cache of up to 256 schemas, emptied when
 * full), so transforms can cache what they derive from a schema by table identity. Such a
 * table and the tables inside it must not be mutated: copy first (transforms/_smt.lua
 * does). The encoder relies on it too: for a frozen schema (a decoded one, or one
 * lc_codec_freeze marked) it writes the JSON once and, for a struct, compiles the fields'
 * names, key texts and types once (encode_plan.c), and reuses both for every record.
 *
 * Decoding is strict RFC 8259 JSON (UTF-8 checked, duplicate keys: the last one wins).
 * Error texts: "invalid JSON at line L column C: <what>" for syntax errors (columns count
 * characters; at the end of the text, its last one), "<path>: <what>" for anything else
 * ("payload.id: expected int32, got string"). A syntax error anywhere in the text is the
 * one reported, whatever else is wrong.
 *
 * Depends on LuaJIT (with its ffi module). */
#ifndef LC_CODEC_H
#define LC_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>

typedef enum { LC_CONV_JSON = 0, LC_CONV_STRING, LC_CONV_BYTES } lc_conv_kind_t;

typedef struct lc_converter {
    lc_conv_kind_t kind;
    int schemas_enable; /* JSON only */
} lc_converter_t;

/** A growable byte buffer; zero-initialise it, lc_buf_free() releases it. */
typedef struct lc_buf {
    char *data;
    size_t len, cap;
} lc_buf_t;

/** Appends n bytes; returns 0 or -1 (OOM). */
int lc_buf_append(lc_buf_t *b, const void *p, size_t n);
/** Frees the buffer's memory and zeroes it; safe on a zeroed buffer. */
void lc_buf_free(lc_buf_t *b);

/** Configures c from a Kafka Connect converter class name (full or short:
 * org.apache.kafka.connect.json.JsonConverter / JsonConverter, ...StringConverter,
 * ...ByteArrayConverter) and the schemas.enable value (NULL means Kafka Connect's default,
 * true). Returns 0, or -1 with errstr naming the class and listing the known ones. */
int lc_converter_init(lc_converter_t *c, const char *class_name, const char *schemas_enable,
                      char *errstr, size_t errstr_size);

/** Prepares L for the codec (registers the array metatable and the FFI boxing helpers).
 * Call once per lua_State before any other codec call. Returns 0 or -1 (errstr). */
int lc_codec_init(lua_State *L, char *errstr, size_t errstr_size);

/** Marks the schema table at idx (anything else is ignored) as frozen: the codec may keep
 * what it derives from it (its JSON text, a struct's field plan) for every later record, so
 * neither it nor the tables inside it may change afterwards. Decoded schemas are frozen
 * already; the SDK's schema builders freeze what they build. */
void lc_codec_freeze(lua_State *L, int idx);

/** Serialises the Lua value at value_idx (nil means null) with the schema at schema_idx
 * (0 or a nil slot means no schema) into out (out->len reset to 0 first).
 * *is_null is set when the result is a Kafka null (nil value: a tombstone, no bytes).
 * Returns 0, or -1 with errstr ("value.a.b: cannot encode a function").
 * Leaves the Lua stack as it found it. */
int lc_conv_from_lua(const lc_converter_t *c, lua_State *L, int value_idx, int schema_idx,
                     lc_buf_t *out, int *is_null, char *errstr, size_t errstr_size);

/** Deserialises data (NULL means a Kafka null) and pushes two values: the Lua value
 * (nil for null) and its schema table (nil when there is none; shared, see above).
 * Returns 0, or -1 with errstr and nothing pushed (the text names the JSON position). */
int lc_conv_to_lua(const lc_converter_t *c, lua_State *L, const void *data, size_t len,
                   char *errstr, size_t errstr_size);

/** The work lc_conv_protected runs: its arguments are at stack slots first.. of the
 * current frame; returns what lc_conv_protected is to return. */
typedef int (*lc_conv_region_fn)(lua_State *L, int first, void *opaque);

/** Runs fn inside one protected call with the codec's runner as the current C function,
 * the nargs values on top of the stack (popped) as its arguments: lc_conv_to_lua calls made
 * by fn skip their own lua_pcall (one per record otherwise). A Lua error raised inside
 * (out of memory) ends fn: -1 with errstr. Else fn's result. */
int lc_conv_protected(lua_State *L, int nargs, lc_conv_region_fn fn, void *opaque, char *errstr,
                      size_t errstr_size);

/** Encodes the Lua value at idx as plain JSON (schemaless rules above) appending to out.
 * Used for offsets, partitions and logs. Keys of objects are sorted so equal tables give
 * equal text. Returns 0 or -1 (errstr). */
int lc_json_encode_sorted(lua_State *L, int idx, lc_buf_t *out, char *errstr, size_t errstr_size);
/** Appends to out the line lc_json_encode_sorted writes for the value JsonConverter
 * (schemas.enable=false) decodes from the JSON object text, without making Lua values (a
 * sink that writes values as JSON lines). Returns 1 when written, 0 when the text is not a
 * case it covers (nothing appended; decode it): not an object, invalid JSON, a key with
 * escapes or given twice, a number that is not finite, deep nesting (json_canon.c). */
int lc_json_canon(const char *text, size_t len, lc_buf_t *out);
/** A top-level edit of a schemaless JSON object value, what a chain of InsertField$Value,
 * ReplaceField$Value and RegexRouter does to it (lua/luaconnect.lua's _text_edit, made by
 * core.json_edit): ops applied in order to the object's members, as the SMTs apply theirs
 * to the decoded table. Names are raw bytes (written with the encoder's escapes). */
typedef enum {
    LC_EDIT_SET,  /* name = value (a member of that name replaced, else added) */
    LC_EDIT_DROP, /* the member called name removed */
    LC_EDIT_KEEP, /* every member not in names[0..n) removed */
    LC_EDIT_MOVE  /* pairs (names[2i] -> names[2i+1]): all taken out, then each set anew */
} lc_edit_kind_t;
typedef enum {
    LC_EDIT_TEXT,      /* the JSON text in text */
    LC_EDIT_PARTITION, /* the record's partition, offset or timestamp, as a Lua number is */
    LC_EDIT_OFFSET,    /* written; without a timestamp (< 0) the op does nothing */
    LC_EDIT_TIMESTAMP
} lc_edit_src_t;
typedef struct {
    const char *s;
    size_t n;
} lc_str_t;
typedef struct {
    lc_edit_kind_t kind;
    lc_edit_src_t src; /* SET */
    lc_str_t name;     /* SET, DROP */
    lc_str_t text;     /* SET from LC_EDIT_TEXT */
    const lc_str_t *names;
    int n; /* KEEP: n names; MOVE: n pairs */
} lc_json_edit_op_t;
typedef struct {
    const lc_json_edit_op_t *ops;
    int nops;
} lc_json_edit_t;
typedef struct {
    int32_t partition;
    int64_t offset, timestamp; /* timestamp < 0: none */
} lc_edit_meta_t;
/** Appends to out what lc_json_canon appends for the object text once e is applied to it:
 * the line lc_json_encode_sorted writes for the edited table. Returns 1 when written, 0 for
 * a text lc_json_canon declines (nothing appended; decode it and run the chain in Lua). */
int lc_json_edit(const char *text, size_t len, const lc_json_edit_t *e, const lc_edit_meta_t *m,
                 lc_buf_t *out);
/** Appends the JSON string of the n bytes at s to out, quotes included, as every
 * converter writes a string (Jackson's escapes; invalid UTF-8 as U+FFFD). Returns 0 or -1
 * (out of memory). */
int lc_json_string(lc_buf_t *out, const char *s, size_t n);
/** Decodes JSON text and pushes the Lua value (schemaless rules). Returns 0 or -1 (errstr). */
int lc_json_decode(lua_State *L, const char *text, size_t len, char *errstr, size_t errstr_size);

#endif
