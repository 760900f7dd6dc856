/* cluster: see cluster.h. */
#include "cluster.h"
#include "assignor.h"
#include "config.h"
#include "forward.h"
#include "internal_topics.h"
#include "log.h"
#include "signature.h"
#include "task.h"
#include "task_metrics.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SYNC_MS 30000 /* reading a topic to its end, a transaction, a forwarded request */

/* Reading the topics ------------------------------------------------------------------------ */

void lc_cluster_wake(lc_cluster_t *cl)
{
    pthread_mutex_lock(&cl->mu);
    cl->changes++;
    pthread_cond_broadcast(&cl->cv);
    pthread_mutex_unlock(&cl->mu);
}

static void wake_cb(void *arg)
{
    lc_cluster_wake(arg);
}

static void on_config(void *arg, int32_t partition, int64_t offset, const void *key, size_t keylen,
                      const void *value, size_t vallen)
{
    lc_cluster_t *cl = arg;
    (void)partition;
    pthread_mutex_lock(&cl->mu);
    lc_cfgtopic_apply(cl->cfg, key, keylen, value, vallen, offset);
    cl->changes++;
    pthread_cond_broadcast(&cl->cv);
    pthread_mutex_unlock(&cl->mu);
}

static void on_coord(void *arg, int32_t partition, int64_t offset, const void *key, size_t keylen,
                     const void *value, size_t vallen)
{
    lc_cluster_t *cl = arg;
    (void)partition;
    (void)offset;
    if (!key || !value) return;
    json_t *v = json_loadb(value, vallen, 0, NULL);
    if (!v) return;
    pthread_mutex_lock(&cl->mu);
    if (keylen == 10 && memcmp(key, "assignment", 10) == 0) {
        json_decref(cl->assignment);
        cl->assignment = json_incref(v);
    } else if (keylen > 4 && memcmp(key, "ack-", 4) == 0) {
        char *w = strndup((const char *)key + 4, keylen - 4);
        json_object_set(cl->acks, w, json_object_get(v, "generation"));
        free(w);
    }
    cl->changes++;
    pthread_cond_broadcast(&cl->cv);
    pthread_mutex_unlock(&cl->mu);
    json_decref(v);
}

/* Queries (caller holds mu) ----------------------------------------------------------------- */

lc_dconn_t *lc_cluster_find(lc_cluster_t *cl, const char *name)
{
    for (int i = 0; i < cl->nconns; i++)
        if (strcmp(cl->conns[i]->name, name) == 0) return cl->conns[i];
    return NULL;
}

static int holds(json_t *a, const char *name, int n)
{
    size_t i;
    json_t *e;
    if (n < 0) {
        json_array_foreach(json_object_get(a, "connectors"), i, e)
        {
            if (strcmp(json_string_value(e), name) == 0) return 1;
        }
        return 0;
    }
    json_array_foreach(json_object_get(a, "tasks"), i, e)
    {
        if (strcmp(json_string_value(json_array_get(e, 0)), name) == 0 &&
            json_integer_value(json_array_get(e, 1)) == n)
            return 1;
    }
    return 0;
}

const char *lc_cluster_owner(lc_cluster_t *cl, const char *name, int n)
{
    const char *wid;
    json_t *a;
    json_object_foreach(json_object_get(cl->assignment, "assignments"), wid, a)
    {
        if (holds(a, name, n)) return wid;
    }
    return NULL;
}

static long long generation_of(json_t *assignment)
{
    json_t *g = json_object_get(assignment, "generation");
    return json_is_integer(g) ? json_integer_value(g) : -1;
}

char *lc_cluster_leader_url(lc_cluster_t *cl)
{
    pthread_mutex_lock(&cl->mu);
    const char *u = json_string_value(json_object_get(cl->assignment, "leader_url"));
    const char *lw = json_string_value(json_object_get(cl->assignment, "leader"));
    char *out = strdup(u && lw && strcmp(lw, lc_worker_id(cl->w)) != 0 ? u : "");
    pthread_mutex_unlock(&cl->mu);
    return out;
}

int lc_cluster_is_leader(lc_cluster_t *cl)
{
    return cl->member && lc_membership_view(cl->member).leader;
}

void lc_cluster_restart_task(lc_cluster_t *cl, const char *name, int n)
{
    pthread_mutex_lock(&cl->mu);
    json_array_append_new(cl->restart_tasks, json_pack("[s,i]", name, n));
    cl->changes++;
    pthread_cond_broadcast(&cl->cv);
    pthread_mutex_unlock(&cl->mu);
}

/* Leader writes ------------------------------------------------------------------------------ */

static int write_as_leader(lc_cluster_t *cl, const lc_txrecord_t *recs, int n, char *errs,
                           size_t errsz)
{
    pthread_mutex_lock(&cl->wmu);
    int rc = -1;
    if (!cl->txw || !lc_cluster_is_leader(cl)) {
        snprintf(errs, errsz, "Cannot complete request because no leader is known");
    } else {
        rc = lc_txwriter_write(cl->txw, recs, n, SYNC_MS, errs, errsz);
        if (rc != 0 && lc_txwriter_fenced(cl->txw)) {
            lc_warn(NULL, "cluster: %s; this worker no longer writes as the leader", errs);
            lc_txwriter_stop(cl->txw);
            cl->txw = NULL;
        }
    }
    pthread_mutex_unlock(&cl->wmu);
    return rc;
}

