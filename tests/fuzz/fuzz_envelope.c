/* fuzz_envelope: JsonConverter with schemas.enable=true, the {"schema":...,"payload":...}
 * envelope, decoded and encoded again.
 *
 * For each input the codec decodes: encoding the value with its schema must succeed and
 * give an envelope jansson reads (an object of exactly "schema" and "payload", the schema
 * null exactly when the decoded schema is nil). Decoding that output and encoding again is
 * a fixed point: the schema text is the same byte for byte (Kafka Connect's key order,
 * optional filled in: the first output is the normal form, not the input) and the payload
 * the same document (schemaless objects and maps come out in table order, so map entries
 * [[k,v],...] are compared sorted). With
 * "schema":null the payload must come back equal to the input's under the value model
 * (fuzz_json_compare.h); with a schema, every value the input gives comes back as the same
 * value of its type (payload_kept). Each input gets a fresh task-like lua_State, closed
 * afterwards. */
#include "fuzz_common.h"
#include "fuzz_json_compare.h"

static lua_State *L;

#define SHOW(b) (int)((b).len > 600 ? 600 : (b).len), (b).data ? (b).data : ""

/* Parses an encoder output that must be an envelope. */
static json_t *load_envelope(const lc_buf_t *b, const lc_buf_t *in)
{
    json_error_t je;
    json_t *j = json_loadb(b->data, b->len, JSON_ALLOW_NUL, &je);
    FUZZ_ASSERT(j && json_is_object(j) && json_object_size(j) == 2 &&
                    json_object_get(j, "schema") && json_object_get(j, "payload"),
                "output is no envelope (%s)\n  in:  %.*s\n  out: %.*s", j ? "keys" : je.text,
                SHOW(*in), SHOW(*b));
    return j;
}

static int cmp_entry(const void *a, const void *b)
{
    char *x = json_dumps(json_array_get(*(json_t *const *)a, 0), JSON_COMPACT | JSON_ENCODE_ANY);
    char *y = json_dumps(json_array_get(*(json_t *const *)b, 0), JSON_COMPACT | JSON_ENCODE_ANY);
    int c = strcmp(x ? x : "", y ? y : "");
    free(x);
    free(y);
    return c;
}

/* Sorts the [[k,v],...] entries of maps with non-string keys (a map has no order, the
 * encoder writes table order), walking payload p along schema s (both jansson). */
static void sort_maps(json_t *s, json_t *p)
{
    const char *type = json_string_value(json_object_get(s, "type"));
    if (!type || !p || json_is_null(p)) return;
    if (strcmp(type, "struct") == 0 && json_is_object(p)) {
        json_t *f;
        size_t i;
        json_array_foreach(json_object_get(s, "fields"), i, f)
        {
            sort_maps(f, json_object_get(p, json_string_value(json_object_get(f, "field"))));
        }
    } else if (strcmp(type, "array") == 0 && json_is_array(p)) {
        json_t *v;
        size_t i;
        json_array_foreach(p, i, v) sort_maps(json_object_get(s, "items"), v);
    } else if (strcmp(type, "map") == 0 && json_is_object(p)) {
        const char *k;
        json_t *v;
        json_object_foreach(p, k, v) sort_maps(json_object_get(s, "values"), v);
    } else if (strcmp(type, "map") == 0 && json_is_array(p)) {
        size_t n = json_array_size(p), i;
        json_t **e = calloc(n ? n : 1, sizeof(*e));
        for (i = 0; i < n; i++) {
            e[i] = json_incref(json_array_get(p, i));
            sort_maps(json_object_get(s, "keys"), json_array_get(e[i], 0));
            sort_maps(json_object_get(s, "values"), json_array_get(e[i], 1));
        }
        qsort(e, n, sizeof(*e), cmp_entry);
        for (i = 0; i < n; i++)
            json_array_set_new(p, i, e[i]);
        free(e);
    }
}

/* Is out what a payload value in becomes under schema s (the output's schema, normal form)?
 * Numbers compare by value (1 and 1.0 are the same int32; float32 at float precision),
 * struct fields and map entries that the input leaves null or out are skipped (defaults and
 * nulls fill them), bytes only by presence (base64 has more than one spelling), maps with
 * non-string keys by entry count (repeated keys collapse, as in Kafka Connect). Returns 1,
 * or 0 with why. */
