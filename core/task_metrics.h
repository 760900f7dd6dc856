/* task_metrics: the counters each task thread keeps about its work (Kafka Connect's
 * source-task, sink-task, connector-task and task-error metric groups) and the registry the
 * metrics page reads them from. One writer per counter (the task's own thread) stores with
 * relaxed atomics: a plain load and store per batch, no lock and no read-modify-write on the
 * hot path. Readers (the REST thread) load relaxed; a value is at most one batch old.
 * The registry's mutex is taken when a task starts, stops or is freed, once per commit
 * interval (per-partition lag, per-transform drops), and by the reader; never per record.
 * Worker-level counters (task startups, rebalances, hot reloads per connector) live here too.
 * Depends on libc, jansson. */
#ifndef LC_TASK_METRICS_H
#define LC_TASK_METRICS_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/** The counters of one task (index into lc_task_metrics_t.v). */
enum {
    LC_TM_POLL_TOTAL,      /* source: records returned by poll() (before transforms) */
    LC_TM_WRITE_TOTAL,     /* source: records handed to the producer */
    LC_TM_ACTIVE,          /* source: records produced and not yet acknowledged */
    LC_TM_READ_TOTAL,      /* sink: records read from Kafka */
    LC_TM_SEND_TOTAL,      /* sink: records handed to put() after the transforms */
    LC_TM_BATCHES,         /* poll() or put() calls that returned records */
    LC_TM_BATCH_NS,        /* time in those calls, ns */
    LC_TM_BATCH_MAX_NS,    /* the longest */
    LC_TM_BATCH_RECORDS,   /* records in those batches (batch-size-avg) */
    LC_TM_BATCH_MAX,       /* the largest batch */
    LC_TM_COMMIT_OK,       /* offset commits that succeeded */
    LC_TM_COMMIT_FAIL,     /* that failed */
    LC_TM_COMMIT_SKIP,     /* sink: commits skipped (nothing new) */
    LC_TM_COMMIT_NS,       /* time in commits, ns */
    LC_TM_COMMIT_MAX_NS,   /* the longest */
    LC_TM_FAILURES,        /* task-error: records that failed (tolerated or not) */
    LC_TM_ERRORS,          /* task-error: records that failed and were tolerated */
    LC_TM_SKIPPED,         /* task-error: records skipped because of an error */
    LC_TM_RETRIES,         /* task-error: retried operations */
    LC_TM_LOGGED,          /* task-error: errors written to the log */
    LC_TM_DLQ_REQUESTS,    /* task-error: records sent to the dead letter queue */
    LC_TM_DLQ_FAILURES,    /* task-error: DLQ records the broker refused */
    LC_TM_LAST_ERROR_MS,   /* task-error: wall clock of the last error, ms */
    LC_TM_DROPPED,         /* records a transform or predicate dropped */
    LC_TM_RELOADS,         /* hot reloads this task took */
    LC_TM_RELOAD_FAILURES, /* hot reloads that failed the task */
    LC_TM_PARTITIONS,      /* sink: partitions assigned */
    LC_TM_STARTED_MS,      /* wall clock when the task thread started, ms */
    LC_TM_RUNNING_MS,      /* ms spent RUNNING before running_since */
    LC_TM_PAUSED_MS,       /* ms spent PAUSED before paused_since */
    LC_TM_RUNNING_SINCE,   /* wall ms of the switch to RUNNING, or 0 */
    LC_TM_PAUSED_SINCE,    /* wall ms of the switch to PAUSED, or 0 */
    LC_TM_STARTING,        /* 1 from a start until the task first runs or fails */
    LC_TM_LAG_MAX,         /* sink: the largest partition lag at the last commit */
    LC_TM_LUA_BYTES,       /* the task's Lua memory at the last commit, bytes */
    LC_TM_ACTIVE_MAX,      /* the largest active count sampled at the end of a batch */
    LC_TM_ACTIVE_SUM,      /* the active counts sampled, summed */
    LC_TM_ACTIVE_SAMPLES,  /* the batches sampled */
    LC_TM_READ_COMMITTED,  /* sink: LC_TM_READ_TOTAL at the last commit that left nothing due */
    LC_TM_COUNT
};

/** A sink task's consumer lag on one partition. */
typedef struct lc_partition_lag {
    char topic[256];
    int32_t partition;
    int64_t lag;
} lc_partition_lag_t;

/** Records one transform of a task's chain dropped, and its sampled time. */
typedef struct lc_transform_dropped {
    char alias[128];
    uint64_t dropped;
    uint64_t timed;    /* records it was timed on (one in 256: the SDK samples) */
    uint64_t timed_ns; /* the time they took in it, its predicate included, ns */
} lc_transform_dropped_t;

