/* distributed: see distributed.h. */
#include "distributed.h"
#include "cluster.h"
#include "config.h"
#include "util.h"
#include "http_client.h"
#include "log.h"
#include "topics.h"
#include "offsets_admin.h"
#include "signature.h"
#include "validate.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lc_distributed {
    lc_herder_t base; /* first: a herder pointer is a distributed pointer */
    lc_cluster_t *cl;
};

static lc_cluster_t *D(lc_herder_t *h)
{
    return ((lc_distributed_t *)h)->cl;
}

/* Views (any worker, from the replicated state) -------------------------------------------- */

static json_t *status_entry(lc_cluster_t *d, const char *name, int task)
{
    json_t *st = lc_kstores_status(d->stores, name, task);
    json_t *out = json_object();
    if (task >= 0) json_object_set_new(out, "id", json_integer(task));
    const char *state = st ? json_string_value(json_object_get(st, "state")) : NULL;
    const char *wid = st ? json_string_value(json_object_get(st, "worker_id")) : NULL;
    if (!wid) wid = lc_cluster_owner(d, name, task);
    json_object_set_new(out, "state", json_string(state ? state : "UNASSIGNED"));
    json_object_set_new(out, "worker_id", json_string(wid ? wid : ""));
    /* Connect 4.x: the plugin's version, as the status record holds it */
    const char *version = st ? json_string_value(json_object_get(st, "version")) : NULL;
    if (version) json_object_set_new(out, "version", json_string(version));
    const char *trace = st ? json_string_value(json_object_get(st, "trace")) : NULL;
    if (trace && state && strcmp(state, "FAILED") == 0)
        json_object_set_new(out, "trace", json_string(trace));
    json_decref(st);
    return out;
}

static const char *type_of(lc_dconn_t *c)
{
    return !c || !c->c ? "unknown" : c->c->is_source ? "source" : "sink";
}

/* A connector's config with secrets masked (from its plan; unplanned: names that look secret). */
static json_t *masked(lc_dconn_t *c, json_t *config)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(config, k, v)
    {
        int secret = c && c->c ? lc_connector_is_secret(c->c, k)
                               : strstr(k, "password") != NULL || strstr(k, "secret") != NULL;
        json_object_set_new(out, k, secret ? json_string("[hidden]") : json_incref(v));
    }
    return out;
}

static json_t *connector_names(lc_herder_t *h)
{
    lc_cluster_t *d = D(h);
    pthread_mutex_lock(&d->mu);
    json_t *names = lc_cfgtopic_connectors(d->cfg);
    pthread_mutex_unlock(&d->mu);
    return names;
}

static json_t *tasks_ids(lc_cluster_t *d, const char *name)
{
    json_t *tasks = json_array();
    int n = lc_cfgtopic_task_count(d->cfg, name);
    for (int i = 0; i < n; i++)
        json_array_append_new(tasks, json_pack("{s:s,s:i}", "connector", name, "task", i));
    return tasks;
}

static json_t *connector_info(lc_herder_t *h, const char *name)
{
    lc_cluster_t *d = D(h);
    pthread_mutex_lock(&d->mu);
    json_t *config = lc_cfgtopic_config(d->cfg, name), *out = NULL;
    if (config) {
        lc_dconn_t *c = lc_cluster_find(d, name);
        out = json_pack("{s:s,s:o,s:o,s:s}", "name", name, "config", masked(c, config), "tasks",
                        tasks_ids(d, name), "type", type_of(c));
    }
    pthread_mutex_unlock(&d->mu);
    json_decref(config);
    return out;
}

static lc_props_t *props_of(json_t *config)
{
    lc_props_t *p = lc_props_new();
    const char *k;
    json_t *v;
    json_object_foreach(config, k, v) if (json_is_string(v))
        lc_props_set(p, k, json_string_value(v));
    return p;
}

