/* task_metrics: see task_metrics.h. */
#include "task_metrics.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct entry {
    lc_task_metrics_t *m;
    char *connector;
    int id;
    int is_source;
    struct entry *next;
} entry_t;

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static entry_t *registry;
/* Worker-level counters: changed a few times per task start or rebalance, under the mutex. */
static lc_worker_counters_t worker = {.epoch = -1};
static char leader[512]; /* the leader's URL (worker-rebalance leader-name) */

/* Hot reloads per connector name (kept while the process runs; a few per connector). */
typedef struct reloads {
    char *connector;
    uint64_t ok, failed;
    struct reloads *next;
} reloads_t;
static reloads_t *reload_counts;

uint64_t lc_task_metrics_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void lc_task_metrics_state(lc_task_metrics_t *m, int running, int paused)
{
    uint64_t now = (uint64_t)lc_wall_ms();
    uint64_t rs = lc_task_metrics_get(m, LC_TM_RUNNING_SINCE);
    uint64_t ps = lc_task_metrics_get(m, LC_TM_PAUSED_SINCE);
    if (rs && now > rs) lc_task_metrics_add(m, LC_TM_RUNNING_MS, now - rs);
    if (ps && now > ps) lc_task_metrics_add(m, LC_TM_PAUSED_MS, now - ps);
    lc_task_metrics_set(m, LC_TM_RUNNING_SINCE, running ? now : 0);
    lc_task_metrics_set(m, LC_TM_PAUSED_SINCE, paused ? now : 0);
    if ((running || paused) && lc_task_metrics_get(m, LC_TM_STARTING)) {
        lc_task_metrics_set(m, LC_TM_STARTING, 0);
        pthread_mutex_lock(&registry_mu);
        worker.task_startup_success++;
        pthread_mutex_unlock(&registry_mu);
    }
}

void lc_task_metrics_start(lc_task_metrics_t *m)
{
    lc_task_metrics_set(m, LC_TM_STARTING, 1);
    pthread_mutex_lock(&registry_mu);
    worker.task_startup_attempts++;
    pthread_mutex_unlock(&registry_mu);
}

void lc_task_metrics_start_failed(lc_task_metrics_t *m)
{
    if (!lc_task_metrics_get(m, LC_TM_STARTING)) return;
    lc_task_metrics_set(m, LC_TM_STARTING, 0);
    pthread_mutex_lock(&registry_mu);
    worker.task_startup_failure++;
    pthread_mutex_unlock(&registry_mu);
}

void lc_task_metrics_connector_startup(int ok)
{
    pthread_mutex_lock(&registry_mu);
    worker.connector_startup_attempts++;
    ok ? worker.connector_startup_success++ : worker.connector_startup_failure++;
    pthread_mutex_unlock(&registry_mu);
}

void lc_task_metrics_rebalance_view(int joined, long long gen, long long applied, long long wait,
                                    const json_t *assignment)
{
    const char *leader_url = json_string_value(json_object_get((json_t *)assignment, "leader_url"));
    int waiting = !joined || (gen >= 0 && gen != applied) || wait > applied;
    pthread_mutex_lock(&registry_mu);
    if (waiting && !worker.rebalancing) {
        worker.rebalancing = 1;
        worker.rebalance_started_ms = lc_wall_ms();
    }
    if (leader_url) snprintf(leader, sizeof(leader), "%s", leader_url);
    pthread_mutex_unlock(&registry_mu);
}

void lc_task_metrics_leader(char *buf, size_t size)
{
    pthread_mutex_lock(&registry_mu);
    snprintf(buf, size, "%s", leader);
    pthread_mutex_unlock(&registry_mu);
}

void lc_task_metrics_rebalanced(long long epoch)
{
    long long now = lc_wall_ms();
    pthread_mutex_lock(&registry_mu);
    if (worker.completed_rebalances && epoch == worker.epoch) { /* acknowledged again */
        pthread_mutex_unlock(&registry_mu);
        return;
    }
    /* As Connect: max(0, now - start); 0 when the start was not seen (same tick). */
    long long took = worker.rebalancing && now > worker.rebalance_started_ms
                         ? now - worker.rebalance_started_ms
                         : 0;
    worker.rebalancing = 0;
    worker.rebalance_ms_sum += took;
    if (took > worker.rebalance_ms_max) worker.rebalance_ms_max = took;
    worker.epoch = epoch;
    worker.completed_rebalances++;
    worker.last_rebalance_ms = now;
    pthread_mutex_unlock(&registry_mu);
}

/* The last connector status this worker recorded, per connector (distributed). */
typedef struct conn_state {
    char *connector;
    int kind; /* 1 RUNNING or PAUSED, 2 FAILED, 0 any other */
    struct conn_state *next;
} conn_state_t;
static conn_state_t *conn_states;