int lc_cluster_leader_write(lc_cluster_t *cl, const lc_txrecord_t *recs, int n, char *errs,
                            size_t errsz)
{
    if (write_as_leader(cl, recs, n, errs, errsz) != 0) return -1;
    char err[512];
    if (lc_klog_read_to_end(cl->config_log, SYNC_MS, err, sizeof(err)) != 0)
        lc_warn(NULL, "cluster: reading the config topic back: %s", err);
    lc_cluster_wake(cl);
    return 0;
}

/* Starting and stopping ---------------------------------------------------------------------- */

static int required(const lc_props_t *p, const char *key, char *out, size_t outsz, char *errs,
                    size_t errsz)
{
    const char *v = lc_props_get(p, key);
    if (!v || !*v) {
        snprintf(errs, errsz,
                 "%s: Missing required configuration \"%s\" which has no default value.",
                 *lc_props_source(p) ? lc_props_source(p) : "worker config", key);
        return -1;
    }
    snprintf(out, outsz, "%s", v);
    return 0;
}

lc_cluster_t *lc_cluster_new(lc_worker_t *w, char *errs, size_t errsz)
{
    lc_cluster_t *cl = calloc(1, sizeof(*cl));
    const lc_props_t *p = lc_worker_props(w);
    char offsets[256], status[256], label[1100];
    long ks = 0;
    size_t elen = 0;
    cl->w = w;
    cl->props = p;
    snprintf(label, sizeof(label), "worker config %s", lc_props_source(p));
    errs[0] = 0;
    if (required(p, "group.id", cl->group, sizeof(cl->group), errs, errsz) ||
        required(p, "config.storage.topic", cl->config_topic, sizeof(cl->config_topic), errs,
                 errsz) ||
        required(p, "offset.storage.topic", offsets, sizeof(offsets), errs, errsz) ||
        required(p, "status.storage.topic", status, sizeof(status), errs, errsz))
        goto fail;
    if (lc_config_long(p, "scheduled.rebalance.max.delay.ms", label, &cl->delay_ms, errs, errsz,
                       &elen) ||
        lc_config_long(p, "worker.sync.timeout.ms", label, &cl->sync_ms, errs, errsz, &elen) ||
        lc_config_long(p, "worker.unsync.backoff.ms", label, &cl->unsync_ms, errs, errsz, &elen) ||
        lc_config_long(p, "rebalance.timeout.ms", label, &cl->rebalance_ms, errs, errsz, &elen) ||
        lc_config_long(p, "inter.worker.key.ttl.ms", label, &cl->key_ttl_ms, errs, errsz, &elen) ||
        lc_config_long(p, "inter.worker.key.size", label, &ks, errs, errsz, &elen)) {
        if (elen && errs[elen - 1] == '\n') errs[elen - 1] = 0;
        goto fail;
    }
    cl->key_size = (int)ks;
    snprintf(cl->key_alg, sizeof(cl->key_alg), "%s",
             lc_config_string(p, "inter.worker.key.generation.algorithm"));
    const char *coord = lc_config_string(p, "luaconnect.coordination.topic");
    if (coord && *coord)
        snprintf(cl->coord_topic, sizeof(cl->coord_topic), "%s", coord);
    else
        snprintf(cl->coord_topic, sizeof(cl->coord_topic), "%s-luaconnect", cl->config_topic);
    snprintf(cl->txid, sizeof(cl->txid), "connect-cluster-%s", cl->group);
    pthread_mutex_init(&cl->mu, NULL);
    pthread_mutex_init(&cl->wmu, NULL);
    pthread_cond_init(&cl->cv, NULL);
    cl->cfg = lc_cfgtopic_new();
    cl->acks = json_object();
    cl->departed = json_object();
    cl->restart_tasks = json_array();
    cl->pending_gen = -1;
    cl->applied_gen = -1;
    return cl;
fail:
    free(cl);
    return NULL;
}

static void *tick_main(void *arg);

int lc_cluster_start(lc_cluster_t *cl, const char *url, char *errs, size_t errsz)
{
    lc_kafka_t *k = lc_worker_kafka(cl->w);
    const char *wid = lc_worker_id(cl->w);
    char cid[512];
    snprintf(cl->url, sizeof(cl->url), "%s", url);
    if (lc_internal_topics_ensure(k, cl->props, errs, errsz) != 0) return -1;
    cl->stores = lc_kstores_start(k, cl->props, wid, errs, errsz);
    if (!cl->stores) return -1;
    lc_worker_set_stores(cl->w, lc_kstores_offsets(cl->stores), lc_kstores_statuses(cl->stores));
    snprintf(cid, sizeof(cid), "%s-configs", wid);
    lc_klog_opts_t co = {.topic = cl->config_topic,
                         .client_id = cid,
                         .fn = on_config,
                         .arg = cl,
                         .worker_props = cl->props,
                         .prefix = "config.storage."};
    cl->config_log = lc_klog_start(k, &co, errs, errsz);
    if (!cl->config_log) return -1;
    char cid2[512];
    snprintf(cid2, sizeof(cid2), "%s-coordination", wid);
    lc_klog_opts_t oo = {
        .topic = cl->coord_topic, .client_id = cid2, .fn = on_coord, .arg = cl, .producer = 1};
    cl->coord_log = lc_klog_start(k, &oo, errs, errsz);
    if (!cl->coord_log) return -1;
    /* Read everything before serving or running anything (Connect reads to the end). */
    if (lc_klog_read_to_end(cl->config_log, SYNC_MS, errs, errsz) != 0 ||
        lc_klog_read_to_end(cl->coord_log, SYNC_MS, errs, errsz) != 0)
        return -1;
    cl->member = lc_membership_start(k, cl->props, cl->group, cl->coord_topic, wid, wake_cb, cl,
                                     errs, errsz);
    if (!cl->member) return -1;
    if (pthread_create(&cl->tick, NULL, tick_main, cl) != 0) {
        snprintf(errs, errsz, "cannot start the cluster thread");
        return -1;
    }
    cl->tick_started = 1;
    lc_info(NULL, "cluster: worker %s joining group '%s' (config topic '%s')", wid, cl->group,
            cl->config_topic);
    return 0;
}