static lc_props_t *connector_props(lc_herder_t *h, const char *name)
{
    lc_cluster_t *d = D(h);
    pthread_mutex_lock(&d->mu);
    json_t *config = lc_cfgtopic_config(d->cfg, name);
    pthread_mutex_unlock(&d->mu);
    lc_props_t *p = config ? props_of(config) : NULL;
    json_decref(config);
    return p;
}

static json_t *connector_config(lc_herder_t *h, const char *name)
{
    lc_cluster_t *d = D(h);
    pthread_mutex_lock(&d->mu);
    json_t *config = lc_cfgtopic_config(d->cfg, name), *out = NULL;
    if (config) out = masked(lc_cluster_find(d, name), config);
    pthread_mutex_unlock(&d->mu);
    json_decref(config);
    return out;
}

static json_t *connector_status(lc_herder_t *h, const char *name)
{
    lc_cluster_t *d = D(h);
    pthread_mutex_lock(&d->mu);
    json_t *out = NULL;
    if (lc_cfgtopic_target(d->cfg, name) >= 0) {
        json_t *conn = status_entry(d, name, -1), *tasks = json_array();
        int n = lc_cfgtopic_task_count(d->cfg, name);
        for (int i = 0; i < n; i++)
            json_array_append_new(tasks, status_entry(d, name, i));
        out = json_pack("{s:s,s:o,s:o,s:s}", "name", name, "connector", conn, "tasks", tasks,
                        "type", type_of(lc_cluster_find(d, name)));
    }
    pthread_mutex_unlock(&d->mu);
    return out;
}

static json_t *task_configs(lc_herder_t *h, const char *name)
{
    lc_cluster_t *d = D(h);
    pthread_mutex_lock(&d->mu);
    json_t *out = NULL;
    if (lc_cfgtopic_target(d->cfg, name) >= 0) {
        out = json_array();
        lc_dconn_t *c = lc_cluster_find(d, name);
        int n = lc_cfgtopic_task_count(d->cfg, name);
        for (int i = 0; i < n; i++) {
            json_t *cfg = lc_cfgtopic_task_config(d->cfg, name, i);
            json_array_append_new(out, json_pack("{s:{s:s,s:i},s:o}", "id", "connector", name,
                                                 "task", i, "config", masked(c, cfg)));
            json_decref(cfg);
        }
    }
    pthread_mutex_unlock(&d->mu);
    return out;
}

static json_t *task_status(lc_herder_t *h, const char *name, int task)
{
    lc_cluster_t *d = D(h);
    pthread_mutex_lock(&d->mu);
    json_t *out = NULL;
    if (task >= 0 && task < lc_cfgtopic_task_count(d->cfg, name)) out = status_entry(d, name, task);
    pthread_mutex_unlock(&d->mu);
    return out;
}

/* Leader writes ------------------------------------------------------------------------------ */

/* Records for a connector's task configs and their commit (keys and values owned by out). */
typedef struct batch {
    lc_txrecord_t recs[1024];
    char *owned[2048];
    int n, nowned;
} batch_t;

static void batch_add(batch_t *b, const char *topic, char *key, char *value)
{
    if (b->n >= (int)(sizeof(b->recs) / sizeof(*b->recs)) - 1) {
        free(key);
        free(value);
        return;
    }
    b->recs[b->n++] = (lc_txrecord_t){topic, key, value};
    b->owned[b->nowned++] = key;
    if (value) b->owned[b->nowned++] = value;
}

static void batch_free(batch_t *b)
{
    for (int i = 0; i < b->nowned; i++)
        free(b->owned[i]);
}

static char *fmt(const char *f, const char *a, int n)
{
    char buf[1200];
    snprintf(buf, sizeof(buf), f, a, n);
    return strdup(buf);
}

static void add_tasks(lc_cluster_t *d, batch_t *b, const char *name, json_t *configs)
{
    size_t i;
    json_t *t;
    json_array_foreach(configs, i, t)
        batch_add(b, d->config_topic, fmt("task-%s-%d", name, (int)i), lc_cfgtopic_config_value(t));
    batch_add(b, d->config_topic, fmt("commit-%s%.0d", name, 0),
              lc_cfgtopic_commit_value((int)json_array_size(configs)));
}

