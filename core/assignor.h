/* assignor: Kafka Connect's incremental cooperative assignment (KIP-415) as a pure function.
 *
 * The leader of the worker group calls lc_assign with the members alive now, the assignment in
 * force and the configured connectors and tasks, and gets the next assignment; what a worker
 * must stop first is lc_assign_revocations. No state is kept between calls: Connect's
 * scheduled.rebalance.max.delay.ms (lost work held back for a departed worker) and its
 * "no revocation in two consecutive rounds" rule belong to the caller. Depends on jansson. */
#ifndef LC_ASSIGNOR_H
#define LC_ASSIGNOR_H

#include <jansson.h>

/** members: array of worker ids alive now. prev: {"<worker>":{"connectors":[c...],
 * "tasks":[[c,n]...]}} the assignment in force (workers gone or unknown are ignored, their
 * work is unassigned). connectors: array of names; tasks: array of [c,n].
 * Returns a new assignment for exactly `members`: every connector and task assigned once,
 * connectors balanced within +-1 per worker and tasks balanced within +-1 per worker
 * (counted separately, as Connect does), sticky: whatever may stay where it is stays, and the
 * fewest move; deterministic for equal inputs (ties broken by worker id order).
 * Lists come out sorted (connector name, then task number); a connector or task held by two
 * workers in prev stays with the first in id order. NULL when members is not an array;
 * malformed entries (not a string, not [string, integer]) are skipped. Caller decrefs. */
json_t *lc_assign(json_t *members, json_t *prev, json_t *connectors, json_t *tasks);
/** What must be revoked first: for each worker in prev still in members, the connectors
 * and tasks it holds in prev but not in next: {"<worker>":{"connectors":[],"tasks":[]}}.
 * Workers with nothing to revoke are left out, so an empty object means no revocation round.
 * Caller decrefs; NULL only on OOM. */
json_t *lc_assign_revocations(json_t *prev, json_t *next, json_t *members);
/** prev without what revoked (as lc_assign_revocations returns it) names: the interim
 * assignment workers hold while a revocation round runs. Caller decrefs. */
json_t *lc_assign_without(json_t *prev, json_t *revoked);

#endif
