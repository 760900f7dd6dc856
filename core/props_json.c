/* props_json: see props_json.h. */
#include "props_json.h"

#include <stdio.h>

int lc_props_from_json(json_t *o, lc_props_t *props, int allow_null, char *err, size_t errsz)
{
    const char *k;
    json_t *v;
    if (!json_is_object(o)) {
        snprintf(err, errsz, "the connector config must be a JSON object of strings");
        return -1;
    }
    json_object_foreach(o, k, v)
    {
        char num[64];
        const char *s = NULL;
        if (json_is_string(v)) {
            s = json_string_value(v);
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            s = num;
        } else if (json_is_real(v)) {
            snprintf(num, sizeof(num), "%.17g", json_real_value(v));
            s = num;
        } else if (json_is_boolean(v)) {
            s = json_is_true(v) ? "true" : "false";
        } else if (json_is_null(v) && allow_null) {
            lc_props_unset(props, k);
            continue;
        } else {
            snprintf(err, errsz, "config key '%s': the value must be a string, got %s", k,
                     json_is_null(v)    ? "null"
                     : json_is_array(v) ? "an array"
                                        : "an object");
            return -1;
        }
        lc_props_set(props, k, s);
    }
    return 0;
}
