/* Regression tests for lua/codec.c defects found by the fuzz harnesses (tests/fuzz), kept
 * apart from test_codec.c so that each states the input that found it. */
#include "lc_test.h"
#include "codec.h"

#include <lauxlib.h>
#include <lualib.h>

static const lc_converter_t json_schemas = {LC_CONV_JSON, 1};

static lua_State *new_state(void)
{
    char err[256] = "";
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    if (lc_codec_init(L, err, sizeof err)) fprintf(stderr, "lc_codec_init: %s\n", err);
    return L;
}

/* Decodes in; returns the error text, or "(decoded)" after encoding the result back. */
static const char *decode_err(lua_State *L, const char *in, char *err, size_t errsz)
{
    lc_buf_t b = {0};
    int is_null = 0;
    err[0] = '\0';
    if (lc_conv_to_lua(&json_schemas, L, in, strlen(in), err, errsz) != 0) return err;
    if (lc_conv_from_lua(&json_schemas, L, -2, -1, &b, &is_null, err, errsz) != 0)
        fprintf(stderr, "decoded %s but encoding fails: %s\n", in, err);
    lua_settop(L, 0);
    lc_buf_free(&b);
    return "(decoded)";
}

/* fuzz_envelope: a float32 payload beyond the float range was accepted by the decoder and
 * then refused by the encoder ("value: 1e+300 is out of range for float"), so a record that
 * came in could not go out. The decoder now refuses it as it refuses int8 300. */
TEST(test_float32_out_of_range)
{
    lua_State *L = new_state();
    char err[512];
    CHECK_STR(
        decode_err(L, "{\"schema\":{\"type\":\"float\"},\"payload\":1e300}", err, sizeof(err)),
        "payload: 1.0000000000000001e+300 is out of range for float");
    CHECK_STR(
        decode_err(L, "{\"schema\":{\"type\":\"float\"},\"payload\":-3.5e38}", err, sizeof(err)),
        "payload: -3.5e+38 is out of range for float");
    CHECK_STR(decode_err(L,
                         "{\"schema\":{\"type\":\"array\",\"items\":{\"type\":\"float\"}},"
                         "\"payload\":[1.5,3.4028236e38]}",
                         err, sizeof(err)),
              "payload[2]: 3.4028235999999999e+38 is out of range for float");
    /* In range (FLT_MAX, tiny values that round to 0, integers), and double, still decode. */
    CHECK_STR(decode_err(L, "{\"schema\":{\"type\":\"float\"},\"payload\":3.4028235e38}", err,
                         sizeof(err)),
              "(decoded)");
    CHECK_STR(
        decode_err(L, "{\"schema\":{\"type\":\"float\"},\"payload\":1e-300}", err, sizeof(err)),
        "(decoded)");
    CHECK_STR(decode_err(L, "{\"schema\":{\"type\":\"float\"},\"payload\":9223372036854775807}",
                         err, sizeof(err)),
              "(decoded)");
    CHECK_STR(
        decode_err(L, "{\"schema\":{\"type\":\"double\"},\"payload\":1e300}", err, sizeof(err)),
        "(decoded)");
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

/* fuzz_envelope: a schema version beyond int32 decoded (as a Lua number) and the encoder
 * then refused it ("schema version must be an integer, got 9007199254740992"). Kafka
 * Connect's versions are Java ints; the decoder now refuses the others. */
TEST(test_schema_version_out_of_int32)
{
    lua_State *L = new_state();
    char err[512];
    CHECK_STR(decode_err(L,
                         "{\"schema\":{\"type\":\"string\",\"version\":9007199254740993},"
                         "\"payload\":\"x\"}",
                         err, sizeof(err)),
              "schema: schema version 9007199254740993 is out of range for int32");
    CHECK_STR(decode_err(L,
                         "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"field\":\"a\",\"type\":"
                         "\"int8\",\"version\":-2147483649}]},\"payload\":{\"a\":1}}",
                         err, sizeof(err)),
              "schema.fields[1]: schema version -2147483649 is out of range for int32");
    CHECK_STR(decode_err(L,
                         "{\"schema\":{\"type\":\"string\",\"version\":2147483647},"
                         "\"payload\":\"x\"}",
                         err, sizeof(err)),
              "(decoded)");
    lua_close(L);
}

int main(void)
{
    RUN(test_float32_out_of_range);
    RUN(test_schema_version_out_of_int32);
    return lc_test_summary("test_codec_regress");
}