/** One task's counters; zero-initialised. */
typedef struct lc_task_metrics {
    _Atomic uint64_t v[LC_TM_COUNT];
    lc_partition_lag_t *lags; /* sink: per partition, under the registry's lock */
    int nlags;
    lc_transform_dropped_t *drops; /* per transform, under the registry's lock */
    int ndrops;
} lc_task_metrics_t;

/** Adds n to counter k: only the owning thread may call it (single writer). */
static inline void lc_task_metrics_add(lc_task_metrics_t *m, int k, uint64_t n)
{
    uint64_t v = atomic_load_explicit(&m->v[k], memory_order_relaxed);
    atomic_store_explicit(&m->v[k], v + n, memory_order_relaxed);
}

/** Sets counter k to n (single writer). */
static inline void lc_task_metrics_set(lc_task_metrics_t *m, int k, uint64_t n)
{
    atomic_store_explicit(&m->v[k], n, memory_order_relaxed);
}

/** Raises counter k to n when n is larger (a maximum; single writer). */
static inline void lc_task_metrics_max(lc_task_metrics_t *m, int k, uint64_t n)
{
    if (n > atomic_load_explicit(&m->v[k], memory_order_relaxed))
        atomic_store_explicit(&m->v[k], n, memory_order_relaxed);
}

/** Reads counter k (any thread). */
static inline uint64_t lc_task_metrics_get(const lc_task_metrics_t *m, int k)
{
    return atomic_load_explicit(&((lc_task_metrics_t *)m)->v[k], memory_order_relaxed);
}

/** Counts one failed record: tolerated (skipped, errors.tolerance=all) or not, written to the
 * log (errors.log.enable) and/or sent to the dead letter queue; now_ms is the wall clock. */
static inline void lc_task_metrics_failure(lc_task_metrics_t *m, int tolerated, int logged, int dlq,
                                           uint64_t now_ms)
{
    lc_task_metrics_add(m, LC_TM_FAILURES, 1);
    if (tolerated) {
        lc_task_metrics_add(m, LC_TM_ERRORS, 1);
        lc_task_metrics_add(m, LC_TM_SKIPPED, 1);
    }
    if (logged) lc_task_metrics_add(m, LC_TM_LOGGED, 1);
    if (dlq) lc_task_metrics_add(m, LC_TM_DLQ_REQUESTS, 1);
    lc_task_metrics_set(m, LC_TM_LAST_ERROR_MS, now_ms);
}

/** Counts one batch of n records that took ns nanoseconds. */
static inline void lc_task_metrics_batch(lc_task_metrics_t *m, uint64_t n, uint64_t ns)
{
    lc_task_metrics_add(m, LC_TM_BATCHES, 1);
    lc_task_metrics_add(m, LC_TM_BATCH_NS, ns);
    lc_task_metrics_max(m, LC_TM_BATCH_MAX_NS, ns);
    lc_task_metrics_add(m, LC_TM_BATCH_RECORDS, n);
    lc_task_metrics_max(m, LC_TM_BATCH_MAX, n);
}

/** The active count of a task: a source's records produced and not acknowledged, a sink's
 * records read and not committed yet. */
static inline uint64_t lc_task_metrics_active_count(const lc_task_metrics_t *m, int is_source)
{
    int64_t a = is_source ? (int64_t)lc_task_metrics_get(m, LC_TM_ACTIVE)
                          : (int64_t)(lc_task_metrics_get(m, LC_TM_READ_TOTAL) -
                                      lc_task_metrics_get(m, LC_TM_READ_COMMITTED));
    return a > 0 ? (uint64_t)a : 0;
}

/** Samples the active count at the end of a batch, for source-record-active-count-max and
 * -avg (sink-record-... for a sink). */
static inline void lc_task_metrics_active(lc_task_metrics_t *m, int is_source)
{
    uint64_t n = lc_task_metrics_active_count(m, is_source);
    lc_task_metrics_max(m, LC_TM_ACTIVE_MAX, n);
    lc_task_metrics_add(m, LC_TM_ACTIVE_SUM, n);
    lc_task_metrics_add(m, LC_TM_ACTIVE_SAMPLES, 1);
}