/* Running this worker's share ---------------------------------------------------------------- */

static void report(lc_cluster_t *cl, lc_dconn_t *d, int state, const char *trace)
{
    char err[512];
    if (d->reported == state && !trace) return;
    lc_status_store_t *ss = lc_kstores_statuses(cl->stores);
    if (ss->put(ss, d->name, -1, lc_task_state_names[state], trace, lc_worker_id(cl->w),
                d->c ? d->c->version : NULL, err, sizeof(err)) != 0)
        lc_warn(d->name, "cannot record status: %s", err);
    else
        d->reported = state;
}

/* Stops the running tasks of d (all when only < 0), marking them UNASSIGNED here; the status
 * of each stopped task numbered keep or more, which no longer exists, is then tombstoned, as
 * Connect does when a connector's tasks go (a stop: keep 0). */
static void stop_tasks(lc_cluster_t *cl, lc_dconn_t *d, int only, int keep)
{
    if (!d->c) return;
    int any = 0;
    char *ran = calloc((size_t)d->c->ntasks + 1, 1);
    for (int i = 0; i < d->c->ntasks; i++)
        if ((only < 0 || i == only) && d->c->tasks[i]->started == 1) any = ran[i] = 1;
    if (!any) {
        free(ran);
        return;
    }
    lc_tasks_stop(d->c, only);
    /* Only the tasks that ran here report UNASSIGNED: the others are another worker's. */
    for (int i = 0; i < d->c->ntasks; i++) {
        lc_task_t *tk = d->c->tasks[i];
        if (ran[i] && tk->started == 0) {
            lc_task_metrics_unregister(&tk->metrics); /* another worker's metrics now */
            /* A task that failed stays FAILED (its status stays) while it is assigned here; once
             * revoked, as in Connect, a later assignment starts it afresh. */
            if (atomic_load(&tk->state) == LC_TASK_FAILED)
                atomic_store(&tk->state, LC_TASK_UNASSIGNED);
            else
                lc_task_set_state(tk, LC_TASK_UNASSIGNED, NULL);
        }
    }
    char err[512];
    lc_status_store_t *ss = lc_kstores_statuses(cl->stores);
    for (int i = keep < 0 ? d->c->ntasks : keep; i < d->c->ntasks; i++)
        if (ran[i] && ss->put(ss, d->name, i, "DESTROYED", NULL, lc_worker_id(cl->w), NULL, err,
                              sizeof(err)) != 0)
            lc_warn(d->name, "cannot remove the status of task %d: %s", i, err);
    free(ran);
}

static void free_dconn(lc_dconn_t *d)
{
    if (d->c && !d->c->abandoned) lc_connector_free(d->c);
    json_decref(d->config);
    free(d->plan_error);
    free(d->name);
    free(d);
}

/* Plans d from config with its committed task configs; keeps the plan's own task configs in
 * *planned (Connect's string maps) for the owner to compare. */
static void rebuild(lc_cluster_t *cl, lc_dconn_t *d, json_t *config, json_t *tasks, int task_gen,
                    int target, json_t **planned)
{
    char errs[16384];
    stop_tasks(cl, d, -1, target == LC_TARGET_STOPPED ? 0 : (int)json_array_size(tasks));
    lc_connector_t *c = lc_connector_plan_json(cl->w, config, errs, sizeof(errs));
    if (c) {
        *planned = lc_connector_task_strings(c);
        lc_connector_set_tasks(c, tasks);
        c->target = target;
    }
    pthread_mutex_lock(&cl->mu);
    lc_connector_t *old = d->c;
    d->c = c;
    free(d->plan_error);
    d->plan_error = c ? NULL : strdup(errs);
    json_decref(d->config);
    d->config = json_incref(config);
    d->task_gen = task_gen;
    d->target = target;
    d->reported = -1;
    pthread_mutex_unlock(&cl->mu);
    if (old && !old->abandoned) lc_connector_free(old);
}

/* The owner's duty when task configs are missing or inconsistent: submit its plan's tasks to
 * the leader (written directly when this worker is the leader, else the signed internal
 * request POST /connectors/<c>/tasks). */
