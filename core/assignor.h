/* assignor: who runs what in a cluster, in the spirit of Kafka Connect's incremental
 * cooperative assignor — connectors and tasks balanced within +-1 per worker, sticky (the
 * fewest moves), deterministic — and what must be revoked before the new placements start.
 * A pure function over JSON. Depends on jansson. */
#ifndef LC_ASSIGNOR_H
#define LC_ASSIGNOR_H

#include <jansson.h>

/** members: array of worker ids alive now. prev: {"<worker>":{"connectors":[c...],
 * "tasks":[[c,n]...]}} the assignment in force (workers gone or unknown are ignored, their
 * work is unassigned). connectors: array of names; tasks: array of [c,n].
 * Returns a new assignment for exactly `members`: every connector and task assigned once,
 * connectors balanced within +-1 per worker and tasks balanced within +-1 per worker
 * (counted separately, as Connect does), sticky: whatever may stay where it is stays, and the
 * fewest move; deterministic for equal inputs (ties broken by worker id order). */
json_t *lc_assign(json_t *members, json_t *prev, json_t *connectors, json_t *tasks);
/** What must be revoked first: for each worker in prev still in members, the connectors
 * and tasks it holds in prev but not in next: {"<worker>":{"connectors":[],"tasks":[]}}. */
json_t *lc_assign_revocations(json_t *prev, json_t *next, json_t *members);

#endif
