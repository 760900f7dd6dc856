/* fuzz_roundtrip: whatever JsonConverter (schemas.enable=false) decodes must encode back
 * to equivalent JSON.
 *
 * For each input that the codec decodes: encoding must succeed, jansson must read the
 * output, and when jansson also reads the input the two documents must be equal under the
 * value model (fuzz_json_compare.h: int vs float, -0.0, 64-bit integers, null). Encoding is
 * a fixed point: decoding the output and encoding again gives the same document. The same
 * holds for lc_json_decode + lc_json_encode_sorted (offsets and partitions), whose output
 * must also equal the converter's as a document. A difference is a finding. Each input gets
 * a fresh task-like lua_State, closed afterwards (LeakSanitizer sees the codec's memory). */
#include "fuzz_common.h"
#include "fuzz_json_compare.h"

static lua_State *L;

/* jansson as strict as the codec: any top-level value, NUL inside strings allowed. */
static json_t *jload(const char *s, size_t n, json_error_t *e)
{
    return json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, e);
}

static void check_equal(const json_t *in, const json_t *out, const char *what, const uint8_t *data,
                        size_t size, const lc_buf_t *b)
{
    char where[256] = "", why[256] = "";
    FUZZ_ASSERT(fuzz_json_equal(in, out, where, sizeof(where), 0, why, sizeof(why)),
                "%s round trip differs at value%s: %s\n  in:  %.*s\n  out: %.*s", what, where, why,
                (int)(size > 400 ? 400 : size), (const char *)data,
                (int)(b->len > 400 ? 400 : b->len), b->data ? b->data : "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lc_converter_t plain = {LC_CONV_JSON, 0};
    char err[1024];
    lc_buf_t b1 = {0}, b2 = {0}, bs = {0};
    int top, is_null = 0;
    json_error_t je;

    if (size == 0) return 0; /* a Kafka null, no JSON */
    L = fuzz_state();
    top = lua_gettop(L);
    if (lc_conv_to_lua(&plain, L, data, size, err, sizeof(err)) != 0) {
        lc_lua_close(L);
        return 0;
    }
    int rc = lc_conv_from_lua(&plain, L, top + 1, top + 2, &b1, &is_null, err, sizeof(err));
    FUZZ_ASSERT(rc == 0, "decoded but does not encode: %s\n  in: %.*s", err,
                (int)(size > 400 ? 400 : size), (const char *)data);
    FUZZ_ASSERT(lua_gettop(L) == top + 2, "encode left the stack at %d", lua_gettop(L) - top);
    if (is_null) lc_buf_append(&b1, "null", 4); /* top-level null: a tombstone */

    json_t *out = jload(b1.data, b1.len, &je);
    FUZZ_ASSERT(out != NULL, "output is not JSON (%s at %d)\n  out: %.*s", je.text, je.position,
                (int)(b1.len > 400 ? 400 : b1.len), b1.data);
    json_t *in = jload((const char *)data, size, &je);
    if (in) check_equal(in, out, "converter", data, size, &b1);

    /* Fixed point: the output decodes and encodes to the same document (object keys come
     * out in table order, so the bytes may differ). */
    lua_settop(L, top);
    rc = lc_conv_to_lua(&plain, L, b1.data, b1.len, err, sizeof(err));
    FUZZ_ASSERT(rc == 0, "output does not decode: %s\n  out: %.*s", err,
                (int)(b1.len > 400 ? 400 : b1.len), b1.data);
    rc = lc_conv_from_lua(&plain, L, top + 1, top + 2, &b2, &is_null, err, sizeof(err));
    FUZZ_ASSERT(rc == 0, "output decodes but does not encode: %s\n  out: %.*s", err,
                (int)(b1.len > 400 ? 400 : b1.len), b1.data);
    if (is_null) lc_buf_append(&b2, "null", 4);
    json_t *twice = jload(b2.data, b2.len, &je);
    FUZZ_ASSERT(twice != NULL, "second output is not JSON (%s)", je.text);
    check_equal(out, twice, "second", (const uint8_t *)b1.data, b1.len, &b2);
    json_decref(twice);
    lua_settop(L, top);

    /* lc_json_decode + lc_json_encode_sorted: same document as the converter wrote. */
    rc = lc_json_decode(L, (const char *)data, size, err, sizeof(err));
    FUZZ_ASSERT(rc == 0, "converter decodes but lc_json_decode does not: %s", err);
    rc = lc_json_encode_sorted(L, -1, &bs, err, sizeof(err));
    FUZZ_ASSERT(rc == 0, "lc_json_decode result does not encode sorted: %s", err);
    json_t *sorted = jload(bs.data, bs.len, &je);
    FUZZ_ASSERT(sorted != NULL, "sorted output is not JSON (%s)\n  out: %.*s", je.text,
                (int)(bs.len > 400 ? 400 : bs.len), bs.data);
    check_equal(out, sorted, "sorted", data, size, &bs);
    lua_settop(L, top);

    lc_lua_close(L);
    json_decref(sorted);
    json_decref(in);
    json_decref(out);
    lc_buf_free(&b1);
    lc_buf_free(&b2);
    lc_buf_free(&bs);
    return 0;
}
