/* test_codec: the converters against Kafka Connect's own output (texts taken from what
 * JsonConverter writes), the Lua value model, error texts and Lua stack balance. */
#include "lc_test.h"
#include "codec.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>

static lc_converter_t json_plain = {LC_CONV_JSON, 0};
static lc_converter_t json_schemas = {LC_CONV_JSON, 1};
static lc_converter_t string_conv = {LC_CONV_STRING, 0};
static lc_converter_t bytes_conv = {LC_CONV_BYTES, 0};

/* A fresh state as the host makes one, plus test globals: null (connect.null) and
 * array(t) (tags t with the array metatable). */
static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();
    char err[256] = "";

    luaL_openlibs(L);
    if (lc_codec_init(L, err, sizeof err)) fprintf(stderr, "lc_codec_init: %s\n", err);
    lua_pushlightuserdata(L, NULL);
    lua_setglobal(L, "null");
    if (luaL_dostring(L, "ffi = require('ffi')\n"
                         "function array(t)\n"
                         "  return setmetatable(t, debug.getregistry()['luaconnect.array'])\n"
                         "end"))
        fprintf(stderr, "setup: %s\n", lua_tostring(L, -1));
    lua_settop(L, 0);
    return L;
}

/* Pushes the value of a Lua expression (exactly one value). */
static void push_expr(lua_State *L, const char *expr)
{
    char code[4096];
    int top = lua_gettop(L);

    snprintf(code, sizeof code, "return %s", expr);
    if (luaL_dostring(L, code)) {
        fprintf(stderr, "bad test expression %s: %s\n", expr, lua_tostring(L, -1));
        lua_settop(L, top);
        lua_pushnil(L);
    }
    lua_settop(L, top + 1);
}

/* Decodes in with c, encodes the result again and compares with want (NULL: in itself).
 * Returns 1 when equal and the stack is balanced. */
static int roundtrip_is(lua_State *L, const lc_converter_t *c, const char *in, const char *want)
{
    char err[512] = "";
    lc_buf_t b = {0};
    int is_null = 0, ok = 1, top = lua_gettop(L);

    if (!want) want = in;
    if (lc_conv_to_lua(c, L, in, strlen(in), err, sizeof err)) {
        fprintf(stderr, "decode %s: %s\n", in, err);
        return 0;
    }
    if (lua_gettop(L) != top + 2) {
        fprintf(stderr, "decode %s: stack %d, want %d\n", in, lua_gettop(L), top + 2);
        ok = 0;
    }
    if (lc_conv_from_lua(c, L, top + 1, top + 2, &b, &is_null, err, sizeof err)) {
        fprintf(stderr, "encode %s: %s\n", in, err);
        ok = 0;
    } else if (is_null || b.len != strlen(want) || memcmp(b.data, want, b.len) != 0) {
        fprintf(stderr, "round trip of %s\n  got:  %.*s%s\n  want: %s\n", in, (int)b.len,
                b.data ? b.data : "", is_null ? " (null)" : "", want);
        ok = 0;
    }
    if (lua_gettop(L) != top + 2) {
        fprintf(stderr, "encode %s: stack %d, want %d\n", in, lua_gettop(L), top + 2);
        ok = 0;
    }
    lua_settop(L, top);
    lc_buf_free(&b);
    return ok;
}

/* Encodes the Lua expression value (schema: Lua expression or NULL) with c into got (NUL
 * terminated) or its error into err. Returns lc_conv_from_lua's result; -2 when the stack
 * was left unbalanced. */
static int encode_expr(lua_State *L, const lc_converter_t *c, const char *value, const char *schema,
                       char *got, size_t got_size, char *err, int *is_null)
{
    lc_buf_t b = {0};
    int rc, top = lua_gettop(L), n = 0;

    err[0] = got[0] = '\0';
    push_expr(L, value);
    if (schema) push_expr(L, schema);
    rc = lc_conv_from_lua(c, L, schema ? -2 : -1, schema ? -1 : 0, &b, is_null, err, 512);
    if (rc == 0) n = snprintf(got, got_size, "%.*s", (int)b.len, b.data ? b.data : "");
    if (n >= (int)got_size) fprintf(stderr, "encode_expr: output truncated\n");
    if (lua_gettop(L) != top + (schema ? 2 : 1)) rc = -2;
    lua_settop(L, top);
    lc_buf_free(&b);
    return rc;
}

/* Runs a Lua chunk that returns true when its checks hold. */
static int lua_check(lua_State *L, const char *code)
{
    int top = lua_gettop(L), ok;

    if (luaL_dostring(L, code)) {
        fprintf(stderr, "lua check failed: %s\n", lua_tostring(L, -1));
        lua_settop(L, top);
        return 0;
    }
    ok = lua_toboolean(L, -1);
    lua_settop(L, top);
    return ok;
}

TEST(converter_init_names)
{
    lc_converter_t c;
    char err[512] = "";

    CHECK_INT(
        lc_converter_init(&c, "org.apache.kafka.connect.json.JsonConverter", NULL, err, sizeof err),
        0);
    CHECK_INT(c.kind, LC_CONV_JSON);
    CHECK_INT(c.schemas_enable, 1); /* Kafka Connect's default */
    CHECK_INT(lc_converter_init(&c, "JsonConverter", "false", err, sizeof err), 0);
    CHECK_INT(c.schemas_enable, 0);
    CHECK_INT(lc_converter_init(&c, " JsonConverter ", " TRUE ", err, sizeof err), 0);
    CHECK_INT(c.schemas_enable, 1);
    CHECK_INT(lc_converter_init(&c, "org.apache.kafka.connect.storage.StringConverter", NULL, err,
                                sizeof err),
              0);
    CHECK_INT(c.kind, LC_CONV_STRING);
    CHECK_INT(lc_converter_init(&c, "StringConverter", NULL, err, sizeof err), 0);
    CHECK_INT(c.kind, LC_CONV_STRING);
    CHECK_INT(lc_converter_init(&c, "org.apache.kafka.connect.converters.ByteArrayConverter",
                                "false", err, sizeof err),
              0);
    CHECK_INT(c.kind, LC_CONV_BYTES);
    CHECK_INT(lc_converter_init(&c, "ByteArrayConverter", NULL, err, sizeof err), 0);
    CHECK_INT(c.kind, LC_CONV_BYTES);

    CHECK_INT(lc_converter_init(&c, "JsonConverter", "yes", err, sizeof err), -1);
    CHECK_STR(err, "invalid value 'yes' for schemas.enable (expected true or false)");
    CHECK_INT(
        lc_converter_init(&c, "io.confluent.connect.avro.AvroConverter", NULL, err, sizeof err),
        -1);
    CHECK_STR(err, "unknown converter class 'io.confluent.connect.avro.AvroConverter' (known: "
                   "org.apache.kafka.connect.json.JsonConverter, "
                   "org.apache.kafka.connect.storage.StringConverter, "
                   "org.apache.kafka.connect.converters.ByteArrayConverter; the short names "
                   "JsonConverter, StringConverter, ByteArrayConverter work too)");
}

