/* fuzz_json_decode: JsonConverter decode (lua/codec.h) on arbitrary bytes, with
 * schemas.enable=false and =true, plus lc_json_decode and the String/ByteArray converters.
 *
 * Each input gets a fresh task-like lua_State (closed afterwards, so LeakSanitizer sees
 * every codec allocation freed) and is decoded twice by each converter: the second time
 * meets the codec's per-state caches (schemas, object shapes) filled by the first, as the
 * records of a task do. Properties checked, beyond "no sanitizer report":
 * - success pushes exactly two values (value, schema), failure pushes nothing and says why;
 * - the second decode succeeds or fails as the first, with the same message;
 * - schemaless decoding never returns a schema; String/ByteArray give the bytes unchanged;
 * - a syntax error is reported as "invalid JSON at line L column C: ..." by every JSON
 *   decoder (codec.h: a syntax error anywhere in the text is the one reported);
 * - lc_json_canon's line is the schemaless decode's value encoded by lc_json_encode_sorted,
 *   or it declines and appends nothing; the line decodes to a value written as that line. */
#include "fuzz_common.h"

static lua_State *L;

/* Decodes with c; returns 1 when decoding failed with a syntax error, 0 otherwise. */
static int decode_with(const lc_converter_t *c, const uint8_t *data, size_t size)
{
    char err[2][1024];
    int top = lua_gettop(L), rc[2];
    for (int round = 0; round < 2; round++) {
        err[round][0] = '\0';
        rc[round] = lc_conv_to_lua(c, L, data, size, err[round], sizeof(err[round]));
        if (rc[round] != 0) {
            FUZZ_ASSERT(lua_gettop(L) == top, "failed decode left %d values", lua_gettop(L) - top);
            FUZZ_ASSERT(err[round][0] != '\0', "failed decode without a message");
            continue;
        }
        FUZZ_ASSERT(lua_gettop(L) == top + 2, "decode pushed %d values, want 2",
                    lua_gettop(L) - top);
        if (c->kind == LC_CONV_JSON && !c->schemas_enable)
            FUZZ_ASSERT(lua_isnil(L, -1), "schemaless decode returned a %s schema",
                        luaL_typename(L, -1));
        if (c->kind != LC_CONV_JSON) {
            size_t n = 0;
            const char *s = lua_tolstring(L, -2, &n);
            FUZZ_ASSERT(s && n == size && memcmp(s, data, n) == 0, "%s converter changed the bytes",
                        c->kind == LC_CONV_STRING ? "String" : "ByteArray");
        }
        lua_settop(L, top);
    }
    FUZZ_ASSERT(rc[0] == rc[1] && strcmp(err[0], err[1]) == 0,
                "decoding twice differs: rc %d '%s', then rc %d '%s'", rc[0], err[0], rc[1],
                err[1]);
    return rc[0] != 0 && strncmp(err[0], "invalid JSON at line ", 21) == 0;
}

/* lc_json_canon writes what a sink would write otherwise (schemaless decode, then
 * lc_json_encode_sorted), or declines and appends nothing. */
static void check_canon(const uint8_t *data, size_t size)
{
    static const lc_converter_t plain = {LC_CONV_JSON, 0};
    lc_buf_t got = {0}, want = {0};
    char err[1024] = "";

    lc_buf_append(&got, "=", 1);
    int rc = lc_json_canon((const char *)data, size, &got);
    FUZZ_ASSERT(rc == 0 || rc == 1, "lc_json_canon returned %d", rc);
    if (rc == 0) {
        FUZZ_ASSERT(got.len == 1, "lc_json_canon declined after appending %zu bytes", got.len - 1);
    } else {
        FUZZ_ASSERT(lc_conv_to_lua(&plain, L, data, size, err, sizeof err) == 0,
                    "lc_json_canon wrote a line for a text the converter refuses: %s", err);
        FUZZ_ASSERT(lc_json_encode_sorted(L, -2, &want, err, sizeof err) == 0,
                    "lc_json_canon wrote a line for a value the encoder refuses: %s", err);
        FUZZ_ASSERT(got.len == want.len + 1 && memcmp(got.data + 1, want.data, want.len) == 0,
                    "lc_json_canon wrote %.*s, the encoder %.*s", (int)got.len - 1, got.data + 1,
                    (int)want.len, want.data);
        lua_settop(L, 0);
        /* A lazy sink record decodes its value from the line: the same value, so encoding
         * it again gives the same line (canon of the line too). */
        want.len = 0;
        FUZZ_ASSERT(lc_conv_to_lua(&plain, L, got.data + 1, got.len - 1, err, sizeof err) == 0,
                    "the converter refuses lc_json_canon's line %.*s: %s", (int)got.len - 1,
                    got.data + 1, err);
        FUZZ_ASSERT(lc_json_encode_sorted(L, -2, &want, err, sizeof err) == 0 &&
                        got.len == want.len + 1 &&
                        memcmp(got.data + 1, want.data, want.len) == 0,
                    "the line %.*s decodes to a value written as %.*s", (int)got.len - 1,
                    got.data + 1, (int)want.len, want.data);
        lua_settop(L, 0);
    }
    lc_buf_free(&got);
    lc_buf_free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lc_converter_t plain = {LC_CONV_JSON, 0}, schemas = {LC_CONV_JSON, 1},
                                string = {LC_CONV_STRING, 0}, bytes = {LC_CONV_BYTES, 0};
    char err[1024];

    L = fuzz_state();
    int syntax_plain = decode_with(&plain, data, size);
    int syntax_env = decode_with(&schemas, data, size);
    decode_with(&string, data, size);
    decode_with(&bytes, data, size);

    err[0] = '\0';
    int rc = lc_json_decode(L, (const char *)data, size, err, sizeof(err));
    FUZZ_ASSERT(lua_gettop(L) == (rc == 0), "lc_json_decode left %d values (rc %d)", lua_gettop(L),
                rc);
    int syntax_json = rc != 0 && strncmp(err, "invalid JSON at line ", 21) == 0;

    /* The same text is syntactically bad for all three, or for none (an empty text is a
     * Kafka null for the converters, and an error for lc_json_decode). */
    if (size > 0) {
        FUZZ_ASSERT(syntax_plain == syntax_json, "syntax error: converter %d, lc_json_decode %d",
                    syntax_plain, syntax_json);
        FUZZ_ASSERT(syntax_plain == syntax_env, "syntax error: schemaless %d, envelope %d",
                    syntax_plain, syntax_env);
    }
    lua_settop(L, 0);
    check_canon(data, size);
    lc_lua_close(L);
    return 0;
}
