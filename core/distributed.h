/* distributed: the distributed herder — a worker of a cluster coordinated by Kafka, on Kafka
 * Connect's own topics (docs/distributed.md, docs/ARCHITECTURE.md "Distributed mode").
 *
 * State: connector configs, target states and task configs come from the config topic
 * (config_topic.h); statuses and source offsets from the status and offsets topics
 * (kafka_stores.h); who runs what from the leader's assignment records on the coordination
 * topic. Membership (membership.h) elects the leader: the member holding the coordination
 * topic's partition 0. Only the leader writes configs and assignments, through a
 * transactional producer (txwriter.h) that fences any earlier leader; the REST layer forwards
 * writes that reach a follower to the leader (leader_url).
 *
 * Threads: REST threads call the herder operations; one tick thread reconciles what this
 * worker runs with the latest assignment (stopping revoked tasks before acknowledging, so no
 * task runs on two members at once), and on the leader computes assignments (assignor.h).
 * `mu` guards the state read from the topics and the local connectors; task threads are
 * joined outside it. Depends on herder, worker, connector, connector_json, task, config_topic,
 * membership, txwriter, klog, kafka_stores, internal_topics, assignor, signature,
 * http_client, offsets_admin, validate, log. */
#ifndef LC_DISTRIBUTED_H
#define LC_DISTRIBUTED_H

#include <stddef.h>

#include "herder.h"
#include "worker.h"

typedef struct lc_distributed lc_distributed_t;

/** A distributed herder over worker w (not owned), reading the distributed worker keys;
 * nothing starts yet. NULL with errstr naming the missing or bad key. */
lc_distributed_t *lc_distributed_new(lc_worker_t *w, char *errstr, size_t errstr_size);
/** The herder interface, for the REST API. */
lc_herder_t *lc_distributed_herder(lc_distributed_t *d);
/** Creates or checks the internal topics, reads them to the end, joins the group and starts
 * the tick thread; url is this worker's advertised REST URL. 0, or -1 with errstr (a topic
 * that is not compacted, a broker that cannot be reached). */
int lc_distributed_start(lc_distributed_t *d, const char *url, char *errstr, size_t errstr_size);
/** Leaves the group and stops every task of this worker. */
void lc_distributed_stop(lc_distributed_t *d);
/** Stops (if needed) and frees; NULL is a no-op. */
void lc_distributed_destroy(lc_distributed_t *d);

#endif
