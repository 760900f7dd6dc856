/* offsets_admin: reading and changing a connector's offsets for the REST API, in Kafka
 * Connect's {"offsets":[{"partition":{...},"offset":{...}|null}]} shape. Source offsets live
 * in the offset store (key ["<connector>",{partition}]); sink offsets are the committed
 * offsets of the connect-<connector> consumer group, read and changed through librdkafka's
 * admin API. The herder takes the connector's facts under its own lock and makes sure the
 * connector cannot start meanwhile.
 * Depends on worker (store, admin client), task (state names), log, jansson. */
#ifndef LC_OFFSETS_ADMIN_H
#define LC_OFFSETS_ADMIN_H

#include <jansson.h>
#include <stddef.h>

#include "worker.h"

/** The offsets of connector name (is_source: its type; known: 0 when its config never
 * planned, so its type is unknown). 200 with *out, 400, 500 with errstr. */
int lc_offsets_get(lc_worker_t *w, const char *name, int is_source, int known, json_t **out,
                   char *errstr, size_t errstr_size);
/** Alters (body {"offsets":[...]}) or resets (body NULL) the offsets of connector name,
 * whose connector state is state (it must be STOPPED). 200 with a message in errstr, 400,
 * 500. */
int lc_offsets_alter(lc_worker_t *w, const char *name, int is_source, int state, int known,
                     json_t *body, char *errstr, size_t errstr_size);

#endif