TEST(plain_roundtrips)
{
    lua_State *L = new_state();
    static const char *const same[] = {
        "{\"a\":1}",
        "[]",
        "{}",
        "[1,2,3]",
        "[[],{},[{}],[[]]]",
        "{\"a\":{\"b\":[1,{\"c\":null}]}}",
        "{\"e\":[]}",
        "[null,true,false,null]",
        "\"q\\\"b\\\\s\"",
        "\"\\u0000\\u0001\\b\\f\\n\\r\\t\\u001F\x7F\"",
        "\"h\xC3\xA9llo \xE2\x82\xAC\"",
        "\"\xF0\x9F\x98\x80 emoji\"",
        "\"a/b\"",
        "9007199254740993",
        "-9007199254740993",
        "-9223372036854775808",
        "9223372036854775807",
        "9007199254740992",
        "0",
        "-42",
        "1.0",
        "-0.0",
        "1.5",
        "1.0E300",
        "0.1",
        "[1.0,2,2.5]",
        "1.0E-5",
        "0.001",
        "123456.789",
        "9999999.0",
        "1.0E7",
        "4.9E-324",
        "9.9E-324",
        "[1.4E-45,3.4028235E38]",
        "1.7976931348623157E308",
        "0.30000000000000004",
        "{\"n\":-1.25E-10}",
    };
    size_t i;

    for (i = 0; i < sizeof same / sizeof same[0]; i++)
        CHECK(roundtrip_is(L, &json_plain, same[i], NULL));
    /* Kafka Connect's spelling wins where the input had another. */
    CHECK(roundtrip_is(L, &json_plain, "1e300", "1.0E300"));
    CHECK(roundtrip_is(L, &json_plain, "1E2", "100.0"));
    CHECK(roundtrip_is(L, &json_plain, "0.000123", "1.23E-4"));
    CHECK(roundtrip_is(L, &json_plain, "\"\\u00e9\\/\"", "\"\xC3\xA9/\""));
    CHECK(roundtrip_is(L, &json_plain, " [ 1 , {\"a\" : 2} ] ", "[1,{\"a\":2}]"));
    CHECK(roundtrip_is(L, &json_plain, "\"\\ud83d\\ude00\"", "\"\xF0\x9F\x98\x80\""));
    /* The same without schemas through the envelope converter. */
    CHECK(roundtrip_is(L, &json_schemas, "{\"schema\":null,\"payload\":[1,\"x\",{\"a\":1.0}]}",
                       NULL));
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

TEST(plain_null_and_empty)
{
    lua_State *L = new_state();
    char err[512] = "";
    lc_buf_t b = {0};
    int is_null = 0;

    CHECK_INT(lc_conv_to_lua(&json_plain, L, "null", 4, err, sizeof err), 0);
    CHECK_INT(lua_gettop(L), 2);
    CHECK(lua_isnil(L, 1) && lua_isnil(L, 2));
    CHECK_INT(lc_conv_from_lua(&json_plain, L, 1, 2, &b, &is_null, err, sizeof err), 0);
    CHECK_INT(is_null, 1);
    CHECK_INT(b.len, 0);
    lua_settop(L, 0);

    /* A Kafka null and empty bytes are both nil. */
    CHECK_INT(lc_conv_to_lua(&json_plain, L, NULL, 0, err, sizeof err), 0);
    CHECK(lua_gettop(L) == 2 && lua_isnil(L, 1) && lua_isnil(L, 2));
    lua_settop(L, 0);
    CHECK_INT(lc_conv_to_lua(&json_schemas, L, "", 0, err, sizeof err), 0);
    CHECK(lua_gettop(L) == 2 && lua_isnil(L, 1) && lua_isnil(L, 2));
    lua_settop(L, 0);

    /* {"schema":null,"payload":null} is (nil, nil), which Kafka Connect writes as null. */
    CHECK_INT(
        lc_conv_to_lua(&json_schemas, L, "{\"schema\":null,\"payload\":null}", 30, err, sizeof err),
        0);
    CHECK(lua_gettop(L) == 2 && lua_isnil(L, 1) && lua_isnil(L, 2));
    CHECK_INT(lc_conv_from_lua(&json_schemas, L, 1, 2, &b, &is_null, err, sizeof err), 0);
    CHECK_INT(is_null, 1);
    lua_settop(L, 0);

    /* connect.null at the top is a JSON null, not a tombstone. */
    lua_pushlightuserdata(L, NULL);
    CHECK_INT(lc_conv_from_lua(&json_plain, L, 1, 0, &b, &is_null, err, sizeof err), 0);
    CHECK_INT(is_null, 0);
    CHECK(b.len == 4 && memcmp(b.data, "null", 4) == 0);
    CHECK_INT(lc_conv_from_lua(&json_schemas, L, -1, 0, &b, &is_null, err, sizeof err), 0);
    CHECK(b.len == 30 && memcmp(b.data, "{\"schema\":null,\"payload\":null}", 30) == 0);
    CHECK_INT(lua_gettop(L), 1);
    lua_settop(L, 0);
    lc_buf_free(&b);
    lua_close(L);
}

TEST(plain_objects_sorted)
{
    lua_State *L = new_state();
    char err[512] = "";
    const char *in = "{\"b\":1,\"a\":[1,{\"d\":true,\"c\":\"x\"}],\"c\":null,\"aa\":{}}";
    const char *want = "{\"a\":[1,{\"c\":\"x\",\"d\":true}],\"aa\":{},\"b\":1,\"c\":null}";
    lc_buf_t b = {0}, b2 = {0};
    int is_null;

    CHECK_INT(lc_json_decode(L, in, strlen(in), err, sizeof err), 0);
    CHECK_INT(lua_gettop(L), 1);
    CHECK_INT(lc_json_encode_sorted(L, 1, &b, err, sizeof err), 0);
    CHECK_INT(b.len, strlen(want));
    CHECK(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0);
    /* Unsorted encoding (lua_next order), decoded again, sorts to the same text. */
    CHECK_INT(lc_conv_from_lua(&json_plain, L, 1, 0, &b2, &is_null, err, sizeof err), 0);
    lua_settop(L, 0);
    CHECK_INT(lc_json_decode(L, b2.data, b2.len, err, sizeof err), 0);
    b.len = 0;
    CHECK_INT(lc_json_encode_sorted(L, -1, &b, err, sizeof err), 0);
    CHECK(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0);
    /* Appends, and equal tables give equal text. */
    push_expr(L, "{z={y=1,x=2},a='b'}");
    CHECK_INT(lc_json_encode_sorted(L, -1, &b, err, sizeof err), 0);
    CHECK(b.len == strlen(want) + 27 &&
          memcmp(b.data + strlen(want), "{\"a\":\"b\",\"z\":{\"x\":2,\"y\":1}}", 27) == 0);
    lua_pop(L, 1);
    push_expr(L, "{[1.5]='x'}");
    CHECK_INT(lc_json_encode_sorted(L, -1, &b, err, sizeof err), -1);
    CHECK_STR(err, "value: cannot sort an object with a number key");
    CHECK_INT(lua_gettop(L), 2);
    lua_settop(L, 0);
    lc_buf_free(&b);
    lc_buf_free(&b2);
    lua_close(L);
}

/* lc_json_encode_sorted of t (a Lua expression) is want (NULL: fails with error err_want). */
static int sorted_of(lua_State *L, const char *t, const char *want, const char *err_want)
{
    lc_buf_t b = {0};
    char err[512] = "";
    int rc, ok;

    push_expr(L, t);
    rc = lc_json_encode_sorted(L, -1, &b, err, sizeof err);
    ok = want ? rc == 0 && b.len == strlen(want) && memcmp(b.data, want, b.len) == 0
              : rc == -1 && strcmp(err, err_want) == 0 && b.len == 0;
    if (!ok) fprintf(stderr, "sorted %s\n  got:  %d %.*s %s\n", t, rc, (int)b.len, b.data, err);
    ok = ok && lua_gettop(L) == 1;
    lua_settop(L, 0);
    lc_buf_free(&b);
    return ok;
}

/* The shortcuts of the sorted encoder (one-key offsets without the runner, objects of up to
 * 16 keys sorted on the stack) write what the general path writes, errors included. */
TEST(sorted_shortcuts_match_the_general_path)
{
    lua_State *L = new_state();

    CHECK(sorted_of(L, "{position=1234}", "{\"position\":1234}", NULL));
    CHECK(sorted_of(L, "{position=-0.5}", "{\"position\":-0.5}", NULL));
    CHECK(sorted_of(L, "{position=2^53+2}", "{\"position\":9.007199254740994E15}", NULL));
    CHECK(sorted_of(L, "{file='a\"b'}", "{\"file\":\"a\\\"b\"}", NULL));
    CHECK(sorted_of(L, "{['k\\n']=1}", "{\"k\\n\":1}", NULL));
    CHECK(sorted_of(L, "{position=0/0}", "{\"position\":\"NaN\"}", NULL));
    CHECK(sorted_of(L, "{x={}}", "{\"x\":{}}", NULL));
    CHECK(sorted_of(L, "setmetatable({a=1}, {})", "{\"a\":1}", NULL));
    CHECK(sorted_of(L, "{b=1,a=2,c={z=1,y=true},ab='x'}",
                    "{\"a\":2,\"ab\":\"x\",\"b\":1,\"c\":{\"y\":true,\"z\":1}}", NULL));
    CHECK(sorted_of(L, "{b=1,[2]=3}", NULL, "value: cannot sort an object with a number key"));
    /* 17 keys: the general path */
    CHECK(sorted_of(L, "{q=1,p=1,o=1,n=1,m=1,l=1,k=1,j=1,i=1,h=1,g=1,f=1,e=1,d=1,c=1,b=1,a=1}",
                    "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1,"
                    "\"j\":1,\"k\":1,\"l\":1,\"m\":1,\"n\":1,\"o\":1,\"p\":1,\"q\":1}",
                    NULL));
    lua_close(L);
}

/* lc_json_canon(in) against what the sink would write otherwise: JsonConverter's schemaless
 * decode, then lc_json_encode_sorted. Returns 1 when canon writes that line, or declines
 * (want_decline) and appends nothing. */
static int canon_agrees(lua_State *L, const char *in, size_t n, int want_decline)
{
    char err[512] = "";
    lc_buf_t want = {0}, got = {0};
    int ok = 1, rc, top = lua_gettop(L);

    lc_buf_append(&got, "x", 1); /* appends after what is there */
    rc = lc_json_canon(in, n, &got);
    if (want_decline) {
        ok = rc == 0 && got.len == 1;
    } else if (rc != 1) {
        ok = 0;
    } else if (lc_conv_to_lua(&json_plain, L, in, n, err, sizeof err) ||
               lc_json_encode_sorted(L, top + 1, &want, err, sizeof err)) {
        ok = 0; /* canon wrote a line for a text the sink cannot */
    } else {
        ok = got.len == want.len + 1 && memcmp(got.data + 1, want.data, want.len) == 0;
        /* the line (a lazy record's value is decoded from it) decodes to the same value */
        lua_settop(L, top);
        want.len = 0;
        ok = ok && lc_conv_to_lua(&json_plain, L, got.data + 1, got.len - 1, err, sizeof err) == 0 &&
             lc_json_encode_sorted(L, top + 1, &want, err, sizeof err) == 0 &&
             got.len == want.len + 1 && memcmp(got.data + 1, want.data, want.len) == 0;
    }
    if (!ok)
        fprintf(stderr, "canon %.*s\n  rc %d got %.*s\n  want %.*s %s\n", (int)n, in, rc,
                (int)got.len, got.data, (int)want.len, want.data ? want.data : "", err);
    lua_settop(L, top);
    lc_buf_free(&want);
    lc_buf_free(&got);
    return ok;
}

#define CANON_IS(L, s) canon_agrees((L), (s), strlen(s), 0)
#define CANON_DECLINES(L, s) canon_agrees((L), (s), strlen(s), 1)

/* A random JSON text from a small grammar, rich in what canon must get right: key order,
 * number spellings, escapes, non-ASCII, empty containers, nesting, blanks. */
static unsigned canon_rng = 12345;
static unsigned canon_rand(unsigned n)
{
    canon_rng = canon_rng * 1103515245u + 12345u;
    return (canon_rng >> 16) % n;
}

static void gen_json(lc_buf_t *b, int depth, int object)
{
    static const char *const keys[] = {"a", "b", "ab", "B", "line", "id", "\xc3\xa9t\xc3\xa9",
                                       "a\\u0062", "", "zz", "a ", "_", "x1", "x10", "x2"};
    static const char *const scalars[] = {
        "0", "-0", "1", "-1", "42", "9007199254740992", "9007199254740993", "-9007199254740993",
        "9223372036854775807", "-9223372036854775808", "12345678901234567", "1.5", "-0.25",
        "1.0", "-0.0", "1e2", "1E-2", "2.5e+3", "0.1", "3.14159265358979", "1e300", "1e400",
        "123456789012.345678", "true", "false", "null", "\"\"", "\"x\"", "\"a\\\"b\"",
        "\"\\u00e9\\n\\t\\/\"", "\"\xe2\x82\xac\"", "\"\\ud83d\\ude00\"", "\"\\u0001\"",
        "\"line 1\"", "\"del \x7f\"", "1.7976931348623157e308", "5e-324", "100000000", "1e7", "0.001"};
    unsigned i, n;

    if (object || (depth < 4 && canon_rand(4) == 0)) {
        int obj = object || canon_rand(2);
        n = canon_rand(obj ? 8 : 5);
        lc_buf_append(b, obj ? "{" : "[", 1);
        for (i = 0; i < n; i++) {
            const char *sep = canon_rand(8) ? "," : " , ";
            if (i) lc_buf_append(b, sep, strlen(sep));
            if (obj) {
                const char *k = keys[canon_rand(sizeof keys / sizeof *keys)];
                lc_buf_append(b, "\"", 1);
                lc_buf_append(b, k, strlen(k));
                const char *colon = canon_rand(8) ? "\":" : "\" : ";
                lc_buf_append(b, colon, strlen(colon));
            }
            gen_json(b, depth + 1, 0);
        }
        lc_buf_append(b, obj ? "}" : "]", 1);
        return;
    }
    const char *s = scalars[canon_rand(sizeof scalars / sizeof *scalars)];
    lc_buf_append(b, s, strlen(s));
}

/* lc_json_canon writes byte for byte what decode + lc_json_encode_sorted write, and
 * declines what it does not cover. */
TEST(canon_lines_match_decode_and_encode)
{
    lua_State *L = new_state();
    lc_buf_t b = {0};
    int i, agreed = 0, written = 0;

    CHECK(CANON_IS(L, "{\"b\":1,\"a\":\"x\"}"));
    CHECK(CANON_IS(L, " {\"line\":\"hello\",\"n\":12,\"f\":1.0,\"g\":0.5,\"t\":true,\"z\":null} \n"));
    CHECK(CANON_IS(L, "{\"a\":[1,{\"d\":true,\"c\":\"x\"}],\"c\":null,\"aa\":{},\"e\":[]}"));
    CHECK(CANON_IS(L, "{\"big\":9007199254740993,\"neg\":-9223372036854775808,\"e\":1e2}"));
    CHECK(CANON_IS(L, "{\"s\":\"tab\\there \\u00e9 \\ud83d\\ude00 \\/ \\u0001\"}"));
    CHECK(CANON_IS(L, "{\"ab\":1,\"a\":2,\"a \":3,\"\":4}"));
    CHECK(CANON_IS(L, "{}"));
    CHECK(CANON_DECLINES(L, "[1,2]"));
    CHECK(CANON_DECLINES(L, "\"text\""));
    CHECK(CANON_DECLINES(L, "12"));
    CHECK(CANON_DECLINES(L, "null"));
    CHECK(CANON_DECLINES(L, ""));
    CHECK(CANON_DECLINES(L, "{\"a\":1,\"a\":2}"));
    CHECK(CANON_DECLINES(L, "{\"b\":1,\"a\":{\"x\":1,\"x\":1}}"));
    CHECK(CANON_DECLINES(L, "{\"a\\u0062\":1}"));
    CHECK(CANON_DECLINES(L, "{\"a\":1e400}"));
    CHECK(CANON_DECLINES(L, "{\"a\":1"));
    CHECK(CANON_DECLINES(L, "{\"a\":1} x"));
    CHECK(CANON_DECLINES(L, "{\"a\":01}"));
    CHECK(CANON_DECLINES(L, "{\"a\":\"\x80\"}"));
    CHECK(CANON_DECLINES(L, "{\"a\":99999999999999999999}"));
    /* 70 levels: deeper than canon goes */
    for (i = 0; i < 70; i++)
        lc_buf_append(&b, "{\"a\":", 5);
    lc_buf_append(&b, "1", 1);
    for (i = 0; i < 70; i++)
        lc_buf_append(&b, "}", 1);
    CHECK(canon_agrees(L, b.data, b.len, 1));
    /* generated texts: canon either declines or agrees */
    for (i = 0; i < 20000; i++) {
        lc_buf_t out = {0};
        b.len = 0;
        gen_json(&b, 0, 1);
        int rc = lc_json_canon(b.data, b.len, &out);
        lc_buf_free(&out);
        written += rc == 1;
        if (canon_agrees(L, b.data, b.len, rc == 0)) agreed++;
        else if (i - agreed > 5) break;
    }
    CHECK_INT(agreed, 20000);
    if (written < 4000) fprintf(stderr, "canon wrote %d lines of 20000\n", written);
    CHECK(written >= 4000); /* texts without an escaped or repeated key */
    lc_buf_free(&b);
    lua_close(L);
}

TEST(plain_encode_lua_values)
{
    lua_State *L = new_state();
    char got[1024], err[512];
    int is_null;

    CHECK_INT(encode_expr(L, &json_plain, "{1, 2.5, 'x', true, null}", NULL, got, sizeof got, err,
                          &is_null),
              0);
    CHECK_STR(got, "[1,2.5,\"x\",true,null]");
    CHECK_INT(encode_expr(L, &json_plain, "{}", NULL, got, sizeof got, err, &is_null), 0);
    CHECK_STR(got, "{}");
    CHECK_INT(encode_expr(L, &json_plain, "array{}", NULL, got, sizeof got, err, &is_null), 0);
    CHECK_STR(got, "[]");
    CHECK_INT(encode_expr(L, &json_plain, "{a={}}", NULL, got, sizeof got, err, &is_null), 0);
    CHECK_STR(got, "{\"a\":{}}");
    /* Lua numbers: integral within 2^53 as integers, others as Java doubles. */
    CHECK_INT(encode_expr(L, &json_plain, "{1.0, 2^53, 2^60, 0.1, -0.0, 1e21}", NULL, got,
                          sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "[1,9007199254740992,1.152921504606847E18,0.1,0,1.0E21]");
    CHECK_INT(encode_expr(L, &json_plain,
                          "{ffi.new('int64_t', -5), 0ULL - 1, "
                          "ffi.new('double', 3), ffi.new('float', 0.5), ffi.new('int32_t', 7)}",
                          NULL, got, sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "[-5,18446744073709551615,3.0,0.5,7]");
    /* Control characters, quotes, backslashes; invalid UTF-8 becomes U+FFFD. */
    CHECK_INT(encode_expr(L, &json_plain, "'\\1\\b\\f\\n\\r\\t\\31\"\\\\/\\127'", NULL, got,
                          sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "\"\\u0001\\b\\f\\n\\r\\t\\u001F\\\"\\\\/\x7F\"");
    CHECK_INT(encode_expr(L, &json_plain, "'a\\255b\\226\\130|\\237\\160\\128|\\192\\175'", NULL,
                          got, sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "\"a\xEF\xBF\xBD"
                   "b\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\"");
    /* Non-string keys: Kafka Connect's map-as-pairs form. */
    CHECK_INT(encode_expr(L, &json_plain, "{[7]='x'}", NULL, got, sizeof got, err, &is_null), 0);
    CHECK_STR(got, "[[7,\"x\"]]");
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

TEST(plain_encode_errors)
{
    lua_State *L = new_state();
    char got[1024], err[512];
    int is_null;

    CHECK_INT(encode_expr(L, &json_plain, "{a={b={1,2,function() end}}}", NULL, got, sizeof got,
                          err, &is_null),
              -1);
    CHECK_STR(err, "value.a.b[3]: cannot encode a function");
    CHECK_INT(encode_expr(L, &json_plain, "{a=coroutine.create(print)}", NULL, got, sizeof got, err,
                          &is_null),
              -1);
    CHECK_STR(err, "value.a: cannot encode a thread");
    CHECK_INT(encode_expr(L, &json_plain, "{1, 2, x=3}", NULL, got, sizeof got, err, &is_null), -1);
    CHECK_STR(err, "value: cannot encode a table with both array items and other keys (or "
                   "holes) as an array");
    CHECK_INT(
        encode_expr(L, &json_plain, "{a=ffi.new('char[2]')}", NULL, got, sizeof got, err, &is_null),
        -1);
    CHECK_STR(err, "value.a: cannot encode a cdata that is not a number");
    CHECK_INT(encode_expr(L, &json_plain, "(function() local t = {} t.self = t return t end)()",
                          NULL, got, sizeof got, err, &is_null),
              -1);
    CHECK_STR(err, "value: nesting too deep (more than 1000 levels)");
    CHECK_INT(encode_expr(L, &json_schemas, "{f=print}", NULL, got, sizeof got, err, &is_null), -1);
    CHECK_STR(err, "value.f: cannot encode a function");
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

TEST(decode_errors)
{
    lua_State *L = new_state();
    char err[512] = "", *deep;
    static const char envelope_msg[] =
        "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may "
        "not contain additional fields. If you are trying to deserialize plain JSON data, set "
        "schemas.enable=false in your converter configuration.";
    static const char *const not_envelopes[] = {"{\"a\":1}",
                                                "[1]",
                                                "null",
                                                "\"x\"",
                                                "{\"schema\":null}",
                                                "{\"schema\":null,\"payload\":1,\"extra\":2}",
                                                "{\"schema\":null,\"pay\":1}"};
    size_t i;

    CHECK_INT(lc_conv_to_lua(&json_plain, L, "{\"a\":", 5, err, sizeof err), -1);
    CHECK_STR(err, "invalid JSON at line 1 column 5: unexpected end of input");
    CHECK_INT(lua_gettop(L), 0);
    CHECK_INT(lc_conv_to_lua(&json_plain, L, "{\"a\":1}\n{", 9, err, sizeof err), -1);
    CHECK(strncmp(err, "invalid JSON at line 2 column 1: ", 33) == 0);
    CHECK_INT(lc_conv_to_lua(&json_plain, L, "\"\xff\"", 3, err, sizeof err), -1);
    CHECK(strncmp(err, "invalid JSON at line 1 column ", 30) == 0);
    CHECK_INT(lua_gettop(L), 0);

    for (i = 0; i < sizeof not_envelopes / sizeof not_envelopes[0]; i++) {
        err[0] = '\0';
        CHECK_INT(lc_conv_to_lua(&json_schemas, L, not_envelopes[i], strlen(not_envelopes[i]), err,
                                 sizeof err),
                  -1);
        CHECK_STR(err, envelope_msg);
        CHECK_INT(lua_gettop(L), 0);
    }

    /* 1001 nested arrays. */
    deep = malloc(2003);
    memset(deep, '[', 1001);
    memset(deep + 1001, ']', 1001);
    deep[2002] = '\0';
    CHECK_INT(lc_conv_to_lua(&json_plain, L, deep, 2002, err, sizeof err), -1);
    CHECK_STR(err, "value: nesting too deep (more than 1000 levels)");
    CHECK_INT(lua_gettop(L), 0);
    /* 1000 levels are fine. */
    CHECK_INT(lc_conv_to_lua(&json_plain, L, deep + 1, 2000, err, sizeof err), 0);
    CHECK_INT(lua_gettop(L), 2);
    lua_settop(L, 0);
    free(deep);

    CHECK_INT(lc_json_decode(L, "[1,", 3, err, sizeof err), -1);
    CHECK(strncmp(err, "invalid JSON at line 1 column 3: ", 33) == 0);
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

TEST(lua_side_numbers)
{
    lua_State *L = new_state();
    char err[512] = "";

    CHECK_INT(lc_json_decode(L, "9007199254740993", 16, err, sizeof err), 0);
    lua_setglobal(L, "big");
    CHECK_INT(lc_json_decode(L, "-9223372036854775808", 20, err, sizeof err), 0);
    lua_setglobal(L, "min");
    CHECK_INT(lc_json_decode(L, "1.0", 3, err, sizeof err), 0);
    lua_setglobal(L, "one");
    CHECK_INT(lc_json_decode(L, "[9007199254740992, 1.5, []]", 27, err, sizeof err), 0);
    lua_setglobal(L, "arr");
    CHECK_INT(lua_gettop(L), 0);
    CHECK(lua_check(L, "local ffi = require('ffi')\n"
                       "assert(type(big) == 'cdata' and ffi.istype('int64_t', big))\n"
                       "assert(big == 9007199254740993LL)\n"
                       "assert(min == -9223372036854775807LL - 1)\n"
                       "assert(type(one) == 'cdata' and one + 1 == 2)\n"
                       "assert(one + 0.5 == 1.5 and one == 1 and tostring(one) == '1.0')\n"
                       "assert(ffi.istype('lc_float_t', one))\n"
                       "assert(type(arr[1]) == 'number' and arr[1] == 2^53)\n"
                       "assert(arr[2] == 1.5)\n"
                       "local mt = debug.getregistry()['luaconnect.array']\n"
                       "assert(getmetatable(arr) == mt and getmetatable(arr[3]) == mt)\n"
                       "assert(#arr[3] == 0)\n"
                       "return true"));
    lua_close(L);
}

static const char struct_schema[] = "{type='struct', name='com.example.Order', version=1, fields={"
                                    " {field='id', type='int32'},"
                                    " {field='big', type='int64'},"
                                    " {field='score', type='float64'},"
                                    " {field='ok', type='boolean'},"
                                    " {field='name', type='string'},"
                                    " {field='note', type='string', optional=true},"
                                    " {field='data', type='bytes'}}}";

static const char struct_envelope[] =
    "{\"schema\":{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"big\"},"
    "{\"type\":\"double\",\"optional\":false,\"field\":\"score\"},"
    "{\"type\":\"boolean\",\"optional\":false,\"field\":\"ok\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"note\"},"
    "{\"type\":\"bytes\",\"optional\":false,\"field\":\"data\"}],"
    "\"optional\":false,\"name\":\"com.example.Order\",\"version\":1},"
    "\"payload\":{\"id\":42,\"big\":9007199254740993,\"score\":1.0,\"ok\":true,"
    "\"name\":\"x\\\"y\",\"note\":null,\"data\":\"AAEC/w==\"}}";

TEST(envelope_exact_text)
{
    lua_State *L = new_state();
    char got[4096], err[512];
    int is_null;

    CHECK_INT(encode_expr(L, &json_schemas, "'hello'", "{type='string', optional=false}", got,
                          sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"hello\"}");

    CHECK_INT(encode_expr(L, &json_schemas,
                          "{id=42, big=9007199254740993LL, score=1, ok=true, name='x\"y',"
                          " data='\\0\\1\\2\\255'}",
                          struct_schema, got, sizeof got, err, &is_null),
              0);
    CHECK_STR(got, struct_envelope);

    CHECK_INT(encode_expr(L, &json_schemas, "{1,2,3}", "{type='array', items={type='int32'}}", got,
                          sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "{\"schema\":{\"type\":\"array\",\"items\":{\"type\":\"int32\",\"optional\":"
                   "false},\"optional\":false},\"payload\":[1,2,3]}");
    CHECK_INT(encode_expr(L, &json_schemas, "{}", "{type='array', items={type='int32'}}", got,
                          sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "{\"schema\":{\"type\":\"array\",\"items\":{\"type\":\"int32\",\"optional\":"
                   "false},\"optional\":false},\"payload\":[]}");

    CHECK_INT(encode_expr(L, &json_schemas, "{a=1}",
                          "{type='map', keys={type='string'}, values={type='int64'}}", got,
                          sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "{\"schema\":{\"type\":\"map\",\"keys\":{\"type\":\"string\",\"optional\":"
                   "false},\"values\":{\"type\":\"int64\",\"optional\":false},\"optional\":"
                   "false},\"payload\":{\"a\":1}}");
    CHECK_INT(encode_expr(L, &json_schemas, "{[7]='seven'}",
                          "{type='map', keys={type='int32'}, values={type='string'}}", got,
                          sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "{\"schema\":{\"type\":\"map\",\"keys\":{\"type\":\"int32\",\"optional\":"
                   "false},\"values\":{\"type\":\"string\",\"optional\":false},\"optional\":"
                   "false},\"payload\":[[7,\"seven\"]]}");

    /* Every schema attribute, in asJsonSchema's order; a null value takes the default. */
    CHECK_INT(encode_expr(L, &json_schemas, "null",
                          "{type='int32', optional=true, name='n', version=2, doc='d',"
                          " parameters={b='2', a='1'}, default=5}",
                          got, sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "{\"schema\":{\"type\":\"int32\",\"optional\":true,\"name\":\"n\","
                   "\"version\":2,\"doc\":\"d\",\"parameters\":{\"a\":\"1\",\"b\":\"2\"},"
                   "\"default\":5},\"payload\":5}");
    CHECK_INT(encode_expr(L, &json_schemas, "null", "{type='string', optional=true}", got,
                          sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "{\"schema\":{\"type\":\"string\",\"optional\":true},\"payload\":null}");
    /* A nil value is a tombstone even with a schema. */
    CHECK_INT(encode_expr(L, &json_schemas, "nil", "{type='string', optional=true}", got,
                          sizeof got, err, &is_null),
              0);
    CHECK_INT(is_null, 1);

    /* Floats as Jackson writes Float and Double; ints from doubles and int64 cdata. */
    CHECK_INT(encode_expr(L, &json_plain, "{a=0.1, b=0.1, c=5, d=1e-7, e=ffi.new('int64_t', 3)}",
                          "{type='struct', fields={{field='a', type='float'},"
                          " {field='b', type='double'}, {field='c', type='float32'},"
                          " {field='d', type='double'}, {field='e', type='int8'}}}",
                          got, sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "{\"a\":0.1,\"b\":0.1,\"c\":5.0,\"d\":1.0E-7,\"e\":3}");
    /* schemas.enable=false with a schema: the payload alone, still validated. */
    CHECK_INT(encode_expr(L, &json_plain, "{id=1}",
                          "{type='struct', fields={{field='id', type='int64'}}}", got, sizeof got,
                          err, &is_null),
              0);
    CHECK_STR(got, "{\"id\":1}");
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

TEST(envelope_decode)
{
    lua_State *L = new_state();
    char err[512] = "";

    CHECK_INT(
        lc_conv_to_lua(&json_schemas, L, struct_envelope, strlen(struct_envelope), err, sizeof err),
        0);
    CHECK_INT(lua_gettop(L), 2);
    lua_setglobal(L, "schema");
    lua_setglobal(L, "value");
    CHECK(lua_check(L, "local ffi = require('ffi')\n"
                       "assert(value.id == 42 and type(value.id) == 'number')\n"
                       "assert(ffi.istype('int64_t', value.big) and "
                       "value.big == 9007199254740993LL)\n"
                       "assert(type(value.score) == 'number' and value.score == 1)\n"
                       "assert(value.ok == true and value.name == 'x\"y')\n"
                       "assert(value.note == null and value.data == '\\0\\1\\2\\255')\n"
                       "assert(schema.type == 'struct' and schema.optional == false)\n"
                       "assert(schema.name == 'com.example.Order' and schema.version == 1)\n"
                       "assert(#schema.fields == 7 and schema.fields[1].field == 'id')\n"
                       "assert(schema.fields[3].type == 'double')\n"
                       "assert(schema.fields[6].field == 'note' and schema.fields[6].optional)\n"
                       "return true"));
    /* Decoded value and schema write back the same bytes. */
    CHECK(roundtrip_is(L, &json_schemas, struct_envelope, NULL));
    CHECK(roundtrip_is(L, &json_schemas,
                       "{\"schema\":{\"type\":\"map\",\"keys\":{\"type\":\"int32\",\"optional\":"
                       "false},\"values\":{\"type\":\"string\",\"optional\":false},\"optional\":"
                       "false},\"payload\":[[7,\"seven\"]]}",
                       NULL));
    CHECK(roundtrip_is(L, &json_schemas,
                       "{\"schema\":{\"type\":\"array\",\"items\":{\"type\":\"float\",\"optional\":"
                       "true},\"optional\":false,\"doc\":\"d\",\"parameters\":{\"a\":\"1\","
                       "\"b\":\"2\"}},\"payload\":[1.5,null,2.0]}",
                       NULL));
    CHECK(roundtrip_is(L, &json_schemas,
                       "{\"schema\":{\"type\":\"int64\",\"optional\":false,\"name\":"
                       "\"org.apache.kafka.connect.data.Timestamp\",\"version\":1},"
                       "\"payload\":1700000000000}",
                       NULL));
    /* Key order in the input does not matter; Kafka's order comes out. */
    CHECK(roundtrip_is(L, &json_schemas,
                       "{\"payload\":\"x\",\"schema\":{\"optional\":true,\"type\":\"string\"}}",
                       "{\"schema\":{\"type\":\"string\",\"optional\":true},\"payload\":\"x\"}"));

    /* Defaults fill nulls and missing fields, as Kafka Connect does. */
    lua_settop(L, 0);
    {
        const char *in = "{\"schema\":{\"type\":\"struct\",\"fields\":["
                         "{\"type\":\"int32\",\"optional\":true,\"default\":7,\"field\":\"a\"},"
                         "{\"type\":\"string\",\"optional\":true,\"field\":\"b\"},"
                         "{\"type\":\"bytes\",\"optional\":false,\"default\":\"AQ==\","
                         "\"field\":\"c\"}],\"optional\":false},\"payload\":{\"a\":null}}";
        CHECK_INT(lc_conv_to_lua(&json_schemas, L, in, strlen(in), err, sizeof err), 0);
        CHECK_INT(lua_gettop(L), 2);
        lua_setglobal(L, "schema");
        lua_setglobal(L, "value");
        CHECK(lua_check(L, "return value.a == 7 and value.b == null and value.c == '\\1' "
                           "and schema.fields[1].default == 7 "
                           "and schema.fields[3].default == '\\1'"));
    }
    /* Map with string keys, several entries. */
    {
        const char *in = "{\"schema\":{\"type\":\"map\",\"keys\":{\"type\":\"string\"},"
                         "\"values\":{\"type\":\"int64\",\"optional\":true}},"
                         "\"payload\":{\"a\":1,\"b\":null,\"c\":-3}}";
        CHECK_INT(lc_conv_to_lua(&json_schemas, L, in, strlen(in), err, sizeof err), 0);
        lua_setglobal(L, "schema");
        lua_setglobal(L, "value");
        CHECK(lua_check(L, "return value.a == 1 and value.b == null and value.c == -3 "
                           "and schema.keys.type == 'string' and schema.optional == false"));
    }
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

TEST(envelope_decode_errors)
{
    lua_State *L = new_state();
    char err[512] = "";
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"{\"schema\":{\"type\":\"int32\",\"optional\":false},\"payload\":\"x\"}",
         "payload: expected int32, got string"},
        {"{\"schema\":{\"type\":\"int8\"},\"payload\":300}",
         "payload: 300 is out of range for int8"},
        {"{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,"
         "\"field\":\"id\"}],\"optional\":false},\"payload\":{}}",
         "payload.id: invalid null value for required int32 field"},
        {"{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"array\",\"items\":{\"type\":"
         "\"boolean\"},\"field\":\"l\"}]},\"payload\":{\"l\":[true,1]}}",
         "payload.l[2]: expected boolean, got number"},
        {"{\"schema\":{\"type\":\"bytes\"},\"payload\":\"@@@@\"}",
         "payload: invalid base64 in bytes value"},
        {"{\"schema\":{\"type\":\"uuid\"},\"payload\":1}", "schema: unknown schema type 'uuid'"},
        {"{\"schema\":{\"optional\":true},\"payload\":1}",
         "schema: schema must contain a \"type\" string"},
        {"{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\"},{\"type\":\"x\"}]},"
         "\"payload\":{}}",
         "schema.fields[1]: struct field has no \"field\" name"},
        {"{\"schema\":{\"type\":\"array\"},\"payload\":[]}",
         "schema: array schema has no \"items\" schema"},
        {"{\"schema\":{\"type\":\"map\",\"keys\":{\"type\":\"int32\"},\"values\":{\"type\":"
         "\"int32\"}},\"payload\":{\"a\":1}}",
         "payload: a map with int32 keys must be a JSON array of [key, value] pairs, got object"},
        {"{\"schema\":{\"type\":\"string\",\"parameters\":{\"a\":1}},\"payload\":\"\"}",
         "schema: schema parameters must have string values ('a' is number)"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        CHECK_INT(
            lc_conv_to_lua(&json_schemas, L, cases[i].in, strlen(cases[i].in), err, sizeof err),
            -1);
        CHECK_STR(err, cases[i].want);
        CHECK_INT(lua_gettop(L), 0);
    }
    lua_close(L);
}

TEST(envelope_encode_errors)
{
    lua_State *L = new_state();
    char got[1024], err[512];
    int is_null;
    static const char id_schema[] = "{type='struct', fields={{field='id', type='int32'}}}";

    CHECK_INT(encode_expr(L, &json_schemas, "{}", id_schema, got, sizeof got, err, &is_null), -1);
    CHECK_STR(err, "value.id: null value for a required field that has no default value");
    CHECK_INT(encode_expr(L, &json_schemas, "{id=null}", id_schema, got, sizeof got, err, &is_null),
              -1);
    CHECK_STR(err, "value.id: null value for a required field that has no default value");
    CHECK_INT(encode_expr(L, &json_schemas, "{id='7'}", id_schema, got, sizeof got, err, &is_null),
              -1);
    CHECK_STR(err, "value.id: expected int32, got string");
    CHECK_INT(encode_expr(L, &json_schemas, "{id=1.5}", id_schema, got, sizeof got, err, &is_null),
              -1);
    CHECK_STR(err, "value.id: expected int32, got 1.5");
    CHECK_INT(encode_expr(L, &json_schemas, "{id=2^31}", id_schema, got, sizeof got, err, &is_null),
              -1);
    CHECK_STR(err, "value.id: 2147483648 is out of range for int32");
    CHECK_INT(
        encode_expr(L, &json_schemas, "{id=1, extra=2}", id_schema, got, sizeof got, err, &is_null),
        -1);
    CHECK_STR(err, "value: unknown field 'extra' (not in the struct schema)");
    CHECK_INT(encode_expr(L, &json_schemas, "{x={y={1,'a'}}}",
                          "{type='struct', fields={{field='x', type='struct', fields={"
                          "{field='y', type='array', items={type='int64'}}}}}}",
                          got, sizeof got, err, &is_null),
              -1);
    CHECK_STR(err, "value.x.y[2]: expected int64, got string");
    CHECK_INT(encode_expr(L, &json_schemas, "{m={[1]=2}}",
                          "{type='struct', fields={{field='m', type='map',"
                          " keys={type='string'}, values={type='int32'}}}}",
                          got, sizeof got, err, &is_null),
              -1);
    CHECK_STR(err, "value.m: map key: expected string, got number");
    CHECK_INT(encode_expr(L, &json_schemas, "{i=0/0}",
                          "{type='struct', fields={{field='i', type='int64'}}}", got, sizeof got,
                          err, &is_null),
              -1);
    CHECK_STR(err, "value.i: cannot encode NaN");
    CHECK_INT(encode_expr(L, &json_schemas, "1", "{type='uuid'}", got, sizeof got, err, &is_null),
              -1);
    CHECK_STR(err, "schema: unknown schema type 'uuid'");
    CHECK_INT(encode_expr(L, &json_schemas, "1", "{type='struct', fields={{type='int32'}}}", got,
                          sizeof got, err, &is_null),
              -1);
    CHECK_STR(err, "schema.fields[1]: struct field has no \"field\" name");
    CHECK_INT(
        encode_expr(L, &json_schemas, "{1}", "{type='array'}", got, sizeof got, err, &is_null), -1);
    CHECK_STR(err, "schema: array schema has no \"items\" table");
    CHECK_INT(encode_expr(L, &json_schemas, "{}", "{type='string', parameters={a=1}}", got,
                          sizeof got, err, &is_null),
              -1);
    CHECK_STR(err, "schema.parameters: schema parameters must have string values ('a' is a "
                   "number)");
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

TEST(string_converter)
{
    lua_State *L = new_state();
    char got[256], err[512] = "";
    lc_buf_t b = {0};
    int is_null = 0;
    static const char raw[] = "a\0b\xff\xc3";

    CHECK_INT(lc_conv_to_lua(&string_conv, L, raw, 5, err, sizeof err), 0);
    CHECK_INT(lua_gettop(L), 2);
    CHECK_INT(lua_objlen(L, 1), 5);
    CHECK(lua_type(L, 1) == LUA_TSTRING && memcmp(lua_tostring(L, 1), raw, 5) == 0);
    lua_setglobal(L, "schema");
    CHECK(lua_check(L, "return schema.type == 'string' and schema.optional == true"));
    CHECK_INT(lc_conv_from_lua(&string_conv, L, 1, 0, &b, &is_null, err, sizeof err), 0);
    CHECK(b.len == 5 && memcmp(b.data, raw, 5) == 0 && !is_null);
    lua_settop(L, 0);

    CHECK_INT(lc_conv_to_lua(&string_conv, L, NULL, 0, err, sizeof err), 0);
    CHECK(lua_gettop(L) == 2 && lua_isnil(L, 1) && lua_isnil(L, 2));
    CHECK_INT(lc_conv_from_lua(&string_conv, L, 1, 2, &b, &is_null, err, sizeof err), 0);
    CHECK_INT(is_null, 1);
    lua_settop(L, 0);
    CHECK_INT(lc_conv_to_lua(&string_conv, L, "", 0, err, sizeof err), 0);
    CHECK(lua_type(L, 1) == LUA_TSTRING && lua_objlen(L, 1) == 0);
    lua_settop(L, 0);

    CHECK_INT(encode_expr(L, &string_conv, "42", NULL, got, sizeof got, err, &is_null), 0);
    CHECK_STR(got, "42");
    CHECK_INT(encode_expr(L, &string_conv, "1.5", NULL, got, sizeof got, err, &is_null), 0);
    CHECK_STR(got, "1.5");
    CHECK_INT(encode_expr(L, &string_conv, "true", NULL, got, sizeof got, err, &is_null), 0);
    CHECK_STR(got, "true");
    CHECK_INT(encode_expr(L, &string_conv, "-9223372036854775807LL - 1", NULL, got, sizeof got, err,
                          &is_null),
              0);
    CHECK_STR(got, "-9223372036854775808");
    CHECK_INT(encode_expr(L, &string_conv, "null", NULL, got, sizeof got, err, &is_null), 0);
    CHECK_INT(is_null, 1);
    CHECK_INT(encode_expr(L, &string_conv, "{}", NULL, got, sizeof got, err, &is_null), -1);
    CHECK_STR(err, "value: StringConverter cannot encode a table");
    CHECK_INT(lua_gettop(L), 0);
    lc_buf_free(&b);
    lua_close(L);
}

TEST(bytearray_converter)
{
    lua_State *L = new_state();
    char got[256], err[512] = "";
    lc_buf_t b = {0};
    int is_null = 0;
    static const char raw[] = "\0\x01\xfe\xff\xc0\xaf";

    CHECK_INT(lc_conv_to_lua(&bytes_conv, L, raw, 6, err, sizeof err), 0);
    CHECK_INT(lua_gettop(L), 2);
    CHECK(lua_objlen(L, 1) == 6 && memcmp(lua_tostring(L, 1), raw, 6) == 0);
    lua_setglobal(L, "schema");
    CHECK(lua_check(L, "return schema.type == 'bytes' and schema.optional == true"));
    CHECK_INT(lc_conv_from_lua(&bytes_conv, L, 1, 0, &b, &is_null, err, sizeof err), 0);
    CHECK(b.len == 6 && memcmp(b.data, raw, 6) == 0 && !is_null);
    lua_settop(L, 0);

    /* The bytes feed JsonConverter as base64, as Kafka Connect's pipeline would. */
    CHECK_INT(lc_conv_to_lua(&bytes_conv, L, raw, 6, err, sizeof err), 0);
    CHECK_INT(lc_conv_from_lua(&json_schemas, L, 1, 2, &b, &is_null, err, sizeof err), 0);
    CHECK(b.len == 64 &&
          memcmp(b.data,
                 "{\"schema\":{\"type\":\"bytes\",\"optional\":true},\"payload\":\"AAH+/8Cv\"}",
                 b.len) == 0);
    lua_settop(L, 0);

    CHECK_INT(encode_expr(L, &bytes_conv, "nil", NULL, got, sizeof got, err, &is_null), 0);
    CHECK_INT(is_null, 1);
    CHECK_INT(encode_expr(L, &bytes_conv, "{1}", NULL, got, sizeof got, err, &is_null), -1);
    CHECK_STR(err, "value: ByteArrayConverter needs a string (bytes), got table");
    CHECK_INT(encode_expr(L, &bytes_conv, "12", NULL, got, sizeof got, err, &is_null), -1);
    CHECK_STR(err, "value: ByteArrayConverter needs a string (bytes), got number");
    CHECK_INT(lua_gettop(L), 0);
    lc_buf_free(&b);
    lua_close(L);
}

/* Decodes in with c and returns the error text ("" when it decoded); the stack stays as it
 * was either way. */
static const char *decode_err(lua_State *L, const lc_converter_t *c, const char *in, size_t len)
{
    static char err[512];
    int top = lua_gettop(L);

    err[0] = '\0';
    if (lc_conv_to_lua(c, L, in, len, err, sizeof err) == 0) {
        if (lua_gettop(L) != top + 2) snprintf(err, sizeof err, "stack %d", lua_gettop(L) - top);
        lua_settop(L, top);
        return err;
    }
    if (lua_gettop(L) != top)
        snprintf(err, sizeof err, "stack %d after an error", lua_gettop(L) - top);
    return err;
}

#define DECODE_ERR(L, c, in) decode_err((L), (c), (in), strlen(in))

/* NaN and the infinities as Kafka Connect's JsonConverter writes them (Jackson's
 * QUOTE_NON_NUMERIC_NUMBERS: the strings of Double.toString / Float.toString), with and
 * without a schema; read back with a float or double schema they are the float values again
 * (Connect reads 0.0 there), without a schema they stay strings (as in Connect). */
TEST(nonfinite_floats)
{
    lua_State *L = new_state();
    char got[1024], err[512];
    int is_null;

    /* Encoded: converter, value, schema (or NULL), the text, or NULL and the error. A finite
     * double beyond float's range is still refused; StringConverter writes Double.toString,
     * unquoted. */
    static const char nonfinite_struct[] =
        "{type='struct', fields={{field='d', type='double'}, {field='f', type='float'}, "
        "{field='a', type='array', items={type='float64'}}}}";
    const struct {
        const lc_converter_t *conv;
        const char *value, *schema, *want, *want_err;
    } cases[] = {
        {&json_plain, "{0/0, 1/0, -1/0, 1.5}", NULL, "[\"NaN\",\"Infinity\",\"-Infinity\",1.5]",
         NULL},
        {&json_plain, "{x=fl(1/0)}", NULL, "{\"x\":\"Infinity\"}", NULL},
        {&json_plain, "{y=fl(0/0)}", NULL, "{\"y\":\"NaN\"}", NULL},
        {&json_schemas, "{d=0/0, f=-1/0, a={1/0, 2.5}}", nonfinite_struct,
         "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"double\",\"optional\":"
         "false,\"field\":\"d\"},{\"type\":\"float\",\"optional\":false,\"field\":\"f\"},"
         "{\"type\":\"array\",\"items\":{\"type\":\"double\",\"optional\":false},"
         "\"optional\":false,\"field\":\"a\"}],\"optional\":false},\"payload\":{\"d\":"
         "\"NaN\",\"f\":\"-Infinity\",\"a\":[\"Infinity\",2.5]}}",
         NULL},
        {&json_schemas, "1/0", "{type='float'}",
         "{\"schema\":{\"type\":\"float\",\"optional\":false},\"payload\":\"Infinity\"}", NULL},
        {&json_schemas, "1e300", "{type='float'}", NULL,
         "value: 1.0000000000000001e+300 is out of range for float"},
        {&string_conv, "0/0", NULL, "NaN", NULL},
        {&string_conv, "-1/0", NULL, "-Infinity", NULL},
        {&string_conv, "fl(1/0)", NULL, "Infinity", NULL},
    };
    size_t i;

    CHECK(lua_check(L, "fl = require('luaconnect._float').new return true"));
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = encode_expr(L, cases[i].conv, cases[i].value, cases[i].schema, got, sizeof got,
                             err, &is_null);
        CHECK_INT(rc, cases[i].want ? 0 : -1);
        CHECK_STR(cases[i].want ? got : err, cases[i].want ? cases[i].want : cases[i].want_err);
    }

    /* Back with a schema: the float values; other strings are errors. */
    static const char env[] =
        "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"double\",\"field\":\"d\"},"
        "{\"type\":\"float\",\"field\":\"f\"},{\"type\":\"double\",\"field\":\"g\"},"
        "{\"type\":\"array\",\"items\":{\"type\":\"double\"},\"field\":\"a\"}]},"
        "\"payload\":{\"d\":\"NaN\",\"f\":\"Infinity\",\"g\":\"-Infinity\",\"a\":[\"NaN\",1.5]}}";
    CHECK_INT(lc_conv_to_lua(&json_schemas, L, env, strlen(env), err, sizeof err), 0);
    lua_pop(L, 1);
    lua_setglobal(L, "value");
    CHECK(lua_check(L, "return value.d ~= value.d and value.f == 1/0 and value.g == -1/0 "
                       "and value.a[1] ~= value.a[1] and value.a[2] == 1.5"));
    CHECK_STR(
        DECODE_ERR(L, &json_schemas, "{\"schema\":{\"type\":\"double\"},\"payload\":\"nan\"}"),
        "payload: expected double, got string");
    CHECK_STR(DECODE_ERR(L, &json_schemas, "{\"schema\":{\"type\":\"float\"},\"payload\":\"1.5\"}"),
              "payload: expected float, got string");
    /* Without a schema they are strings, as Connect reads them. */
    CHECK_INT(lc_conv_to_lua(&json_plain, L, "[\"NaN\"]", 7, err, sizeof err), 0);
    lua_pop(L, 1);
    lua_setglobal(L, "value");
    CHECK(lua_check(L, "return value[1] == 'NaN'"));
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

TEST(parser_error_positions)
{
    lua_State *L = new_state();

    /* Columns count characters, lines '\n'; at the end the last character is named. */
    CHECK_STR(DECODE_ERR(L, &json_plain, "[1,]"),
              "invalid JSON at line 1 column 4: unexpected ']', expected a JSON value");
    CHECK_STR(DECODE_ERR(L, &json_plain, "{\n  \"a\": tru\n}"),
              "invalid JSON at line 2 column 11: unexpected byte 0x0A, expected true");
    CHECK_STR(DECODE_ERR(L, &json_plain, "[\"\xC3\xA9\xE2\x82\xAC\", x]"),
              "invalid JSON at line 1 column 8: unexpected 'x', expected a JSON value");
    CHECK_STR(DECODE_ERR(L, &json_plain, "{\"a\" 1}"),
              "invalid JSON at line 1 column 6: unexpected '1', expected ':'");
    CHECK_STR(DECODE_ERR(L, &json_plain, "{\"a\":1,}"),
              "invalid JSON at line 1 column 8: unexpected '}', expected a string key");
    CHECK_STR(DECODE_ERR(L, &json_plain, "{'a':1}"),
              "invalid JSON at line 1 column 2: unexpected ''', expected a string key");
    CHECK_STR(DECODE_ERR(L, &json_plain, "[1 2]"),
              "invalid JSON at line 1 column 4: unexpected '2', expected ',' or ']'");
    CHECK_STR(DECODE_ERR(L, &json_plain, "[1] // no comments"),
              "invalid JSON at line 1 column 5: unexpected '/', expected end of input");
    CHECK_STR(DECODE_ERR(L, &json_plain, "\"abc"),
              "invalid JSON at line 1 column 4: unexpected end of input in a string");
    CHECK_STR(DECODE_ERR(L, &json_plain, "\"a\tb\""),
              "invalid JSON at line 1 column 3: control character 0x09 in string (must be "
              "escaped)");
    CHECK_STR(decode_err(L, &json_plain, "\"a\0b\"", 5),
              "invalid JSON at line 1 column 3: control character 0x00 in string (must be "
              "escaped)");
    CHECK_STR(decode_err(L, &json_plain, "[1]\0", 4),
              "invalid JSON at line 1 column 4: unexpected byte 0x00, expected end of input");
    CHECK_STR(DECODE_ERR(L, &json_plain, "\"\\x\""),
              "invalid JSON at line 1 column 3: unexpected 'x', expected an escape (\\\" \\\\ "
              "\\/ \\b \\f \\n \\r \\t \\u)");
    CHECK_STR(DECODE_ERR(L, &json_plain, "\"\\u12G4\""),
              "invalid JSON at line 1 column 2: invalid \\u escape (4 hex digits needed)");
    /* Invalid UTF-8: a stray continuation byte, an overlong form, an encoded surrogate, a
     * byte that never starts a sequence, a truncated sequence. */
    CHECK_STR(DECODE_ERR(L, &json_plain, "[\"ok\",\"a\x80\"]"),
              "invalid JSON at line 1 column 9: invalid UTF-8 in string");
    CHECK_STR(DECODE_ERR(L, &json_plain, "\"\xC0\xAF\""),
              "invalid JSON at line 1 column 2: invalid UTF-8 in string");
    CHECK_STR(DECODE_ERR(L, &json_plain, "\"\xED\xA0\x80\""),
              "invalid JSON at line 1 column 2: invalid UTF-8 in string");
    CHECK_STR(DECODE_ERR(L, &json_plain, "\"\xF5\x80\x80\x80\""),
              "invalid JSON at line 1 column 2: invalid UTF-8 in string");
    CHECK_STR(DECODE_ERR(L, &json_plain, "\"\xE2\x82\""),
              "invalid JSON at line 1 column 2: invalid UTF-8 in string");
    CHECK_STR(DECODE_ERR(L, &json_plain, "  "),
              "invalid JSON at line 1 column 2: unexpected end of input");
    /* A syntax error anywhere wins over what a partial decode found, as when jansson parsed
     * the whole text first. */
    CHECK_STR(DECODE_ERR(L, &json_schemas, "{\"schema\":{\"type\":\"int8\"},\"payload\":300} x"),
              "invalid JSON at line 1 column 42: unexpected 'x', expected end of input");
    CHECK_STR(DECODE_ERR(L, &json_schemas, "{\"a\":1,\"b\":[}"),
              "invalid JSON at line 1 column 13: unexpected '}', expected a JSON value");
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

TEST(parser_strings)
{
    lua_State *L = new_state();

    /* Surrogate pairs (in values and in keys, upper or lower case hex), lone ones refused. */
    CHECK(roundtrip_is(L, &json_plain, "[\"\\uD83D\\uDE00\",\"\\ud834\\udd1e\"]",
                       "[\"\xF0\x9F\x98\x80\",\"\xF0\x9D\x84\x9E\"]"));
    CHECK(roundtrip_is(L, &json_plain, "{\"k\\u00e9y\\ud83d\\ude00\":1}",
                       "{\"k\xC3\xA9y\xF0\x9F\x98\x80\":1}"));
    CHECK(roundtrip_is(L, &json_plain, "\"\\u0041\\u00DF\\u6771\\uFFFF\"",
                       "\"A\xC3\x9F\xE6\x9D\xB1\xEF\xBF\xBF\""));
    CHECK_STR(DECODE_ERR(L, &json_plain, "\"\\ud83d\""),
              "invalid JSON at line 1 column 2: invalid \\uD83D: a high surrogate without a low "
              "one after it");
    CHECK_STR(DECODE_ERR(L, &json_plain, "\"x\\ud83d\\u0041\""),
              "invalid JSON at line 1 column 3: invalid \\uD83D: a high surrogate without a low "
              "one after it");
    CHECK_STR(DECODE_ERR(L, &json_plain, "\"\\ude00\""),
              "invalid JSON at line 1 column 2: invalid \\uDE00: a low surrogate without a high "
              "one");
    /* Every escape, and strings that cross the 8-byte scanning steps. */
    CHECK(roundtrip_is(L, &json_plain, "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
                       "\"\\\"\\\\/\\b\\f\\n\\r\\t\""));
    CHECK(roundtrip_is(L, &json_plain,
                       "[\"abcdefgh\",\"abcdefg\\\"\",\"0123456789abcdef\\\\xyz\","
                       "\"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\"]",
                       NULL));
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

TEST(parser_numbers)
{
    lua_State *L = new_state();
    static const char many[] = "[9007199254740992,-9007199254740992,9007199254740993,"
                               "-9007199254740993,-0,1e-400,1E22,123456789012345678901234.5]";
    char err[512] = "";

    /* 2^53 is the last integer that stays a Lua number; int64 beyond, both signs. */
    CHECK(roundtrip_is(L, &json_plain,
                       "[9007199254740992,-9007199254740992,9007199254740993,-9007199254740993]",
                       NULL));
    CHECK_INT(lc_json_decode(L, many, strlen(many), err, sizeof err), 0);
    lua_setglobal(L, "n");
    CHECK(lua_check(L, "local ffi = require('ffi')\n"
                       "assert(type(n[1]) == 'number' and n[1] == 2^53)\n"
                       "assert(type(n[2]) == 'number' and n[2] == -2^53)\n"
                       "assert(ffi.istype('int64_t', n[3]) and n[3] == 9007199254740993LL)\n"
                       "assert(ffi.istype('int64_t', n[4]) and n[4] == -9007199254740993LL)\n"
                       "assert(type(n[5]) == 'number' and n[5] == 0)\n"
                       "assert(ffi.istype('lc_float_t', n[6]) and n[6] == 0)\n"
                       "assert(ffi.istype('lc_float_t', n[7]) and n[7] == 1e22)\n"
                       "assert(n[8] == 123456789012345678901234.5)\n"
                       "return true"));
    /* Exact reading: the shortest forms come back, digits beyond double precision round. */
    CHECK(roundtrip_is(L, &json_plain,
                       "[0.1,0.2,0.30000000000000004,1.7976931348623157E308,4.9E-324,"
                       "2.2250738585072014E-308,123.456,-87.25,1.0E-7,1.0E22,1.0E23]",
                       NULL));
    CHECK(roundtrip_is(L, &json_plain,
                       "[0.30000000000000004441,3.14159265358979323846264338,1e23,"
                       "100000000000000000000000e-2,0.000001]",
                       "[0.30000000000000004,3.141592653589793,1.0E23,1.0E21,1.0E-6]"));
    CHECK_STR(DECODE_ERR(L, &json_plain, "9223372036854775807"), "");
    CHECK_STR(DECODE_ERR(L, &json_plain, "-9223372036854775808"), "");
    CHECK_STR(DECODE_ERR(L, &json_plain, "9223372036854775808"),
              "invalid JSON at line 1 column 1: integer out of range (64 bits): "
              "9223372036854775808");
    CHECK_STR(DECODE_ERR(L, &json_plain, "[-9223372036854775809]"),
              "invalid JSON at line 1 column 2: integer out of range (64 bits): "
              "-9223372036854775809");
    CHECK_STR(DECODE_ERR(L, &json_plain, "[1e309]"),
              "invalid JSON at line 1 column 2: number out of range: 1e309");
    CHECK_STR(DECODE_ERR(L, &json_plain, "01"),
              "invalid JSON at line 1 column 2: invalid number (leading zero)");
    CHECK_STR(DECODE_ERR(L, &json_plain, "1."),
              "invalid JSON at line 1 column 2: unexpected end of input");
    CHECK_STR(DECODE_ERR(L, &json_plain, "[1.e5]"),
              "invalid JSON at line 1 column 4: unexpected 'e', expected a digit after '.'");
    CHECK_STR(DECODE_ERR(L, &json_plain, "[1e+]"),
              "invalid JSON at line 1 column 5: unexpected ']', expected a digit in the "
              "exponent");
    CHECK_STR(DECODE_ERR(L, &json_plain, "[-x]"),
              "invalid JSON at line 1 column 3: unexpected 'x', expected a digit");
    CHECK_STR(DECODE_ERR(L, &json_plain, "[.5]"),
              "invalid JSON at line 1 column 2: unexpected '.', expected a JSON value");
    CHECK_STR(DECODE_ERR(L, &json_plain, "+1"),
              "invalid JSON at line 1 column 1: unexpected '+', expected a JSON value");
    CHECK_STR(DECODE_ERR(L, &json_plain, "NaN"),
              "invalid JSON at line 1 column 1: unexpected 'N', expected a JSON value");
    CHECK_STR(DECODE_ERR(L, &json_plain, "[nan]"),
              "invalid JSON at line 1 column 3: unexpected 'a', expected null");
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

/* Builds depth nested containers around 0: objects {"k0":0,...,"in":...} or arrays
 * [0,1,...,[...]], each with extra items before the nested one. Caller frees. */
static char *nested(int depth, int extra, int objects, size_t *len)
{
    size_t cap = (size_t)depth * (16 + (size_t)extra * 12) + 16, n = 0;
    char *s = malloc(cap);
    int i, j;

    for (i = 0; i < depth; i++) {
        s[n++] = objects ? '{' : '[';
        for (j = 0; j < extra; j++)
            n += (size_t)(objects ? snprintf(s + n, cap - n, "\"k%d\":%d,", j, j)
                                  : snprintf(s + n, cap - n, "%d,", j));
        if (objects) n += (size_t)snprintf(s + n, cap - n, "\"in\":");
    }
    s[n++] = '0';
    for (i = 0; i < depth; i++)
        s[n++] = objects ? '}' : ']';
    s[n] = '\0';
    *len = n;
    return s;
}

TEST(parser_deep_nesting)
{
    lua_State *L = new_state();
    char err[512];
    lc_buf_t b = {0};
    size_t n;
    char *s;
    int is_null;

    /* 1000 levels decode, with items held on the Lua stack at each level: more than it has
     * room for, so deeper levels make their tables as they go. */
    s = nested(1000, 0, 1, &n);
    CHECK_STR(decode_err(L, &json_plain, s, n), "");
    free(s);
    s = nested(1000, 31, 0, &n);
    CHECK_INT(lc_conv_to_lua(&json_plain, L, s, n, err, sizeof err), 0);
    CHECK_INT(lc_conv_from_lua(&json_plain, L, 1, 2, &b, &is_null, err, sizeof err), 0);
    CHECK(b.len == n && memcmp(b.data, s, n) == 0);
    lua_settop(L, 0);
    free(s);
    /* Objects whose keys outnumber what is kept aside for them. */
    s = nested(300, 31, 1, &n);
    CHECK_INT(lc_json_decode(L, s, n, err, sizeof err), 0);
    lua_setglobal(L, "t");
    CHECK(lua_check(L, "local d = 0\n"
                       "while type(t) == 'table' do\n"
                       "  for j = 0, 30 do assert(t['k' .. j] == j) end\n"
                       "  t, d = t['in'], d + 1\n"
                       "end\n"
                       "return d == 300 and t == 0"));
    free(s);
    /* One level more fails, for objects and arrays. */
    s = nested(1001, 0, 1, &n);
    CHECK_STR(decode_err(L, &json_plain, s, n), "value: nesting too deep (more than 1000 levels)");
    free(s);
    s = nested(1001, 2, 0, &n);
    CHECK_STR(decode_err(L, &json_plain, s, n), "value: nesting too deep (more than 1000 levels)");
    free(s);
    CHECK_INT(lua_gettop(L), 0);
    lc_buf_free(&b);
    lua_close(L);
}

/* Decodes in (lc_json_decode), encodes it with sorted keys and compares with want (NULL: in
 * itself). */
static int sorted_is(lua_State *L, const char *in, const char *want)
{
    char err[512] = "";
    lc_buf_t b = {0};
    int ok;

    if (!want) want = in;
    if (lc_json_decode(L, in, strlen(in), err, sizeof err) ||
        lc_json_encode_sorted(L, -1, &b, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", in, err);
        lua_settop(L, 0);
        return 0;
    }
    ok = b.len == strlen(want) && memcmp(b.data, want, b.len) == 0;
    if (!ok) fprintf(stderr, "sorted %s\n  got:  %.*s\n  want: %s\n", in, (int)b.len, b.data, want);
    lua_pop(L, 1);
    lc_buf_free(&b);
    return ok;
}

TEST(object_shapes)
{
    lua_State *L = new_state();
    static const char odd_keys[] =
        "{\"a-b\":1,\"x.y\":2,\"\xC3\xA9\":3,\"]]\":4,\"s p\":5,\"q\\\"\":6,\"\":7,\"\\\\\":8}";
    char err[512], big[4096];
    size_t n = 0;
    int round, k;

    /* The same key sequences four times: met, remembered, compiled into a constructor,
     * reused. (Sorted output: lua_next order changes from run to run, string hashes are
     * seeded.) */
    for (round = 0; round < 4; round++) {
        CHECK(sorted_is(L, "{\"id\":1,\"tags\":[\"x\"],\"n\":null}",
                        "{\"id\":1,\"n\":null,\"tags\":[\"x\"]}"));
        CHECK(sorted_is(L, "{\"id\":2,\"tags\":[],\"n\":{\"id\":3,\"x\":true}}",
                        "{\"id\":2,\"n\":{\"id\":3,\"x\":true},\"tags\":[]}"));
        CHECK(sorted_is(L, "{\"b\":1,\"a\":2,\"b\":3}", "{\"a\":2,\"b\":3}"));
        CHECK_INT(lc_json_decode(L, odd_keys, strlen(odd_keys), err, sizeof err), 0);
        lua_setglobal(L, "t");
        CHECK(lua_check(L, "local n = 0 for _ in pairs(t) do n = n + 1 end\n"
                           "return n == 8 and t['a-b'] == 1 and t['x.y'] == 2 and "
                           "t['\\195\\169'] == 3 and t[']]'] == 4 and t['s p'] == 5 and "
                           "t['q\"'] == 6 and t[''] == 7 and t['\\\\'] == 8"));
    }
    /* More keys than one batch (32), and a long array. */
    n += (size_t)snprintf(big + n, sizeof big - n, "{");
    for (k = 0; k < 70; k++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s\"f%d\":%d", k ? "," : "", k, k);
    n += (size_t)snprintf(big + n, sizeof big - n, ",\"arr\":[");
    for (k = 0; k < 70; k++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s%d", k ? "," : "", k);
    snprintf(big + n, sizeof big - n, "]}");
    for (round = 0; round < 2; round++) {
        CHECK_INT(lc_json_decode(L, big, strlen(big), err, sizeof err), 0);
        lua_setglobal(L, "t");
        CHECK(lua_check(L,
                        "for k = 0, 69 do assert(t['f' .. k] == k) end\n"
                        "assert(#t.arr == 70 and t.arr[70] == 69)\n"
                        "return getmetatable(t.arr) == debug.getregistry()['luaconnect.array']"));
    }
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

/* Decoding in that lua_State fails with exactly want. */
static int decode_fails(lua_State *L, const char *in, const char *want)
{
    char err[512] = "";
    int ok = lc_json_decode(L, in, strlen(in), err, sizeof err) != 0 && strcmp(err, want) == 0;

    if (!ok) fprintf(stderr, "%s\n  got:  %s\n  want: %s\n", in, err, want);
    lua_settop(L, 0);
    return ok;
}

/* Decodes text three times: its shape is compiled, and the last seen at the top. */
static void learn_shape(lua_State *L, const char *text)
{
    int round;

    for (round = 0; round < 3; round++)
        lc_json_decode(L, text, strlen(text), NULL, 0);
    lua_settop(L, 0);
}

/* An object's keys are compared with the shape last seen at its place while they are read
 * (decode.c): objects that agree with it only in part get their own keys, and errors keep
 * their positions. */
TEST(object_shape_prediction)
{
    /* Each text right after its shape (four_keys when it has a key "sco...", else two_keys)
     * was met three times (compiled, or met again after a case took its slot), and the
     * sorted output (NULL: the text). Keys of 2, 4, 5 and 13 bytes: each way key_is
     * compares. */
    static const char four_keys[] = "{\"id\":1,\"name\":\"a\",\"score\":2,\"email_address\":\"e\"}";
    static const char two_keys[] = "{\"id\":1,\"name\":\"a\"}";
    static const char *const cases[][2] = {
        {"{\"id\":2,\"name\":\"b\",\"score\":3,\"email_address\":\"f\"}",
         "{\"email_address\":\"f\",\"id\":2,\"name\":\"b\",\"score\":3}"},
        {"{\"id\":3}", NULL}, /* fewer keys, then more */
        {"{\"id\":4,\"name\":\"c\",\"score\":4,\"email_address\":\"g\",\"x\":5}",
         "{\"email_address\":\"g\",\"id\":4,\"name\":\"c\",\"score\":4,\"x\":5}"},
        /* one key differing in its last byte, or longer */
        {"{\"ie\":5,\"name\":\"d\",\"score\":5,\"email_address\":0}",
         "{\"email_address\":0,\"ie\":5,\"name\":\"d\",\"score\":5}"},
        {"{\"id\":5,\"namf\":\"d\",\"score\":5,\"email_address\":0}",
         "{\"email_address\":0,\"id\":5,\"namf\":\"d\",\"score\":5}"},
        {"{\"id\":5,\"name\":\"d\",\"scorf\":5,\"email_address\":0}",
         "{\"email_address\":0,\"id\":5,\"name\":\"d\",\"scorf\":5}"},
        {"{\"id\":5,\"name\":\"d\",\"score\":5,\"email_addresz\":0}",
         "{\"email_addresz\":0,\"id\":5,\"name\":\"d\",\"score\":5}"},
        {"{\"id\":5,\"name\":\"d\",\"score\":5,\"email_addressx\":0}",
         "{\"email_addressx\":0,\"id\":5,\"name\":\"d\",\"score\":5}"},
        {"{\"idx\":6,\"name\":\"e\",\"score\":6,\"email_address\":1}",
         "{\"email_address\":1,\"idx\":6,\"name\":\"e\",\"score\":6}"},
        /* another order, an escaped key that reads as the shape's, blanks, duplicates */
        {"{\"name\":\"f\",\"id\":7}", "{\"id\":7,\"name\":\"f\"}"},
        {"{\"i\\u0064\":8,\"name\":\"g\"}", "{\"id\":8,\"name\":\"g\"}"},
        {"{ \"id\" : 9 , \"name\" :\"h\" }", "{\"id\":9,\"name\":\"h\"}"},
        {"{\"id\":10,\"name\":\"i\",\"id\":11}", "{\"id\":11,\"name\":\"i\"}"},
        {"{}", NULL},
        {"{\"id\":12,\"name\":\"j\",\"score\":6,\"email_address\":\"k\"}",
         "{\"email_address\":\"k\",\"id\":12,\"name\":\"j\",\"score\":6}"},
    };
    /* Repeated: array items share a place; nested objects learn shapes meanwhile. */
    static const char *const repeated[] = {
        "[{\"id\":1,\"name\":\"a\"},{\"id\":2,\"name\":\"b\"},{\"id\":3}]",
        "{\"id\":{\"k1\":1},\"name\":{\"k2\":2}}",
        "{\"id\":{\"k3\":[{\"k4\":1}]},\"name\":{\"k5\":2}}",
    };
    /* Syntax errors inside a predicted object, as main reports them. */
    static const char *const errors[][2] = {
        {"{\"id\":1,\"name\":\"a\",\"score\" 5}",
         "invalid JSON at line 1 column 28: unexpected '5', expected ':'"},
        {"{\"id\":1,\"name\":}",
         "invalid JSON at line 1 column 16: unexpected '}', expected a JSON value"},
        {"{\"id\":1,\"na", "invalid JSON at line 1 column 11: unexpected end of input in a string"},
        {"{\"id\" :1 , \"name\":\"x\",}",
         "invalid JSON at line 1 column 23: unexpected '}', expected a string key"},
        {"{\"id\":1,\"name\":\"a\"", "invalid JSON at line 1 column 18: unexpected end of input"},
    };
    lua_State *L = new_state();
    size_t i;
    int round;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        learn_shape(L, strstr(cases[i][0], "\"sco") ? four_keys : two_keys);
        CHECK(sorted_is(L, cases[i][0], cases[i][1]));
    }
    for (round = 0; round < 4; round++)
        for (i = 0; i < sizeof repeated / sizeof repeated[0]; i++)
            CHECK(sorted_is(L, repeated[i], NULL));
    for (i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        learn_shape(L, strstr(errors[i][0], "\"sco") ? four_keys : two_keys);
        CHECK(decode_fails(L, errors[i][0], errors[i][1]));
    }
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

static const char small_envelope[] =
    "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\",\"optional\":false,"
    "\"field\":\"id\"},{\"type\":\"string\",\"optional\":true,\"field\":\"s\"}],\"optional\":"
    "false,\"name\":\"r\"},\"payload\":{\"id\":%d,\"s\":\"v%d\"}}";

TEST(schema_interning)
{
    lua_State *L = new_state();
    static const char string_a[] =
        "{\"schema\":{\"optional\":false,\"type\":\"string\"},\"payload\":\"x\"}";
    static const char string_b[] =
        "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"x\"}";
    char in[512], err[512], check[256];
    lc_buf_t b = {0};
    int i, is_null;

    /* The same schema text gives the same table, record after record. */
    snprintf(in, sizeof in, small_envelope, 1, 1);
    CHECK_INT(lc_conv_to_lua(&json_schemas, L, in, strlen(in), err, sizeof err), 0);
    snprintf(in, sizeof in, small_envelope, 2, 2);
    CHECK_INT(lc_conv_to_lua(&json_schemas, L, in, strlen(in), err, sizeof err), 0);
    CHECK_INT(lua_gettop(L), 4);
    CHECK(lua_istable(L, 2) && lua_rawequal(L, 2, 4));
    lua_setglobal(L, "s2");
    lua_setglobal(L, "v2");
    lua_setglobal(L, "s1");
    lua_setglobal(L, "v1");
    CHECK(lua_check(L, "return v1.id == 1 and v1.s == 'v1' and v2.id == 2 and v2.s == 'v2' "
                       "and v1 ~= v2 and s1.fields[2].field == 's' and s1.name == 'r'"));
    /* Other text, even when it means the same, is another entry. */
    CHECK_INT(lc_conv_to_lua(&json_schemas, L, string_a, strlen(string_a), err, sizeof err), 0);
    CHECK_INT(lc_conv_to_lua(&json_schemas, L, string_b, strlen(string_b), err, sizeof err), 0);
    CHECK(lua_istable(L, 2) && lua_istable(L, 4) && !lua_rawequal(L, 2, 4));
    lua_settop(L, 0);
    /* More distinct schemas than the cache holds (it starts over), alternating with another
     * schema as key and value schemas do; each decodes right, and so does the first one. */
    for (i = 0; i < 600; i++) {
        snprintf(in, sizeof in,
                 "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"field\":"
                 "\"f%d\"}]},\"payload\":{\"f%d\":%d}}",
                 i % 300, i % 300, i);
        CHECK_INT(lc_conv_to_lua(&json_schemas, L, in, strlen(in), err, sizeof err), 0);
        lua_setglobal(L, "s");
        lua_setglobal(L, "v");
        snprintf(check, sizeof check,
                 "return #s.fields == 1 and s.fields[1].field == 'f%d' and v.f%d == %d", i % 300,
                 i % 300, i);
        CHECK(lua_check(L, check));
        snprintf(in, sizeof in, small_envelope, i, i);
        CHECK_INT(lc_conv_to_lua(&json_schemas, L, in, strlen(in), err, sizeof err), 0);
        lua_settop(L, 0);
    }
    lua_gc(L, LUA_GCCOLLECT, 0);
    snprintf(in, sizeof in, small_envelope, 7, 7);
    CHECK_INT(lc_conv_to_lua(&json_schemas, L, in, strlen(in), err, sizeof err), 0);
    /* Encoding with the interned table gives the same text every time (written once). */
    for (i = 0; i < 3; i++) {
        CHECK_INT(lc_conv_from_lua(&json_schemas, L, 1, 2, &b, &is_null, err, sizeof err), 0);
        CHECK(b.len == strlen(in) && memcmp(b.data, in, b.len) == 0);
    }
    lua_settop(L, 0);
    lc_buf_free(&b);
    lua_close(L);
}

TEST(envelope_layouts)
{
    lua_State *L = new_state();
    static const char envelope_msg[] =
        "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may "
        "not contain additional fields. If you are trying to deserialize plain JSON data, set "
        "schemas.enable=false in your converter configuration.";
    static const char s[] =
        "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"field\":\"a\"},"
        "{\"type\":\"string\",\"optional\":true,\"default\":\"d\",\"field\":\"b\"}]}";
    static const char s_out[] =
        "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,"
        "\"field\":\"a\"},{\"type\":\"string\",\"optional\":true,\"default\":\"d\",\"field\":"
        "\"b\"}],\"optional\":false},\"payload\":";
    char in[1024], want[1024];

    /* Repeated keys: the last one counts, as with jansson; payload before schema is fine;
     * keys that are no fields are ignored, as Kafka Connect does. */
    snprintf(in, sizeof in,
             "{\"schema\":{\"type\":\"string\"},\"schema\":%s,\"payload\":{\"a\":1}}", s);
    snprintf(want, sizeof want, "%s{\"a\":1,\"b\":\"d\"}}", s_out);
    CHECK(roundtrip_is(L, &json_schemas, in, want));
    snprintf(in, sizeof in, "{\"payload\":{\"b\":\"x\",\"zz\":[1,{}],\"a\":2},\"schema\":%s}", s);
    snprintf(want, sizeof want, "%s{\"a\":2,\"b\":\"x\"}}", s_out);
    CHECK(roundtrip_is(L, &json_schemas, in, want));
    snprintf(in, sizeof in, "{\"schema\":%s,\"payload\":{\"a\":1},\"payload\":{\"a\":3}}", s);
    snprintf(want, sizeof want, "%s{\"a\":3,\"b\":\"d\"}}", s_out);
    CHECK(roundtrip_is(L, &json_schemas, in, want));
    /* Escaped keys are still the envelope's keys. */
    CHECK(roundtrip_is(L, &json_schemas,
                       "{\"sch\\u0065ma\":{\"type\":\"int8\"},\"p\\u0061yload\":5}",
                       "{\"schema\":{\"type\":\"int8\",\"optional\":false},\"payload\":5}"));
    /* The envelope's shape is checked before what its payload holds. */
    snprintf(in, sizeof in, "{\"schema\":%s,\"payload\":{\"a\":\"x\"},\"extra\":1}", s);
    CHECK_STR(DECODE_ERR(L, &json_schemas, in), envelope_msg);
    snprintf(in, sizeof in, "{\"schema\":%s,\"payload\":{\"a\":\"x\"}}", s);
    CHECK_STR(DECODE_ERR(L, &json_schemas, in), "payload.a: expected int32, got string");
    CHECK_STR(DECODE_ERR(L, &json_schemas, "{}"), envelope_msg);
    CHECK_STR(DECODE_ERR(L, &json_schemas, "[]"), envelope_msg);
    CHECK_STR(DECODE_ERR(L, &json_schemas, "{\"schema\":{\"type\":\"int8\"},\"payload\":1,"),
              "invalid JSON at line 1 column 38: unexpected end of input");
    CHECK_STR(DECODE_ERR(L, &json_schemas, "{\"schema\":5,\"payload\":1}"),
              "schema: schema must contain a \"type\" string");
    /* Several errors: the first in schema order is reported, whatever the payload's order. */
    CHECK_STR(DECODE_ERR(L, &json_schemas,
                         "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\","
                         "\"field\":\"a\"},{\"type\":\"int32\",\"field\":\"b\"}]},"
                         "\"payload\":{\"b\":\"x\"}}"),
              "payload.a: invalid null value for required int32 field");
    CHECK_STR(DECODE_ERR(L, &json_schemas,
                         "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\","
                         "\"field\":\"a\"},{\"type\":\"struct\",\"fields\":[{\"type\":"
                         "\"int8\",\"field\":\"c\"}],\"field\":\"b\"}]},"
                         "\"payload\":{\"b\":{\"c\":300},\"a\":true}}"),
              "payload.a: expected int32, got boolean");
    /* A struct cannot name two fields alike (Kafka's SchemaBuilder refuses it too). */
    CHECK_STR(DECODE_ERR(L, &json_schemas,
                         "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\","
                         "\"field\":\"a\"},{\"type\":\"string\",\"field\":\"a\"}]},"
                         "\"payload\":{\"a\":1}}"),
              "schema.fields[2]: duplicate field name 'a' in struct schema");
    /* Maps keyed by ints: entries must be pairs. */
    CHECK_STR(DECODE_ERR(L, &json_schemas,
                         "{\"schema\":{\"type\":\"map\",\"keys\":{\"type\":\"int32\"},\"values\":"
                         "{\"type\":\"int32\"}},\"payload\":[[1,2],[3]]}"),
              "payload[2]: map entry must be a [key, value] array");
    CHECK_STR(DECODE_ERR(L, &json_schemas,
                         "{\"schema\":{\"type\":\"map\",\"keys\":{\"type\":\"int32\"},\"values\":"
                         "{\"type\":\"int32\"}},\"payload\":[[1,2],[3,4,5]]}"),
              "payload[2]: map entry must be a [key, value] array");
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

TEST(encode_arrays_and_floats)
{
    lua_State *L = new_state();
    char got[1024], err[512];
    int is_null;

    /* Items set in reverse land in the hash part, where lua_next gives any order. */
    CHECK_INT(encode_expr(L, &json_plain,
                          "(function() local t = array{} for i = 40, 1, -1 do t[i] = i end "
                          "return t end)()",
                          NULL, got, sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
                   "28,29,30,31,32,33,34,35,36,37,38,39,40]");
    /* A bad item in a table that is no array: the table is what is wrong. */
    CHECK_INT(encode_expr(L, &json_plain, "{1, print, x=3}", NULL, got, sizeof got, err, &is_null),
              -1);
    CHECK_STR(err, "value: cannot encode a table with both array items and other keys (or "
                   "holes) as an array");
    CHECK_INT(encode_expr(L, &json_plain, "{1, {a=print}}", NULL, got, sizeof got, err, &is_null),
              -1);
    CHECK_STR(err, "value[2].a: cannot encode a function");
    /* Doubles in Java's plain range take the short path: known texts. */
    CHECK_INT(encode_expr(L, &json_plain,
                          "{0.001, 0.0025, 87.25, -1.5, 9999999.999999998, 123456.789, 0.07, "
                          "1/3, 2/3, 0.1 + 0.2, 1e7 - 0.5, 4.35, 0.0009999999999999998}",
                          NULL, got, sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "[0.001,0.0025,87.25,-1.5,9999999.999999998,123456.789,0.07,"
                   "0.3333333333333333,0.6666666666666666,0.30000000000000004,9999999.5,4.35,"
                   "9.999999999999998E-4]");
    /* Strings of every kind of byte, at lengths around the 8-byte steps. */
    CHECK_INT(encode_expr(L, &json_plain,
                          "{'1234567', '12345678', '123456789\"', 'abcdefghijklmnop\\n', "
                          "'x\\255yz'}",
                          NULL, got, sizeof got, err, &is_null),
              0);
    CHECK_STR(got, "[\"1234567\",\"12345678\",\"123456789\\\"\",\"abcdefghijklmnop\\n\","
                   "\"x\xEF\xBF\xBDyz\"]");
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

TEST(uninitialised_state)
{
    lua_State *L = luaL_newstate();
    char err[512] = "";
    lc_buf_t b = {0};
    int is_null;

    luaL_openlibs(L);
    lua_pushnumber(L, 1);
    CHECK_INT(lc_conv_from_lua(&json_plain, L, 1, 0, &b, &is_null, err, sizeof err), -1);
    CHECK_STR(err, "codec not initialised (call lc_codec_init)");
    CHECK_INT(lua_gettop(L), 1);
    lc_buf_free(&b);
    lua_close(L);
}

/* An allocator with a ceiling, to make Lua run out of memory in the middle of a walk. */
static size_t mem_used, mem_limit;

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    void *p;

    if (nsize == 0) {
        mem_used -= ptr ? osize : 0;
        free(ptr);
        return NULL;
    }
    if (mem_used - (ptr ? osize : 0) + nsize > mem_limit) return NULL;
    p = realloc(ptr, nsize);
    if (p) mem_used = mem_used - (ptr ? osize : 0) + nsize;
    return p;
}

TEST(out_of_memory_mid_walk)
{
    lua_State *L;
    char err[512] = "";
    lc_buf_t b = {0};
    int is_null, rc, i;
    size_t n;
    char *big;

    mem_used = 0;
    mem_limit = (size_t)64 << 20;
    L = lua_newstate(limited_alloc, NULL);
    if (!L) return; /* a LuaJIT build without custom allocators: nothing to test */
    luaL_openlibs(L);
    CHECK_INT(lc_codec_init(L, err, sizeof err), 0);
    /* 200k small objects: far more Lua memory than the ceiling left below allows. */
    big = malloc(200000 * 8 + 2);
    n = 0;
    big[n++] = '[';
    for (i = 0; i < 200000; i++) {
        memcpy(big + n, i ? ",{\"a\":1}" : "{\"a\":1}", i ? 8 : 7);
        n += i ? 8 : 7;
    }
    big[n++] = ']';
    mem_limit = mem_used + ((size_t)2 << 20);
    rc = lc_conv_to_lua(&json_plain, L, big, n, err, sizeof err);
    CHECK_INT(rc, -1);
    CHECK_STR(err, "Lua error in codec: not enough memory");
    CHECK_INT(lua_gettop(L), 0);
    /* The state still works once memory is back. */
    mem_limit = (size_t)512 << 20;
    CHECK_INT(lc_conv_to_lua(&json_plain, L, big, n, err, sizeof err), 0);
    CHECK_INT(lua_gettop(L), 2);
    CHECK_INT(lc_conv_from_lua(&json_plain, L, 1, 2, &b, &is_null, err, sizeof err), 0);
    CHECK(b.len == n && memcmp(b.data, big, n) == 0);
    lua_settop(L, 0);
    free(big);
    lc_buf_free(&b);
    lua_close(L);
}

int main(void)
{
    RUN(converter_init_names);
    RUN(plain_roundtrips);
    RUN(plain_null_and_empty);
    RUN(plain_objects_sorted);
    RUN(plain_encode_lua_values);
    RUN(plain_encode_errors);
    RUN(decode_errors);
    RUN(lua_side_numbers);
    RUN(envelope_exact_text);
    RUN(envelope_decode);
    RUN(envelope_decode_errors);
    RUN(envelope_encode_errors);
    RUN(parser_error_positions);
    RUN(parser_strings);
    RUN(parser_numbers);
    RUN(parser_deep_nesting);
    RUN(object_shapes);
    RUN(object_shape_prediction);
    RUN(schema_interning);
    RUN(envelope_layouts);
    RUN(encode_arrays_and_floats);
    RUN(string_converter);
    RUN(nonfinite_floats);
    RUN(bytearray_converter);
    RUN(uninitialised_state);
    RUN(sorted_shortcuts_match_the_general_path);
    RUN(out_of_memory_mid_walk);
    RUN(canon_lines_match_decode_and_encode);
    return lc_test_summary("test_codec");
}