static void submit_tasks(lc_cluster_t *cl, const char *name, json_t *planned)
{
    char errs[1024];
    if (lc_cluster_is_leader(cl)) {
        json_t *ids = json_array();
        int n = (int)json_array_size(planned);
        lc_txrecord_t *recs = calloc((size_t)n + 1, sizeof(*recs));
        char **keys = calloc((size_t)n + 1, sizeof(char *)),
             **vals = calloc((size_t)n + 1, sizeof(char *));
        for (int i = 0; i <= n; i++) {
            char key[1200];
            if (i < n) {
                snprintf(key, sizeof(key), "task-%s-%d", name, i);
                vals[i] = lc_cfgtopic_config_value(json_array_get(planned, (size_t)i));
            } else {
                snprintf(key, sizeof(key), "commit-%s", name);
                vals[i] = lc_cfgtopic_commit_value(n);
            }
            keys[i] = strdup(key);
            recs[i] = (lc_txrecord_t){cl->config_topic, keys[i], vals[i]};
        }
        if (lc_cluster_leader_write(cl, recs, n + 1, errs, sizeof(errs)) != 0)
            lc_warn(name, "cannot write task configs: %s", errs);
        for (int i = 0; i <= n; i++)
            free(keys[i]), free(vals[i]);
        free(keys);
        free(vals);
        free(recs);
        json_decref(ids);
        return;
    }
    char *leader = lc_cluster_leader_url(cl);
    pthread_mutex_lock(&cl->mu);
    const char *alg = NULL, *key = lc_cfgtopic_session_key(cl->cfg, &alg, NULL);
    char *k = key ? strdup(key) : NULL, *a = strdup(alg ? alg : "HmacSHA256");
    pthread_mutex_unlock(&cl->mu);
    if (*leader && k) {
        char *body = json_dumps(planned, JSON_COMPACT | JSON_PRESERVE_ORDER), *resp = NULL;
        char url[2048];
        snprintf(url, sizeof(url), "%s/connectors/%s/tasks?forward=true", leader, name);
        int code = lc_forward_signed_post(url, k, a, body, SYNC_MS, &resp, errs, sizeof(errs));
        if (code < 200 || code >= 300)
            lc_warn(name, "the leader did not take the task configs (%d): %s", code,
                    code < 0 ? errs
                    : resp   ? resp
                             : "");
        free(resp);
        free(body);
    }
    free(leader);
    free(k);
    free(a);
}

/* Connect's worker.sync.timeout.ms: a new leader, and a worker about to apply an assignment,
 * read the config topic to its end first, or leave the group (the others rebalance without
 * it) for worker.unsync.backoff.ms. 0, or -1 when it left. */
static int catch_up(lc_cluster_t *cl, const char *as)
{
    char err[512];
    if (cl->leaving) return -1; /* until the membership thread has left */
    if (lc_klog_read_to_end(cl->config_log, (int)cl->sync_ms, err, sizeof(err)) == 0) return 0;
    cl->leaving = 1;
    lc_warn(NULL,
            "cluster: as %s, could not read config topic '%s' to its end within "
            "worker.sync.timeout.ms=%ld (%s); leaving group '%s' for worker.unsync.backoff.ms=%ld",
            as, cl->config_topic, cl->sync_ms, err, cl->group, cl->unsync_ms);
    lc_membership_leave(cl->member, cl->unsync_ms);
    return -1;
}

typedef struct want {
    char *name;
    json_t *config, *tasks; /* committed task configs */
    int target, task_gen, task_count, inconsistent;
    int owned;
    json_t *mine; /* task numbers this worker runs */
} want_t;