/* Exactly-once sources: before a new generation of tasks is written, the transactional ids of
 * the old tasks that will not exist any more are fenced (those that stay are fenced by their
 * new instance claiming the id), then the tasks-fencing-<c> record says so (KIP-618). A task
 * fenced so while it still runs fails at its next commit: its open transaction is aborted, and
 * its source partitions resume from their last committed offsets in their new task. */
static int fence_old(lc_cluster_t *d, batch_t *b, const char *name, int is_source, int new_count,
                     char *errs, size_t errsz)
{
    const lc_task_env_t *env = lc_worker_task_env(d->w);
    if (!env->exactly_once || !is_source) return 0;
    pthread_mutex_lock(&d->mu);
    int old = lc_cfgtopic_task_count(d->cfg, name);
    pthread_mutex_unlock(&d->mu);
    for (int n = new_count; n < old; n++) {
        char txid[1200];
        snprintf(txid, sizeof(txid), "%s-%s-%d", env->txn_prefix, name, n);
        if (lc_txwriter_fence(lc_worker_kafka(d->w), txid, 30000, errs, errsz) != 0) return -1;
        lc_info(name, "fenced the transactional.id %s of a task that no longer exists", txid);
    }
    batch_add(b, d->config_topic, fmt("tasks-fencing-%s%.0d", name, 0),
              lc_cfgtopic_fencing_value(new_count));
    return 0;
}

static json_t *config_json(const lc_props_t *p)
{
    json_t *o = json_object();
    for (size_t i = 0; i < lc_props_count(p); i++)
        json_object_set_new(o, lc_props_key(p, i), json_string(lc_props_value(p, i)));
    return o;
}

/* Waits (at most ms) until the tick thread planned connector name from config, so the answer
 * to a change shows the connector's type and masks its secrets. */
