/* fuzz_roundtrip: whatever JsonConverter (schemas.enable=false) decodes must encode back
 * to equivalent JSON.
 *
 * For each input that the codec decodes: encoding must succeed; when jansson reads the
 * input, it must read the output too and the two documents must be equal under the value
 * model (fuzz_json_compare.h: int vs float, -0.0, 64-bit integers, null). Independent of
 * jansson, lc_json_decode + lc_json_encode_sorted (offsets, partitions; its bytes do not
 * depend on table order) must give the same bytes for the input, for the converter's
 * output and for its own output (a fixed point). A difference is a finding. Each input gets
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

/* Decodes text with lc_json_decode and encodes it sorted into out (reset first). */
static void sorted_of(const char *text, size_t n, lc_buf_t *out, const char *what)
{
    char err[1024];
    int top = lua_gettop(L);
    out->len = 0;
    int rc = lc_json_decode(L, text, n, err, sizeof(err));
    FUZZ_ASSERT(rc == 0, "%s: lc_json_decode fails: %s\n  text: %.*s", what, err,
                (int)(n > 400 ? 400 : n), text);
    rc = lc_json_encode_sorted(L, -1, out, err, sizeof(err));
    FUZZ_ASSERT(rc == 0, "%s: decoded but does not encode sorted: %s\n  text: %.*s", what, err,
                (int)(n > 400 ? 400 : n), text);
    lua_settop(L, top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lc_converter_t plain = {LC_CONV_JSON, 0};
    char err[1024];
    lc_buf_t b1 = {0}, s0 = {0}, s1 = {0}, s2 = {0};
    int is_null = 0;
    json_error_t je;

    if (size == 0) return 0; /* a Kafka null, no JSON */
    L = fuzz_state();
    if (lc_conv_to_lua(&plain, L, data, size, err, sizeof(err)) != 0) goto done;
    int rc = lc_conv_from_lua(&plain, L, 1, 2, &b1, &is_null, err, sizeof(err));
    FUZZ_ASSERT(rc == 0, "decoded but does not encode: %s\n  in: %.*s", err,
                (int)(size > 400 ? 400 : size), (const char *)data);
    FUZZ_ASSERT(lua_gettop(L) == 2, "encode left the stack at %d", lua_gettop(L));
    lua_settop(L, 0);
    if (is_null) lc_buf_append(&b1, "null", 4); /* top-level null: a tombstone */

    /* Against jansson, when jansson reads the input (it refuses "\u0000" in object keys). */
    json_t *in = jload((const char *)data, size, &je);
    if (in) {
        json_t *out = jload(b1.data, b1.len, &je);
        FUZZ_ASSERT(out != NULL, "output is not JSON (%s at %d)\n  out: %.*s", je.text, je.position,
                    (int)(b1.len > 400 ? 400 : b1.len), b1.data);
        check_equal(in, out, "converter", data, size, &b1);
        json_decref(out);
        json_decref(in);
    }

    /* The same document through lc_json_decode + lc_json_encode_sorted, whose bytes do not
     * depend on table order: the input, the converter's output, and that sorted output
     * decoded and sorted again (the fixed point) must give the same bytes. */
    sorted_of((const char *)data, size, &s0, "input");
    sorted_of(b1.data, b1.len, &s1, "converter output");
    sorted_of(s0.data, s0.len, &s2, "sorted output");
    FUZZ_ASSERT(s0.len == s1.len && memcmp(s0.data, s1.data, s0.len) == 0,
                "converter output is another document\n  in:  %.*s\n  out: %.*s\n  sorted in:  "
                "%.*s\n  sorted out: %.*s",
                (int)(size > 400 ? 400 : size), (const char *)data,
                (int)(b1.len > 400 ? 400 : b1.len), b1.data, (int)(s0.len > 400 ? 400 : s0.len),
                s0.data, (int)(s1.len > 400 ? 400 : s1.len), s1.data);
    FUZZ_ASSERT(s0.len == s2.len && memcmp(s0.data, s2.data, s0.len) == 0,
                "sorted encoding is not a fixed point\n  once:  %.*s\n  twice: %.*s",
                (int)(s0.len > 400 ? 400 : s0.len), s0.data, (int)(s2.len > 400 ? 400 : s2.len),
                s2.data);
done:
    lc_lua_close(L);
    lc_buf_free(&b1);
    lc_buf_free(&s0);
    lc_buf_free(&s1);
    lc_buf_free(&s2);
    return 0;
}