static void reconcile(lc_cluster_t *cl, lc_member_view_t view)
{
    const char *me = lc_worker_id(cl->w);
    pthread_mutex_lock(&cl->mu);
    long long gen = generation_of(cl->assignment);
    lc_task_metrics_rebalance_view(view.joined, gen, cl->applied_gen, cl->wait_gen, cl->assignment);
    int fresh = view.joined && gen >= 0 && gen >= cl->wait_gen && gen != cl->applied_gen;
    pthread_mutex_unlock(&cl->mu);
    if (fresh && catch_up(cl, "a member applying a new assignment") != 0) return;
    pthread_mutex_lock(&cl->mu);
    gen = generation_of(cl->assignment);
    json_t *mine = NULL;
    if (view.joined && gen >= cl->wait_gen)
        mine = json_object_get(json_object_get(cl->assignment, "assignments"), me);
    json_t *names = lc_cfgtopic_connectors(cl->cfg);
    size_t nw = json_array_size(names);
    want_t *wants = calloc(nw + 1, sizeof(*wants));
    for (size_t i = 0; i < nw; i++) {
        want_t *w = &wants[i];
        w->name = strdup(json_string_value(json_array_get(names, i)));
        w->config = lc_cfgtopic_config(cl->cfg, w->name);
        w->target = lc_cfgtopic_target(cl->cfg, w->name);
        w->task_gen = lc_cfgtopic_task_generation(cl->cfg, w->name);
        w->task_count = lc_cfgtopic_task_count(cl->cfg, w->name);
        w->inconsistent = lc_cfgtopic_inconsistent(cl->cfg, w->name);
        w->tasks = json_array();
        for (int t = 0; t < w->task_count; t++)
            json_array_append_new(w->tasks, lc_cfgtopic_task_config(cl->cfg, w->name, t));
        w->owned = mine && holds(mine, w->name, -1);
        w->mine = json_array();
        for (int t = 0; mine && t < w->task_count; t++)
            if (holds(mine, w->name, t)) json_array_append_new(w->mine, json_integer(t));
    }
    json_t *restarts = lc_cfgtopic_take_restarts(cl->cfg);
    json_t *task_restarts = cl->restart_tasks;
    cl->restart_tasks = json_array();
    /* Connectors gone from the config topic. */
    lc_dconn_t **gone = calloc((size_t)cl->nconns + 1, sizeof(*gone));
    int ngone = 0;
    for (int i = 0; i < cl->nconns;) {
        int keep = 0;
        for (size_t j = 0; j < nw; j++)
            if (strcmp(wants[j].name, cl->conns[i]->name) == 0) keep = 1;
        if (keep) {
            i++;
            continue;
        }
        gone[ngone++] = cl->conns[i];
        cl->conns[i] = cl->conns[--cl->nconns];
    }
    pthread_mutex_unlock(&cl->mu);
    json_decref(names);

    for (int i = 0; i < ngone; i++) {
        stop_tasks(cl, gone[i], -1, -1);
        if (gone[i]->owned) { /* as Connect: shut down (UNASSIGNED), then the statuses go */
            report(cl, gone[i], LC_TASK_UNASSIGNED, NULL);
            lc_kstores_statuses(cl->stores)->clear(lc_kstores_statuses(cl->stores), gone[i]->name);
        }
        lc_info(NULL, "cluster: connector '%s' deleted", gone[i]->name);
        free_dconn(gone[i]);
    }
    free(gone);

    for (size_t i = 0; i < nw; i++) {
        want_t *w = &wants[i];
        pthread_mutex_lock(&cl->mu);
        lc_dconn_t *d = lc_cluster_find(cl, w->name);
        if (!d) {
            d = calloc(1, sizeof(*d));
            d->name = strdup(w->name);
            d->task_gen = -2;
            d->reported = -1;
            d->target = -1;
            cl->conns = realloc(cl->conns, (size_t)(cl->nconns + 1) * sizeof(*cl->conns));
            cl->conns[cl->nconns++] = d;
        }
        pthread_mutex_unlock(&cl->mu);
        json_t *planned = NULL;
        int rebuilt = 0;
        int cfg_changed = d->config && !json_equal(d->config, w->config);
        int stop_flip = d->target != w->target &&
                        (d->target == LC_TARGET_STOPPED || w->target == LC_TARGET_STOPPED);
        /* As in Kafka Connect, tasks restart when their task configs change, not at the
         * connector config change before them: running tasks wait (on the old config) for the
         * task configs of the new one, written with it by a PUT or later by the connector's
         * owner, and then restart once. */
        int await_tasks = cfg_changed && !stop_flip && d->task_gen == w->task_gen && d->c &&
                          w->task_count >= 0 && w->target != LC_TARGET_STOPPED;
        if (!await_tasks) {
            d->awaiting_ms = 0;
        } else if (!d->awaiting_ms) {
            d->awaiting_ms = lc_now_ms();
        } else if (w->owned && lc_now_ms() - d->awaiting_ms >= 2000 &&
                   lc_now_ms() - d->submitted_ms >= 2000) {
            /* Nobody wrote them (a config written by another tool): the owner plans the new
             * config aside and submits its task configs; one that does not plan fails now. */
            d->submitted_ms = lc_now_ms();
            char perr[1024];
            json_t *next = lc_connector_plan_task_strings(cl->w, w->config, perr, sizeof(perr));
            if (next) submit_tasks(cl, w->name, next);
            await_tasks = next != NULL;
            json_decref(next);
        }
        if (!await_tasks && (!d->config || cfg_changed || d->task_gen != w->task_gen || stop_flip)) {
            /* A new config restarts the connector that ran here: it shuts down first
             * (UNASSIGNED, Connect's onShutdown), then starts again. */
            if (d->config && !json_equal(d->config, w->config) && d->owned && d->c &&
                d->reported >= 0)
                report(cl, d, LC_TASK_UNASSIGNED, NULL);
            rebuild(cl, d, w->config, w->tasks, w->task_gen, w->target, &planned);
            rebuilt = 1;
        } else if (d->target != w->target && d->c) {
            pthread_mutex_lock(&cl->mu);
            d->target = w->target;
            d->c->target = w->target;
            for (int t = 0; t < d->c->ntasks; t++)
                d->c->tasks[t]->pause = w->target == LC_TARGET_PAUSED;
            d->reported = -1;
            pthread_mutex_unlock(&cl->mu);
        }
        d->owned = w->owned;
        /* Restart requests (restart-connector-<c>) for what runs here. */
        size_t ri;
        json_t *r;
        json_array_foreach(restarts, ri, r)
        {
            if (strcmp(json_string_value(json_object_get(r, "connector")), w->name) != 0) continue;
            /* The connector restarts (unless only failed ones restart and it has not failed):
             * as in Connect it shuts down (UNASSIGNED), is RESTARTING, then runs again. */
            if (d->owned && d->c &&
                (!json_is_true(json_object_get(r, "only_failed")) ||
                 d->reported == LC_TASK_FAILED)) {
                report(cl, d, LC_TASK_UNASSIGNED, NULL);
                report(cl, d, LC_TASK_RESTARTING, NULL);
            } else if (d->owned) {
                d->reported = -1;
            }
            if (!json_is_true(json_object_get(r, "include_tasks")) || !d->c) continue;
            int only_failed = json_is_true(json_object_get(r, "only_failed"));
            for (int t = 0; t < d->c->ntasks; t++) {
                lc_task_t *tk = d->c->tasks[t];
                if (tk->started != 1) continue;
                if (only_failed && atomic_load(&tk->state) != LC_TASK_FAILED) continue;
                lc_tasks_stop(d->c, t);
                lc_task_set_state(tk, LC_TASK_RESTARTING, NULL);
                lc_task_start(tk);
            }
        }
        json_array_foreach(task_restarts, ri, r)
        {
            int t = (int)json_integer_value(json_array_get(r, 1));
            if (strcmp(json_string_value(json_array_get(r, 0)), w->name) != 0 || !d->c ||
                t >= d->c->ntasks || d->c->tasks[t]->started != 1)
                continue;
            lc_tasks_stop(d->c, t);
            lc_task_set_state(d->c->tasks[t], LC_TASK_RESTARTING, NULL);
            lc_task_start(d->c->tasks[t]);
        }
        /* Tasks: stop what is no longer ours, start what is. */
        for (int t = 0; d->c && t < d->c->ntasks; t++) {
            int want_it = 0;
            size_t mi;
            json_t *m;
            json_array_foreach(w->mine, mi, m)
            {
                if (json_integer_value(m) == t) want_it = 1;
            }
            if (w->target == LC_TARGET_STOPPED) want_it = 0;
            lc_task_t *tk = d->c->tasks[t];
            if (tk->started == 1 && !want_it) {
                lc_info(tk->ctx, "cluster: task revoked from this worker");
                stop_tasks(cl, d, t, -1);
            } else if (tk->started == 0 && want_it && atomic_load(&tk->state) != LC_TASK_FAILED) {
                lc_task_start(tk);
            }
        }
        /* The connector itself: its status, and its task configs when they are missing. */
        if (d->owned) {
            if (!d->c)
                report(cl, d, LC_TASK_FAILED, d->plan_error);
            else
                report(cl, d,
                       w->target == LC_TARGET_STOPPED  ? LC_TASK_STOPPED
                       : w->target == LC_TARGET_PAUSED ? LC_TASK_PAUSED
                                                       : LC_TASK_RUNNING,
                       NULL);
            if (d->c && w->target != LC_TARGET_STOPPED && (w->task_count < 0 || w->inconsistent) &&
                lc_now_ms() - d->submitted_ms >= 2000) {
                d->submitted_ms = lc_now_ms();
                if (!planned) {
                    rebuild(cl, d, w->config, w->tasks, w->task_gen, w->target, &planned);
                    (void)rebuilt;
                }
                if (planned) submit_tasks(cl, w->name, planned);
            }
        }
        json_decref(planned);
    }
    json_decref(restarts);
    json_decref(task_restarts);
    for (size_t i = 0; i < nw; i++) {
        free(wants[i].name);
        json_decref(wants[i].config);
        json_decref(wants[i].tasks);
        json_decref(wants[i].mine);
    }
    free(wants);

    /* Acknowledge the generation applied (revocations done). */
    if (view.joined && gen >= 0 && gen >= cl->wait_gen && gen != cl->applied_gen) {
        char key[300], val[64], err[512];
        snprintf(key, sizeof(key), "ack-%s", me);
        snprintf(val, sizeof(val), "{\"generation\":%lld}", gen);
        lc_kstores_set_generation(cl->stores, (int)gen);
        if (lc_klog_send(cl->coord_log, key, strlen(key), val, strlen(val), -1, err, sizeof(err)) ==
                0 &&
            lc_klog_flush(cl->coord_log, SYNC_MS, err, sizeof(err)) == 0) {
            cl->applied_gen = gen;
        } else {
            lc_warn(NULL, "cluster: cannot acknowledge assignment %lld: %s", gen, err);
        }
    }
}