static void await_planned(lc_cluster_t *d, const char *name, json_t *config, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        pthread_mutex_lock(&d->mu);
        lc_dconn_t *c = lc_cluster_find(d, name);
        int done = c && c->config && json_equal(c->config, config);
        pthread_mutex_unlock(&d->mu);
        if (done) return;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static int put_connector(lc_herder_t *h, const char *name, const lc_props_t *config, int mode,
                         int target, char *errs, size_t errsz)
{
    lc_cluster_t *d = D(h);
    if (!lc_connector_valid_name(name, errs, errsz)) return 400;
    pthread_mutex_lock(&d->mu);
    int exists = lc_cfgtopic_target(d->cfg, name) >= 0;
    int cur_target = exists ? lc_cfgtopic_target(d->cfg, name) : LC_TARGET_STARTED;
    pthread_mutex_unlock(&d->mu);
    if (mode == LC_PUT_CREATE && exists) {
        snprintf(errs, errsz, "Connector %s already exists", name);
        return 409;
    }
    if (mode == LC_PUT_UPDATE && !exists) {
        snprintf(errs, errsz, "Connector %s not found", name);
        return 404;
    }
    lc_props_t *props = lc_props_copy(config);
    lc_props_set(props, "name", name); /* Kafka Connect keeps the name in the config */
    lc_connector_t *c = lc_connector_plan(d->w, props, errs, errsz);
    json_t *cfg = config_json(props);
    lc_props_destroy(props);
    if (!c) {
        json_decref(cfg);
        return 400;
    }
    int t = target >= 0 ? target : cur_target;
    batch_t *b = calloc(1, sizeof(*b));
    /* As Connect: a target state only when the request names one (initial_state); a stopped
     * connector gets no task configs (its tasks went with the stop, or never were). */
    if (target >= 0)
        batch_add(b, d->config_topic, fmt("target-state-%s%.0d", name, 0),
                  lc_cfgtopic_target_value(t));
    batch_add(b, d->config_topic, fmt("connector-%s%.0d", name, 0), lc_cfgtopic_config_value(cfg));
    json_t *tasks = t == LC_TARGET_STOPPED ? NULL : lc_connector_task_strings(c);
    if (tasks) add_tasks(d, b, name, tasks);
    if (tasks &&
        fence_old(d, b, name, c->is_source, (int)json_array_size(tasks), errs, errsz) != 0) {
        batch_free(b);
        free(b);
        json_decref(tasks);
        json_decref(cfg);
        lc_connector_free(c);
        return 409;
    }
    int rc = lc_cluster_leader_write(d, b->recs, b->n, errs, errsz);
    batch_free(b);
    free(b);
    json_decref(tasks);
    lc_connector_free(c);
    if (rc == 0) await_planned(d, name, cfg, 3000);
    json_decref(cfg);
    if (rc != 0) return 409;
    return exists ? 200 : 201;
}

static int delete_connector(lc_herder_t *h, const char *name, char *errs, size_t errsz)
{
    lc_cluster_t *d = D(h);
    pthread_mutex_lock(&d->mu);
    int exists = lc_cfgtopic_target(d->cfg, name) >= 0;
    pthread_mutex_unlock(&d->mu);
    if (!exists) {
        snprintf(errs, errsz, "Connector %s not found", name);
        return 404;
    }
    batch_t *b = calloc(1, sizeof(*b));
    batch_add(b, d->config_topic, fmt("connector-%s%.0d", name, 0), NULL);
    batch_add(b, d->config_topic, fmt("target-state-%s%.0d", name, 0), NULL);
    int rc = lc_cluster_leader_write(d, b->recs, b->n, errs, errsz);
    batch_free(b);
    free(b);
    return rc == 0 ? 204 : 409;
}

static int set_target(lc_herder_t *h, const char *name, lc_target_t target, char *errs,
                      size_t errsz)
{
    lc_cluster_t *d = D(h);
    pthread_mutex_lock(&d->mu);
    json_t *config = lc_cfgtopic_config(d->cfg, name);
    int cur = lc_cfgtopic_target(d->cfg, name);
    int ntasks = lc_cfgtopic_task_count(d->cfg, name);
    pthread_mutex_unlock(&d->mu);
    if (!config) {
        snprintf(errs, errsz, "Connector %s not found", name);
        return 404;
    }
    batch_t *b = calloc(1, sizeof(*b));
    json_t *tasks = NULL;
    if (target == LC_TARGET_STOPPED) {
        /* As Kafka Connect: the tasks' configs go (an empty commit), then the state. */
        tasks = json_array();
        add_tasks(d, b, name, tasks);
    } else if (cur == LC_TARGET_STOPPED || ntasks < 0) {
        /* Leaving STOPPED: the tasks are planned again from the config. */
        lc_props_t *p = props_of(config);
        lc_connector_t *c = lc_connector_plan(d->w, p, errs, errsz);
        lc_props_destroy(p);
        if (c) {
            tasks = lc_connector_task_strings(c);
            add_tasks(d, b, name, tasks);
            lc_connector_free(c);
        }
    }
    /* A stop fences nothing: its tasks stop cleanly, committing their last transaction. */
    if (tasks && target != LC_TARGET_STOPPED) {
        pthread_mutex_lock(&d->mu);
        lc_dconn_t *dc = lc_cluster_find(d, name);
        int is_source = dc && dc->c && dc->c->is_source;
        pthread_mutex_unlock(&d->mu);
        if (fence_old(d, b, name, is_source, (int)json_array_size(tasks), errs, errsz) != 0) {
            batch_free(b);
            free(b);
            json_decref(tasks);
            json_decref(config);
            return 409;
        }
    }
    batch_add(b, d->config_topic, fmt("target-state-%s%.0d", name, 0),
              lc_cfgtopic_target_value(target));
    int rc = lc_cluster_leader_write(d, b->recs, b->n, errs, errsz);
    batch_free(b);
    free(b);
    json_decref(tasks);
    json_decref(config);
    if (rc != 0) return 409;
    return target == LC_TARGET_STOPPED ? 204 : 202;
}

static int restart(lc_herder_t *h, const char *name, int include_tasks, int only_failed,
                   json_t **status, char *errs, size_t errsz)
{
    lc_cluster_t *d = D(h);
    json_t *st = connector_status(h, name);
    if (!st) {
        snprintf(errs, errsz, "Unknown connector: %s", name);
        return 404;
    }
    batch_t *b = calloc(1, sizeof(*b));
    batch_add(b, d->config_topic, fmt("restart-connector-%s%.0d", name, 0),
              lc_cfgtopic_restart_value(include_tasks, only_failed));
    int rc = lc_cluster_leader_write(d, b->recs, b->n, errs, errsz);
    batch_free(b);
    free(b);
    if (rc != 0) {
        json_decref(st);
        return 409;
    }
    if (!status) {
        json_decref(st);
        return 204;
    }
    /* The status as the restart began, RESTARTING marking what restarts (Kafka Connect). */
    json_t *conn = json_object_get(st, "connector");
    const char *cs = json_string_value(json_object_get(conn, "state"));
    if (!only_failed || (cs && strcmp(cs, "FAILED") == 0))
        json_object_set_new(conn, "state", json_string("RESTARTING"));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(st, "tasks"), i, t)
    {
        const char *ts = json_string_value(json_object_get(t, "state"));
        if (include_tasks && (!only_failed || (ts && strcmp(ts, "FAILED") == 0)))
            json_object_set_new(t, "state", json_string("RESTARTING"));
    }
    *status = st;
    return 202;
}

