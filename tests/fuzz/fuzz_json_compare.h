/* fuzz_json_compare: compares two JSON documents parsed by jansson under luaconnect's value
 * model (docs/ARCHITECTURE.md, "Value model"), for the round-trip harnesses.
 *
 * Integers and floats are different things (1 is not 1.0: the int/float distinction
 * survives a round trip); floats compare bit for bit (-0.0 is not 0.0); integers are
 * jansson's 64-bit json_int_t, so big integers compare exactly; strings compare with their
 * length (\u0000 inside included); objects compare as sets of keys, arrays in order; null
 * is null (connect.null inside a value, a Kafka null at the top). Depends on jansson. */
#ifndef LC_FUZZ_JSON_COMPARE_H
#define LC_FUZZ_JSON_COMPARE_H

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Returns 1 when a and b are equal; otherwise 0 with where (a JSON path) and why. */
static int fuzz_json_equal(const json_t *a, const json_t *b, char *where, size_t where_size,
                           size_t at, char *why, size_t why_size)
{
    if (json_typeof(a) != json_typeof(b)) {
        static const char *const names[] = {"object", "array", "string", "integer",
                                            "real",   "true",  "false",  "null"};
        snprintf(why, why_size, "%s became %s", names[json_typeof(a)], names[json_typeof(b)]);
        return 0;
    }
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b)) {
            snprintf(why, why_size, "object of %zu keys became one of %zu", json_object_size(a),
                     json_object_size(b));
            return 0;
        }
        json_object_foreach((json_t *)a, k, v)
        {
            json_t *w = json_object_get(b, k);
            size_t n =
                at + (size_t)snprintf(where + at, at < where_size ? where_size - at : 0, ".%s", k);
            if (n >= where_size) n = where_size - 1;
            if (!w) {
                snprintf(why, why_size, "key lost");
                return 0;
            }
            if (!fuzz_json_equal(v, w, where, where_size, n, why, why_size)) return 0;
            where[at] = '\0';
        }
        return 1;
    }
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b)) {
            snprintf(why, why_size, "array of %zu items became one of %zu", json_array_size(a),
                     json_array_size(b));
            return 0;
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
            size_t n = at + (size_t)snprintf(where + at, at < where_size ? where_size - at : 0,
                                             "[%zu]", i);
            if (n >= where_size) n = where_size - 1;
            if (!fuzz_json_equal(json_array_get(a, i), json_array_get(b, i), where, where_size, n,
                                 why, why_size))
                return 0;
            where[at] = '\0';
        }
        return 1;
    case JSON_STRING:
        if (json_string_length(a) != json_string_length(b) ||
            memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) != 0) {
            snprintf(why, why_size, "string \"%.40s\" became \"%.40s\"", json_string_value(a),
                     json_string_value(b));
            return 0;
        }
        return 1;
    case JSON_INTEGER:
        if (json_integer_value(a) != json_integer_value(b)) {
            snprintf(why, why_size, "integer %lld became %lld", (long long)json_integer_value(a),
                     (long long)json_integer_value(b));
            return 0;
        }
        return 1;
    case JSON_REAL: {
        double x = json_real_value(a), y = json_real_value(b);
        if (memcmp(&x, &y, sizeof x) != 0) {
            snprintf(why, why_size, "float %.17g became %.17g", x, y);
            return 0;
        }
        return 1;
    }
    default:
        return 1;
    }
}

#endif