/* The leader's duties ---------------------------------------------------------------------------
 */

static void ensure_writer(lc_cluster_t *cl)
{
    pthread_mutex_lock(&cl->wmu);
    int have = cl->txw != NULL;
    pthread_mutex_unlock(&cl->wmu);
    if (have) return;
    char err[512];
    lc_txwriter_t *w =
        lc_txwriter_start(lc_worker_kafka(cl->w), cl->txid, SYNC_MS, err, sizeof(err));
    if (!w) {
        lc_warn(NULL, "cluster: %s", err);
        return;
    }
    /* Whatever the previous leader committed is visible now: read it before deciding. */
    if (catch_up(cl, "the new leader") != 0) {
        lc_txwriter_stop(w);
        return;
    }
    if (lc_klog_read_to_end(cl->coord_log, SYNC_MS, err, sizeof(err)) != 0)
        lc_warn(NULL, "cluster: catching up as the new leader: %s", err);
    pthread_mutex_lock(&cl->wmu);
    cl->txw = w;
    pthread_mutex_unlock(&cl->wmu);
    lc_info(NULL, "cluster: this worker is the leader of group '%s' (%s)", cl->group, cl->txid);
}

static void drop_writer(lc_cluster_t *cl)
{
    pthread_mutex_lock(&cl->wmu);
    lc_txwriter_stop(cl->txw);
    cl->txw = NULL;
    pthread_mutex_unlock(&cl->wmu);
}