static char *worker_url(lc_cluster_t *d, const char *wid)
{
    char buf[600];
    const char *scheme = strncmp(d->url, "https://", 8) == 0 ? "https" : "http";
    snprintf(buf, sizeof(buf), "%s://%s", scheme, wid);
    return strdup(buf);
}

static int restart_task(lc_herder_t *h, const char *name, int task, char *errs, size_t errsz)
{
    lc_cluster_t *d = D(h);
    pthread_mutex_lock(&d->mu);
    int known = task >= 0 && task < lc_cfgtopic_task_count(d->cfg, name);
    const char *o = known ? lc_cluster_owner(d, name, task) : NULL;
    char *owner = o ? strdup(o) : NULL;
    pthread_mutex_unlock(&d->mu);
    if (!known) {
        snprintf(errs, errsz, "Unknown task: %s-%d", name, task);
        return 404;
    }
    if (!owner) {
        snprintf(errs, errsz, "Cannot complete request because task %s-%d is not assigned", name,
                 task);
        return 409;
    }
    if (strcmp(owner, lc_worker_id(d->w)) == 0) {
        free(owner);
        lc_cluster_restart_task(d, name, task);
        return 204;
    }
    /* The task runs elsewhere: ask its worker (Kafka Connect forwards it the same way). */
    char *base = worker_url(d, owner), url[2048], *body = NULL;
    snprintf(url, sizeof(url), "%s/connectors/%s/tasks/%d/restart?forward=false", base, name, task);
    int code = lc_http_request("POST", url, NULL, NULL, 0, 30000, &body, errs, errsz);
    if (code >= 400 && body) {
        json_t *o2 = json_loads(body, 0, NULL);
        const char *m = json_string_value(json_object_get(o2, "message"));
        if (m) snprintf(errs, errsz, "%s", m);
        json_decref(o2);
    }
    free(body);
    free(base);
    free(owner);
    return code < 0 ? 409 : code;
}

static int reload(lc_herder_t *h, const char *name, int force, char *errs, size_t errsz)
{
    (void)h;
    (void)force;
    snprintf(errs, errsz,
             "Connector %s: hot reload is a standalone worker's feature; in distributed mode "
             "PUT the connector's config to restart it with its current scripts",
             name);
    return 400;
}

