/* props_json: a connector config as REST clients send it (a JSON object) into props.
 * Depends on props, jansson. */
#ifndef LC_PROPS_JSON_H
#define LC_PROPS_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "props.h"

/** Sets every key of the JSON object o in props: strings as they are, numbers and booleans
 * as their text (as Kafka Connect's JSON mapper takes them); a null removes the key when
 * allow_null (PATCH), else it is an error. 0, or -1 with err naming the key. */
int lc_props_from_json(json_t *o, lc_props_t *props, int allow_null, char *err, size_t errsz);

#endif