static void ensure_session_key(lc_cluster_t *cl)
{
    pthread_mutex_lock(&cl->mu);
    int64_t created = 0;
    const char *key = lc_cfgtopic_session_key(cl->cfg, NULL, &created);
    int fresh = key && (cl->key_ttl_ms <= 0 || created + cl->key_ttl_ms > lc_wall_ms());
    pthread_mutex_unlock(&cl->mu);
    if (fresh) return;
    char err[512];
    char *k = lc_signature_new_key(cl->key_alg, cl->key_size, err, sizeof(err));
    if (!k) {
        lc_warn(NULL, "cluster: cannot make a session key: %s", err);
        return;
    }
    char *v = lc_cfgtopic_session_key_value(k, cl->key_alg, lc_wall_ms());
    lc_txrecord_t r = {cl->config_topic, "session-key", v};
    if (lc_cluster_leader_write(cl, &r, 1, err, sizeof(err)) != 0)
        lc_warn(NULL, "cluster: cannot write the session key: %s", err);
    free(v);
    free(k);
}

static int publish(lc_cluster_t *cl, json_t *assignments, long long gen)
{
    char err[512];
    json_t *rec = json_pack("{s:I,s:s,s:s,s:O}", "generation", (json_int_t)gen, "leader",
                            lc_worker_id(cl->w), "leader_url", cl->url, "assignments", assignments);
    char *v = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(rec);
    lc_txrecord_t r = {cl->coord_topic, "assignment", v};
    int rc = write_as_leader(cl, &r, 1, err, sizeof(err));
    free(v);
    if (rc != 0) {
        lc_warn(NULL, "cluster: cannot publish assignment %lld: %s", gen, err);
        return -1;
    }
    if (lc_klog_read_to_end(cl->coord_log, SYNC_MS, err, sizeof(err)) != 0)
        lc_warn(NULL, "cluster: reading the assignment back: %s", err);
    char *dump = json_dumps(assignments, JSON_COMPACT | JSON_SORT_KEYS);
    lc_info(NULL, "cluster: assignment %lld: %s", gen, dump);
    free(dump);
    return 0;
}

static int array_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) if (strcmp(json_string_value(e), s) == 0) return 1;
    return 0;
}

static void lead(lc_cluster_t *cl, lc_member_view_t view)
{
    char err[512];
    long long now = lc_wall_ms();
    if (view.rebalances != cl->seen_rebalances || !cl->members || cl->pending ||
        now - cl->last_members_ms > 5000) {
        json_t *m = lc_membership_members(cl->member, err, sizeof(err));
        cl->retry_soon = m == NULL;
        if (!m) {
            lc_debug(NULL, "cluster: %s", err);
            return;
        }
        json_decref(cl->members);
        cl->members = m;
        cl->seen_rebalances = view.rebalances;
        cl->last_members_ms = now;
    }
    pthread_mutex_lock(&cl->mu);
    json_t *prev_rec = json_incref(cl->assignment);
    json_t *names = lc_cfgtopic_connectors(cl->cfg);
    json_t *tasks = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(names, i, e)
    {
        int n = lc_cfgtopic_task_count(cl->cfg, json_string_value(e));
        for (int t = 0; t < n; t++)
            json_array_append_new(tasks, json_pack("[s,i]", json_string_value(e), t));
    }
    json_t *acks = json_deep_copy(cl->acks);
    pthread_mutex_unlock(&cl->mu);

    json_t *prev = json_object_get(prev_rec, "assignments");
    if (!prev)
        prev = json_object();
    else
        json_incref(prev);
    long long gen = generation_of(prev_rec);
    if (gen < 0) gen = 0;
    /* Workers gone keep their share, unassigned, for scheduled.rebalance.max.delay.ms. */
    json_t *alive = json_deep_copy(cl->members);
    const char *wid;
    json_t *a;
    json_object_foreach(prev, wid, a)
    {
        if (array_has(cl->members, wid)) {
            json_object_del(cl->departed, wid);
            continue;
        }
        json_t *since = json_object_get(cl->departed, wid);
        if (!since) {
            json_object_set_new(cl->departed, wid, json_integer(now));
            since = json_object_get(cl->departed, wid);
            if (cl->delay_ms > 0)
                lc_info(NULL,
                        "cluster: worker %s left; its work waits %ld ms "
                        "(scheduled.rebalance.max.delay.ms) before it moves",
                        wid, cl->delay_ms);
        }
        if (now - json_integer_value(since) < cl->delay_ms)
            json_array_append_new(alive, json_string(wid));
    }

    if (cl->pending) {
        /* Revocations first: publish the new placements once every member that lost work
         * acknowledged the revoking generation (or left, or rebalance.timeout.ms passed). */
        int done = 1;
        json_object_foreach(prev, wid, a)
        {
            if (!array_has(cl->members, wid)) continue;
            json_t *g = json_object_get(acks, wid);
            if (!g || json_integer_value(g) < cl->pending_gen) done = 0;
        }
        if (!done && now - cl->pending_since < cl->rebalance_ms) goto out;
        if (publish(cl, cl->pending, gen + 1) == 0) {
            json_decref(cl->pending);
            cl->pending = NULL;
        }
        goto out;
    }
    json_t *next = lc_assign(alive, prev, names, tasks);
    const char *lw = json_string_value(json_object_get(prev_rec, "leader"));
    const char *lu = json_string_value(json_object_get(prev_rec, "leader_url"));
    int same_leader = lw && strcmp(lw, lc_worker_id(cl->w)) == 0 && lu && strcmp(lu, cl->url) == 0;
    if (json_equal(next, prev) && same_leader) {
        json_decref(next);
        goto out;
    }
    json_t *revoked = lc_assign_revocations(prev, next, alive);
    int any = 0;
    json_object_foreach(revoked, wid, a)
    {
        if (json_array_size(json_object_get(a, "connectors")) ||
            json_array_size(json_object_get(a, "tasks")))
            any = 1;
    }
    if (any) {
        json_t *interim = lc_assign_without(prev, revoked);
        /* Members that hold nothing yet still appear, so they know the leader. */
        size_t j;
        json_t *m;
        json_array_foreach(alive, j, m)
        {
            if (!json_object_get(interim, json_string_value(m)))
                json_object_set_new(interim, json_string_value(m),
                                    json_pack("{s:[],s:[]}", "connectors", "tasks"));
        }
        /* drop workers no longer alive */
        json_t *clean = json_object();
        json_object_foreach(interim, wid, a)
        {
            if (array_has(alive, wid)) json_object_set(clean, wid, a);
        }
        if (publish(cl, clean, gen + 1) == 0) {
            cl->pending = next;
            cl->pending_gen = gen + 1;
            cl->pending_since = now;
            next = NULL;
        }
        json_decref(clean);
        json_decref(interim);
    } else {
        publish(cl, next, gen + 1);
    }
    json_decref(revoked);
    json_decref(next);
out:
    json_decref(alive);
    json_decref(prev);
    json_decref(prev_rec);
    json_decref(names);
    json_decref(tasks);
    json_decref(acks);
}