/* Offsets, plugins, worker -------------------------------------------------------------- */

static int facts(lc_cluster_t *d, const char *name, int *is_source, int *state, int *known,
                 char *errs, size_t errsz)
{
    pthread_mutex_lock(&d->mu);
    int exists = lc_cfgtopic_target(d->cfg, name) >= 0;
    lc_dconn_t *c = exists ? lc_cluster_find(d, name) : NULL;
    *known = c && c->c;
    *is_source = *known ? c->c->is_source : 0;
    json_t *st = exists ? lc_kstores_status(d->stores, name, -1) : NULL;
    const char *s = st ? json_string_value(json_object_get(st, "state")) : NULL;
    *state = LC_TASK_UNASSIGNED;
    for (int i = 0; s && i <= LC_TASK_RESTARTING; i++)
        if (strcmp(s, lc_task_state_names[i]) == 0) *state = i;
    json_decref(st);
    pthread_mutex_unlock(&d->mu);
    if (!exists) snprintf(errs, errsz, "Connector %s not found", name);
    return exists ? 0 : -1;
}

static int offsets_get(lc_herder_t *h, const char *name, json_t **out, char *errs, size_t errsz)
{
    lc_cluster_t *d = D(h);
    int is_source, state, known;
    if (facts(d, name, &is_source, &state, &known, errs, errsz) != 0) return 404;
    return lc_offsets_get(d->w, name, is_source, known, out, errs, errsz);
}

static int offsets_alter(lc_herder_t *h, const char *name, json_t *body, char *errs, size_t errsz)
{
    lc_cluster_t *d = D(h);
    int is_source, state, known;
    if (facts(d, name, &is_source, &state, &known, errs, errsz) != 0) return 404;
    pthread_mutex_lock(&d->mu);
    int target = lc_cfgtopic_target(d->cfg, name);
    pthread_mutex_unlock(&d->mu);
    if (target == LC_TARGET_STOPPED && state != LC_TASK_STOPPED) state = LC_TASK_STOPPED;
    return lc_offsets_alter(d->w, name, is_source, state, known, body, errs, errsz);
}

static json_t *plugins(lc_herder_t *h, int connectors_only)
{
    return lc_validate_plugins(D(h)->w, connectors_only);
}
static int plugin_config(lc_herder_t *h, const char *plugin, json_t **out, char *errs, size_t errsz)
{
    return lc_validate_plugin_config(D(h)->w, plugin, out, errs, errsz);
}
static int validate(lc_herder_t *h, const char *plugin, json_t *config, json_t **out, char *errs,
                    size_t errsz)
{
    return lc_validate(D(h)->w, plugin, config, out, errs, errsz);
}
static int ready(lc_herder_t *h)
{
    return atomic_load(&D(h)->ready);
}
static const char *worker_id(lc_herder_t *h)
{
    return lc_worker_id(D(h)->w);
}
static const char *cluster_id(lc_herder_t *h)
{
    return lc_kafka_cluster_id(lc_worker_kafka(D(h)->w));
}

/* Forwarding: NULL when this worker handles writes (it is the leader); else the leader's URL
 * (caller frees), "" when no leader is known. */
static char *leader_url(lc_herder_t *h)
{
    lc_cluster_t *d = D(h);
    return lc_cluster_is_leader(d) ? NULL : lc_cluster_leader_url(d);
}

/* The internal endpoint POST /connectors/<c>/tasks (KIP-507 signed): task configs computed by
 * the worker that owns the connector, written by the leader. */
