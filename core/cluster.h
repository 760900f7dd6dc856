/* cluster: a distributed worker's view of its cluster and the loop that acts on it. It reads
 * Kafka Connect's config topic (config_topic.h), the status and offsets topics
 * (kafka_stores.h) and the leader's assignment records on the coordination topic; it holds
 * this worker's group membership (membership.h) and, while it is the leader, the fenceable
 * writer (txwriter.h).
 *
 * The tick thread: on every change it reconciles what this worker runs with the latest
 * assignment — revoked tasks are stopped before the revocation is acknowledged, so a task
 * never runs on two members at once — and writes the connector statuses it owns. On the
 * leader it also lists the members, computes the next assignment (assignor.h: balanced,
 * sticky; revocations first, the new placements once they are acknowledged; a departed
 * worker's share waits scheduled.rebalance.max.delay.ms), keeps the session key fresh, and
 * plans the tasks of connectors whose task configs are missing.
 *
 * The distributed herder (distributed.h) reads this state under `mu` for the REST views and
 * writes through lc_cluster_leader_write. Depends on worker, connector, task, config_topic,
 * membership, txwriter, klog, kafka_stores, internal_topics, assignor, signature,
 * http_client, config, log. */
#ifndef LC_CLUSTER_H
#define LC_CLUSTER_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "config_topic.h"
#include "connector.h"
#include "kafka_stores.h"
#include "klog.h"
#include "membership.h"
#include "txwriter.h"
#include "worker.h"

/** A connector as this worker holds it: planned from its config (type, secrets, what its
 * tasks need) with the committed task configs as its tasks. */
typedef struct lc_dconn {
    char *name;
    json_t *config;         /* as in the config topic */
    int task_gen;           /* the task generation its tasks were built from */
    int target;             /* the target state its tasks run with */
    lc_connector_t *c;      /* NULL when the config does not plan */
    char *plan_error;       /* why it does not plan */
    int owned;              /* this worker runs the connector itself */
    int reported;           /* connector state last written to the status topic, or -1 */
    long long submitted_ms; /* owner: when it last sent task configs to the leader */
    long long awaiting_ms;  /* since when a new config waits for its task configs, or 0 */
} lc_dconn_t;

typedef struct lc_cluster {
    lc_worker_t *w;
    const lc_props_t *props;
    char group[256], config_topic[256], coord_topic[256], txid[300];
    char url[512];
    long delay_ms, sync_ms, unsync_ms, rebalance_ms, key_ttl_ms;
    int leaving; /* tick thread: left the group for worker.unsync.backoff.ms */
    int key_size;
    char key_alg[64];

    lc_kstores_t *stores;
    lc_klog_t *config_log, *coord_log;
    lc_membership_t *member;
    lc_txwriter_t *txw; /* the leader's writer, under wmu */
    pthread_mutex_t wmu;

    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;
    lc_cfgtopic_t *cfg;
    json_t *assignment; /* the latest assignment record */
    json_t *acks;       /* worker id -> generation acknowledged */
    long changes;       /* bumped by every record and membership change */
    lc_dconn_t **conns;
    int nconns;
    json_t *restart_tasks; /* [[connector, task]] to restart here (REST, tick thread) */

    /* The tick thread's own. */
    long seen_rebalances, seen_losses;
    json_t *departed;      /* worker id -> wall ms it was last seen a member */
    json_t *pending;       /* an assignment awaiting its revocations' acknowledgements */
    long long pending_gen; /* the revoking generation awaited */
    long long pending_since;
    long long applied_gen; /* the assignment generation this worker applied last */
    long long wait_gen;    /* after losing membership: nothing runs below this generation */
    long long last_members_ms;
    long lead_rebalances; /* view.rebalances when this worker last held partition 0 */
    int retry_soon; /* the leader could not see the group's members (rebalancing): tick soon */
    json_t *members;

    pthread_t tick;
    int tick_started;
    atomic_int stopping;
    atomic_int ready;
} lc_cluster_t;

/** Reads the distributed worker keys of w; nothing starts. NULL with errstr. */
lc_cluster_t *lc_cluster_new(lc_worker_t *w, char *errstr, size_t errstr_size);
/** Creates or checks the internal topics, reads them to their end, joins the group, starts
 * the tick thread. url: this worker's advertised REST URL. 0 or -1 with errstr. */
int lc_cluster_start(lc_cluster_t *cl, const char *url, char *errstr, size_t errstr_size);
/** Leaves the group, stops this worker's tasks and the threads. */
void lc_cluster_stop(lc_cluster_t *cl);
/** Stops if needed and frees; NULL is a no-op. */
void lc_cluster_free(lc_cluster_t *cl);

/** Wakes the tick thread (something changed). */
void lc_cluster_wake(lc_cluster_t *cl);
/** The local connector called name, or NULL; caller holds mu. */
lc_dconn_t *lc_cluster_find(lc_cluster_t *cl, const char *name);
/** The worker the latest assignment gives connector name (task n when n >= 0), or NULL;
 * caller holds mu. */
const char *lc_cluster_owner(lc_cluster_t *cl, const char *name, int n);
/** The leader's URL from the latest assignment ("" when it is unknown or is this worker;
 * caller frees). */
char *lc_cluster_leader_url(lc_cluster_t *cl);
/** 1 while this worker is the leader. */
int lc_cluster_is_leader(lc_cluster_t *cl);
/** Writes n records in one transaction as the leader, then reads the config topic back so
 * the views show them. 0, or -1 with errstr (not the leader, fenced, broker). */
int lc_cluster_leader_write(lc_cluster_t *cl, const lc_txrecord_t *recs, int n, char *errstr,
                            size_t errstr_size);
/** Asks the tick thread to restart task n of connector name, which runs here. */
void lc_cluster_restart_task(lc_cluster_t *cl, const char *name, int n);

#endif