/* The tick thread ------------------------------------------------------------------------------ */

static void stop_all(lc_cluster_t *cl)
{
    pthread_mutex_lock(&cl->mu);
    int n = cl->nconns;
    lc_dconn_t **list = calloc((size_t)n + 1, sizeof(*list));
    if (n) memcpy(list, cl->conns, (size_t)n * sizeof(*list));
    pthread_mutex_unlock(&cl->mu);
    for (int i = 0; i < n; i++)
        stop_tasks(cl, list[i], -1, -1);
    free(list);
}

static void *tick_main(void *arg)
{
    lc_cluster_t *cl = arg;
    long seen = -1;
    while (!atomic_load(&cl->stopping)) {
        pthread_mutex_lock(&cl->mu);
        if (cl->changes == seen) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            /* 50 ms while the leader waits for the group to settle: a failover's last step */
            ts.tv_nsec += (cl->retry_soon ? 50 : 500) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&cl->cv, &cl->mu, &ts);
        }
        seen = cl->changes;
        pthread_mutex_unlock(&cl->mu);
        if (atomic_load(&cl->stopping)) break;
        lc_member_view_t view = lc_membership_view(cl->member);
        if (view.losses != cl->seen_losses) {
            /* Membership lost (session timeout): stop everything, run nothing until the leader
             * publishes an assignment after this worker rejoined. */
            cl->seen_losses = view.losses;
            cl->leaving = 0;
            lc_warn(NULL, "cluster: membership lost; stopping every task of this worker");
            stop_all(cl);
            pthread_mutex_lock(&cl->mu);
            cl->wait_gen = generation_of(cl->assignment) + 1;
            pthread_mutex_unlock(&cl->mu);
            drop_writer(cl);
        }
        if (view.leader) {
            cl->lead_rebalances = view.rebalances;
            ensure_writer(cl);
            ensure_session_key(cl);
            lead(cl, view);
        } else {
            cl->retry_soon = 0;
            /* Between the revocation and the next assignment of a rebalance the leader keeps its
             * transactional writer (write_as_leader refuses meanwhile): if partition 0 comes
             * back it leads again at once, without a new init_transactions and read to end. A
             * worker that took over would fence it anyway (same transactional.id). */
            if (!view.joined || view.rebalances != cl->lead_rebalances) drop_writer(cl);
        }
        reconcile(cl, view);
        if (view.joined) atomic_store(&cl->ready, 1);
    }
    return NULL;
}

void lc_cluster_stop(lc_cluster_t *cl)
{
    if (!cl || atomic_exchange(&cl->stopping, 1)) return;
    if (cl->tick_started) {
        lc_cluster_wake(cl);
        pthread_join(cl->tick, NULL);
        cl->tick_started = 0;
    }
    stop_all(cl);
    lc_membership_stop(cl->member);
    cl->member = NULL;
    drop_writer(cl);
}

void lc_cluster_free(lc_cluster_t *cl)
{
    if (!cl) return;
    lc_cluster_stop(cl);
    for (int i = 0; i < cl->nconns; i++)
        free_dconn(cl->conns[i]);
    free(cl->conns);
    lc_klog_stop(cl->config_log);
    lc_klog_stop(cl->coord_log);
    lc_kstores_stop(cl->stores);
    lc_cfgtopic_free(cl->cfg);
    json_decref(cl->assignment);
    json_decref(cl->acks);
    json_decref(cl->departed);
    json_decref(cl->pending);
    json_decref(cl->members);
    json_decref(cl->restart_tasks);
    pthread_mutex_destroy(&cl->mu);
    pthread_mutex_destroy(&cl->wmu);
    pthread_cond_destroy(&cl->cv);
    free(cl);
}