static int put_task_configs(lc_herder_t *h, const char *name, const char *body, size_t len,
                            const char *signature, const char *algorithm, char *errs, size_t errsz)
{
    lc_cluster_t *d = D(h);
    pthread_mutex_lock(&d->mu);
    const char *alg = NULL;
    const char *key = lc_cfgtopic_session_key(d->cfg, &alg, NULL);
    char *k = key ? strdup(key) : NULL, *a = alg ? strdup(alg) : NULL;
    int exists = lc_cfgtopic_target(d->cfg, name) >= 0;
    pthread_mutex_unlock(&d->mu);
    int code = 0;
    /* inter.worker.verification.algorithms: what this worker accepts. */
    const char *allowed =
        lc_config_string(lc_worker_props(d->w), "inter.worker.verification.algorithms");
    if (algorithm && !lc_list_contains(allowed, algorithm)) {
        snprintf(errs, errsz,
                 "This worker does not support the '%s' key signing algorithm used by other "
                 "workers. This worker is currently configured to use: [%s]. Check that all "
                 "workers' configuration files permit the same set of signature algorithms, and "
                 "correct any misconfigured worker and restart it.",
                 algorithm, allowed);
        code = 400;
    } else if (!k) {
        snprintf(errs, errsz,
                 "This worker is still starting up and has not been able to read a "
                 "session key from the config topic yet");
        code = 503;
    } else {
        code = lc_signature_verify(k, a, body, len, signature, algorithm, errs, errsz);
    }
    free(k);
    free(a);
    if (code) return code;
    if (!exists) {
        snprintf(errs, errsz, "Connector %s not found", name);
        return 404;
    }
    json_t *configs = json_loadb(body, len, 0, NULL);
    if (!json_is_array(configs)) {
        json_decref(configs);
        snprintf(errs, errsz, "Task configs must be a JSON array of objects");
        return 400;
    }
    batch_t *b = calloc(1, sizeof(*b));
    add_tasks(d, b, name, configs);
    int rc = lc_cluster_leader_write(d, b->recs, b->n, errs, errsz);
    batch_free(b);
    free(b);
    json_decref(configs);
    return rc == 0 ? 204 : 409;
}

static int active_topics(lc_herder_t *h, const char *name, json_t **out, char *errs, size_t errsz)
{
    return lc_topics_get(lc_worker_task_env(D(h)->w), name, out, errs, errsz);
}

static int reset_topics(lc_herder_t *h, const char *name, char *errs, size_t errsz)
{
    return lc_topics_reset(lc_worker_task_env(D(h)->w), name, errs, errsz);
}

static const lc_herder_ops_t distributed_ops = {
    .active_topics = active_topics,
    .reset_topics = reset_topics,
    .put_connector = put_connector,
    .delete_connector = delete_connector,
    .set_target = set_target,
    .restart = restart,
    .restart_task = restart_task,
    .reload = reload,
    .connector_names = connector_names,
    .connector_info = connector_info,
    .connector_props = connector_props,
    .connector_config = connector_config,
    .connector_status = connector_status,
    .task_configs = task_configs,
    .task_status = task_status,
    .offsets_get = offsets_get,
    .offsets_alter = offsets_alter,
    .plugins = plugins,
    .plugin_config = plugin_config,
    .validate = validate,
    .ready = ready,
    .worker_id = worker_id,
    .cluster_id = cluster_id,
    .leader_url = leader_url,
    .put_task_configs = put_task_configs,
};

lc_distributed_t *lc_distributed_new(lc_worker_t *w, char *errstr, size_t errstr_size)
{
    lc_cluster_t *cl = lc_cluster_new(w, errstr, errstr_size);
    if (!cl) return NULL;
    lc_distributed_t *d = calloc(1, sizeof(*d));
    d->base.ops = &distributed_ops;
    d->cl = cl;
    return d;
}

lc_herder_t *lc_distributed_herder(lc_distributed_t *d)
{
    return &d->base;
}

int lc_distributed_start(lc_distributed_t *d, const char *url, char *errstr, size_t errstr_size)
{
    return lc_cluster_start(d->cl, url, errstr, errstr_size);
}

void lc_distributed_stop(lc_distributed_t *d)
{
    lc_cluster_stop(d->cl);
}

void lc_distributed_destroy(lc_distributed_t *d)
{
    if (!d) return;
    lc_cluster_free(d->cl);
    free(d);
}
