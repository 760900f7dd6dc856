/* membership: this worker's membership of the cluster, through Kafka's group coordinator.
 * librdkafka cannot speak Kafka Connect's group protocol, so every worker is a consumer in
 * group.id subscribed to the 1-partition coordination topic with the range assignor: the
 * member the broker's assignment gives partition 0 is the leader. The client.id carries the
 * join time, so the oldest membership leads; a worker whose membership was lost joins again
 * with a new handle (a new join time) and so as a follower, as in Connect. A thread of its own
 * polls the consumer (so rebalances and heartbeats never wait on a task or a script) and publishes
 * what it learns: leader or not, a rebalance count, and whether membership was lost (session
 * timeout). The members are listed through the group coordinator (each member's client.id
 * holds its worker id). Depends on kafka, log, librdkafka, jansson. */
#ifndef LC_MEMBERSHIP_H
#define LC_MEMBERSHIP_H

#include <jansson.h>
#include <stddef.h>

#include "kafka.h"
#include "props.h"

typedef struct lc_membership lc_membership_t;

/** What the membership thread saw (a consistent snapshot). */
typedef struct lc_member_view {
    int joined;      /* 1 while this worker holds a membership (after its first assignment) */
    int leader;      /* 1 while this worker holds partition 0 */
    long rebalances; /* increases with every completed rebalance */
    long losses;     /* increases each time membership was lost (session timeout, fenced) */
} lc_member_view_t;

/** Joins group_id on topic with client.id worker_id, session.timeout.ms, heartbeat.interval.ms
 * and rebalance.timeout.ms (as max.poll.interval.ms) from the worker props. notify(arg) is
 * called (from the membership thread) after every change. NULL with errstr. */
lc_membership_t *lc_membership_start(lc_kafka_t *k, const lc_props_t *worker_props,
                                     const char *group_id, const char *topic, const char *worker_id,
                                     void (*notify)(void *arg), void *arg, char *errstr,
                                     size_t errstr_size);
/** The current view. */
lc_member_view_t lc_membership_view(lc_membership_t *m);
/** The worker ids of the group's members, sorted (new reference), or NULL with errstr while
 * the group is rebalancing or the coordinator cannot be reached. */
json_t *lc_membership_members(lc_membership_t *m, char *errstr, size_t errstr_size);
/** The worker id inside a membership's client.id ("luaconnect-<join ms>-<worker id>"), or
 * NULL when client_id is not one. */
const char *lc_membership_worker_id(const char *client_id);
/** Leaves the group now (the others rebalance at once; the view counts a loss) and joins again,
 * as a new member, backoff_ms later: Connect's answer to a worker that cannot catch up with
 * the config topic within worker.sync.timeout.ms (it waits worker.unsync.backoff.ms). */
void lc_membership_leave(lc_membership_t *m, long backoff_ms);
/** Leaves the group (the others rebalance at once) and stops the thread; NULL is a no-op. */
void lc_membership_stop(lc_membership_t *m);

#endif