void lc_task_metrics_connector_status(const char *connector, const char *state)
{
    int kind = strcmp(state, "RUNNING") == 0 || strcmp(state, "PAUSED") == 0 ? 1
               : strcmp(state, "FAILED") == 0                                ? 2
                                                                             : 0;
    pthread_mutex_lock(&registry_mu);
    conn_state_t *c = conn_states;
    while (c && strcmp(c->connector, connector) != 0)
        c = c->next;
    /* A status written again (the same FAILED trace each round) is no new start. */
    if (kind && (!c || c->kind != kind)) {
        worker.connector_startup_attempts++;
        kind == 1 ? worker.connector_startup_success++ : worker.connector_startup_failure++;
    }
    if (!c && (c = calloc(1, sizeof(*c))) != NULL) {
        if ((c->connector = strdup(connector)) == NULL) {
            free(c);
            c = NULL;
        } else {
            c->next = conn_states;
            conn_states = c;
        }
    }
    if (c) c->kind = kind;
    pthread_mutex_unlock(&registry_mu);
}

void lc_task_metrics_connector_reload(const char *connector, int ok)
{
    pthread_mutex_lock(&registry_mu);
    reloads_t *r = reload_counts;
    while (r && strcmp(r->connector, connector) != 0)
        r = r->next;
    if (!r && (r = calloc(1, sizeof(*r))) != NULL) {
        if ((r->connector = strdup(connector)) == NULL) {
            free(r);
            r = NULL;
        } else {
            r->next = reload_counts;
            reload_counts = r;
        }
    }
    if (r) ok ? r->ok++ : r->failed++;
    pthread_mutex_unlock(&registry_mu);
}

void lc_task_metrics_connector_reloads(const char *connector, uint64_t *ok, uint64_t *failed)
{
    *ok = *failed = 0;
    pthread_mutex_lock(&registry_mu);
    for (reloads_t *r = reload_counts; r; r = r->next)
        if (strcmp(r->connector, connector) == 0) *ok = r->ok, *failed = r->failed;
    pthread_mutex_unlock(&registry_mu);
}

lc_worker_counters_t lc_task_metrics_worker(void)
{
    pthread_mutex_lock(&registry_mu);
    lc_worker_counters_t w = worker;
    pthread_mutex_unlock(&registry_mu);
    return w;
}

void lc_task_metrics_register(lc_task_metrics_t *m, const char *connector, int id, int is_source)
{
    pthread_mutex_lock(&registry_mu);
    entry_t *e = registry;
    while (e && e->m != m)
        e = e->next;
    if (!e && (e = calloc(1, sizeof(*e))) != NULL) {
        e->m = m;
        e->next = registry;
        registry = e;
    }
    if (e) {
        char *name = strdup(connector);
        if (name) {
            free(e->connector);
            e->connector = name;
        }
        e->id = id;
        e->is_source = is_source;
    }
    if (!lc_task_metrics_get(m, LC_TM_STARTED_MS))
        lc_task_metrics_set(m, LC_TM_STARTED_MS, (uint64_t)lc_wall_ms());
    pthread_mutex_unlock(&registry_mu);
}

void lc_task_metrics_set_lags(lc_task_metrics_t *m, const lc_partition_lag_t *lags, int n)
{
    lc_partition_lag_t *copy = n > 0 ? malloc((size_t)n * sizeof(*copy)) : NULL;
    if (copy) memcpy(copy, lags, (size_t)n * sizeof(*copy));
    pthread_mutex_lock(&registry_mu);
    free(m->lags);
    m->lags = copy;
    m->nlags = copy ? n : 0;
    pthread_mutex_unlock(&registry_mu);
}

void lc_task_metrics_set_drops(lc_task_metrics_t *m, const lc_transform_dropped_t *d, int n)
{
    lc_transform_dropped_t *copy = n > 0 ? malloc((size_t)n * sizeof(*copy)) : NULL;
    if (copy) memcpy(copy, d, (size_t)n * sizeof(*copy));
    pthread_mutex_lock(&registry_mu);
    free(m->drops);
    m->drops = copy;
    m->ndrops = copy ? n : 0;
    pthread_mutex_unlock(&registry_mu);
}

void lc_task_metrics_unregister(lc_task_metrics_t *m)
{
    pthread_mutex_lock(&registry_mu);
    for (entry_t **p = &registry; *p; p = &(*p)->next) {
        if ((*p)->m != m) continue;
        entry_t *e = *p;
        *p = e->next;
        free(e->connector);
        free(e);
        break;
    }
    free(m->lags);
    m->lags = NULL;
    m->nlags = 0;
    free(m->drops);
    m->drops = NULL;
    m->ndrops = 0;
    pthread_mutex_unlock(&registry_mu);
}

void lc_task_metrics_foreach(void (*fn)(void *arg, const char *connector, int id, int is_source,
                                        const lc_task_metrics_t *m),
                             void *arg)
{
    pthread_mutex_lock(&registry_mu);
    for (entry_t *e = registry; e; e = e->next)
        if (e->connector) fn(arg, e->connector, e->id, e->is_source, e->m);
    pthread_mutex_unlock(&registry_mu);
}