/** Counts one offset commit: ok or not, taking ns nanoseconds. */
static inline void lc_task_metrics_commit(lc_task_metrics_t *m, int ok, uint64_t ns)
{
    lc_task_metrics_add(m, ok ? LC_TM_COMMIT_OK : LC_TM_COMMIT_FAIL, 1);
    lc_task_metrics_add(m, LC_TM_COMMIT_NS, ns);
    lc_task_metrics_max(m, LC_TM_COMMIT_MAX_NS, ns);
}

/** Nanoseconds on the monotonic clock (batch and commit times). */
uint64_t lc_task_metrics_now_ns(void);

/** Records a state change of the task (for running-ratio and pause-ratio): running and
 * paused are 1 when the new state is RUNNING or PAUSED. */
void lc_task_metrics_state(lc_task_metrics_t *m, int running, int paused);

/** Makes m visible to the metrics page as connector's task id (source: is_source) until
 * lc_task_metrics_unregister; registering m again only updates its names. */
void lc_task_metrics_register(lc_task_metrics_t *m, const char *connector, int id, int is_source);
/** Removes m from the registry; the caller may free it afterwards. Unknown m is a no-op. */
void lc_task_metrics_unregister(lc_task_metrics_t *m);

/** The worker-level counters (connect-worker-metrics, connect-worker-rebalance-metrics). */
typedef struct lc_worker_counters {
    uint64_t task_startup_attempts, task_startup_success, task_startup_failure;
    uint64_t connector_startup_attempts, connector_startup_success, connector_startup_failure;
    long long epoch;                /* the assignment generation applied, -1 before any */
    uint64_t completed_rebalances;  /* assignments applied by this worker */
    long long last_rebalance_ms;    /* wall clock of the last one, 0 before any */
    int rebalancing;                /* 1 from the first waiting view to _rebalanced */
    long long rebalance_started_ms; /* wall clock of that begin */
    long long rebalance_ms_sum, rebalance_ms_max; /* durations of the completed ones */
} lc_worker_counters_t;

/** Counts a task start (the herder's thread); the task thread reports how it went through
 * lc_task_metrics_state (first RUNNING/PAUSED: success) or lc_task_metrics_start_failed. */
void lc_task_metrics_start(lc_task_metrics_t *m);
/** The task failed before it ever ran: a failed startup (once per start). */
void lc_task_metrics_start_failed(lc_task_metrics_t *m);
/** A connector started on this worker (its owner): ok, or it failed to start (FAILED). */
void lc_task_metrics_connector_startup(int ok);
/** A distributed worker's view as it reconciles (joined: it holds a membership; gen: the
 * newest assignment generation, applied: the one it applied, wait: none runs below it after a
 * lost membership; assignment: the leader's record, whose leader_url is kept). A rebalance is
 * under way from the first view with an assignment to apply until lc_task_metrics_rebalanced. */
void lc_task_metrics_rebalance_view(int joined, long long gen, long long applied, long long wait,
                                    const json_t *assignment);
/** The connector status this worker (the connector's owner, distributed) records: into
 * RUNNING or PAUSED from any other state, or its first in this process, is a connector
 * startup; FAILED (its config or script did not plan) a failed one. */
void lc_task_metrics_connector_status(const char *connector, const char *state);
/** A distributed worker applied assignment generation epoch (a completed rebalance: its time
 * runs from the first view with an assignment to apply); the same epoch again is a no-op. */
void lc_task_metrics_rebalanced(long long epoch);
/** A copy of the worker-level counters. */
lc_worker_counters_t lc_task_metrics_worker(void);
/** The leader's URL as the last rebalance view gave it, into buf ("" when unknown). */
void lc_task_metrics_leader(char *buf, size_t size);

/** Counts a hot reload of connector (ok, or failed: the old code stays or the task fails). */
void lc_task_metrics_connector_reload(const char *connector, int ok);
/** The hot reloads of connector so far: *ok and *failed (0 when none). */
void lc_task_metrics_connector_reloads(const char *connector, uint64_t *ok, uint64_t *failed);

/** Replaces the task's per-partition consumer lags with a copy of lags[0..n) (the task
 * thread, once per commit interval: it takes the registry's lock). */
void lc_task_metrics_set_lags(lc_task_metrics_t *m, const lc_partition_lag_t *lags, int n);

/** Replaces the task's per-transform drop counts with a copy of d[0..n) (the task thread,
 * once per commit interval). */
void lc_task_metrics_set_drops(lc_task_metrics_t *m, const lc_transform_dropped_t *d, int n);

/** Calls fn for every registered task, under the registry's lock (fn must not register). */
void lc_task_metrics_foreach(void (*fn)(void *arg, const char *connector, int id, int is_source,
                                        const lc_task_metrics_t *m),
                             void *arg);

#endif