static int payload_kept(json_t *s, json_t *in, json_t *out, char *why, size_t whysz)
{
    const char *type = json_string_value(json_object_get(s, "type"));
    if (!type || !in || json_is_null(in)) return 1;
    if (!out || json_is_null(out)) {
        snprintf(why, whysz, "%s value became null", type);
        return 0;
    }
    if (json_is_number(in)) {
        double a = json_number_value(in), b = json_number_value(out);
        if (!json_is_number(out) || (strcmp(type, "float") == 0 ? (float)a != (float)b : a != b)) {
            snprintf(why, whysz, "%s %.17g became %.17g", type, a, b);
            return 0;
        }
        if (json_is_integer(in) && json_is_integer(out) &&
            json_integer_value(in) != json_integer_value(out)) {
            snprintf(why, whysz, "%s %lld became %lld", type, (long long)json_integer_value(in),
                     (long long)json_integer_value(out));
            return 0;
        }
        return 1;
    }
    if (strcmp(type, "struct") == 0) {
        json_t *f;
        size_t i;
        json_array_foreach(json_object_get(s, "fields"), i, f)
        {
            const char *k = json_string_value(json_object_get(f, "field"));
            if (!payload_kept(f, json_object_get(in, k), json_object_get(out, k), why, whysz))
                return 0;
        }
        return 1;
    }
    if (strcmp(type, "array") == 0) {
        json_t *v;
        size_t i;
        if (json_array_size(in) != json_array_size(out)) {
            snprintf(why, whysz, "array of %zu became %zu items", json_array_size(in),
                     json_array_size(out));
            return 0;
        }
        json_array_foreach(in, i, v)
        {
            if (!payload_kept(json_object_get(s, "items"), v, json_array_get(out, i), why, whysz))
                return 0;
        }
        return 1;
    }
    if (strcmp(type, "map") == 0 && json_is_object(in)) {
        const char *k;
        json_t *v;
        json_object_foreach(in, k, v)
        {
            if (!json_is_null(v) && !json_object_get(out, k)) {
                snprintf(why, whysz, "map key '%s' lost", k);
                return 0;
            }
            if (!payload_kept(json_object_get(s, "values"), v, json_object_get(out, k), why, whysz))
                return 0;
        }
        return 1;
    }
    if (strcmp(type, "map") == 0) {
        if (json_array_size(out) > json_array_size(in) ||
            (json_array_size(in) > 0 && json_array_size(out) == 0)) {
            snprintf(why, whysz, "map of %zu became %zu entries", json_array_size(in),
                     json_array_size(out));
            return 0;
        }
        return 1;
    }
    if (strcmp(type, "bytes") == 0) return 1;
    if (!json_equal(in, out)) {
        snprintf(why, whysz, "%s value changed", type);
        return 0;
    }
    return 1;
}

static void check_same(const json_t *a, const json_t *b, const char *what, const lc_buf_t *in,
                       const lc_buf_t *out)
{
    char where[256] = "", why[256] = "";
    FUZZ_ASSERT(fuzz_json_equal(a, b, where, sizeof(where), 0, why, sizeof(why)),
                "%s differs at payload%s: %s\n  in:  %.*s\n  out: %.*s", what, where, why,
                SHOW(*in), SHOW(*out));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lc_converter_t env = {LC_CONV_JSON, 1};
    char err[1024];
    lc_buf_t b1 = {0}, b2 = {0};
    const lc_buf_t in_text = {(char *)data, size, size};
    int is_null = 0, rc;

    if (size == 0) return 0; /* a Kafka null */
    L = fuzz_state();
    if (lc_conv_to_lua(&env, L, data, size, err, sizeof(err)) != 0) goto done;
    rc = lc_conv_from_lua(&env, L, 1, 2, &b1, &is_null, err, sizeof(err));
    FUZZ_ASSERT(rc == 0, "decoded but does not encode: %s\n  in: %.*s", err, SHOW(in_text));
    FUZZ_ASSERT(lua_gettop(L) == 2, "encode left the stack at %d", lua_gettop(L));
    int schema_nil = lua_isnil(L, 2);
    lua_settop(L, 0);
    if (is_null) goto done; /* payload null: a tombstone, nothing to compare */

    rc = lc_conv_to_lua(&env, L, b1.data, b1.len, err, sizeof(err));
    FUZZ_ASSERT(rc == 0, "output does not decode: %s\n  in:  %.*s\n  out: %.*s", err, SHOW(in_text),
                SHOW(b1));
    rc = lc_conv_from_lua(&env, L, 1, 2, &b2, &is_null, err, sizeof(err));
    FUZZ_ASSERT(rc == 0 && !is_null, "output decodes but does not encode: %s\n  out: %.*s",
                rc ? err : "null", SHOW(b1));

    /* The rest compares documents with jansson, which refuses some inputs the codec takes
     * ("\u0000" in an object key). */
    json_t *in = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    if (!in) goto done;
    json_t *out = load_envelope(&b1, &in_text);
    FUZZ_ASSERT(json_is_null(json_object_get(out, "schema")) == schema_nil,
                "schema %s in the output, decoded schema %s\n  out: %.*s",
                json_is_null(json_object_get(out, "schema")) ? "null" : "present",
                schema_nil ? "nil" : "present", SHOW(b1));
    if (schema_nil && json_object_get(in, "payload"))
        check_same(json_object_get(in, "payload"), json_object_get(out, "payload"),
                   "schemaless payload", &in_text, &b1);
    if (!schema_nil) {
        char why[256] = "";
        FUZZ_ASSERT(payload_kept(json_object_get(out, "schema"), json_object_get(in, "payload"),
                                 json_object_get(out, "payload"), why, sizeof(why)),
                    "payload changed: %s\n  in:  %.*s\n  out: %.*s", why, SHOW(in_text), SHOW(b1));
    }
    json_t *twice = load_envelope(&b2, &b1);
    char *s1 = json_dumps(json_object_get(out, "schema"), JSON_COMPACT | JSON_ENCODE_ANY);
    char *s2 = json_dumps(json_object_get(twice, "schema"), JSON_COMPACT | JSON_ENCODE_ANY);
    FUZZ_ASSERT(s1 && s2 && strcmp(s1, s2) == 0,
                "schema is not a fixed point\n  in:    %.*s\n  once:  %.*s\n  twice: %.*s",
                SHOW(in_text), SHOW(b1), SHOW(b2));
    sort_maps(json_object_get(out, "schema"), json_object_get(out, "payload"));
    sort_maps(json_object_get(twice, "schema"), json_object_get(twice, "payload"));
    check_same(json_object_get(out, "payload"), json_object_get(twice, "payload"), "encoding twice",
               &b1, &b2);
    free(s1);
    free(s2);
    json_decref(twice);
    json_decref(in);
    json_decref(out);
done:
    lc_lua_close(L);
    lc_buf_free(&b1);
    lc_buf_free(&b2);
    return 0;
}
