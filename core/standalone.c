/* standalone: see standalone.h. */
#include "standalone.h"
#include "connector_json.h"
#include "log.h"
#include "topics.h"
#include "offsets_admin.h"
#include "reload.h"
#include "task.h"
#include "task_metrics.h"
#include "util.h"
#include "validate.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lc_standalone {
    lc_herder_t base; /* first: a herder pointer is a standalone pointer */
    lc_worker_t *w;
    pthread_mutex_t op;
    pthread_mutex_t mu;
    lc_connector_t **conns;
    int nconns;
    int stopped;
    atomic_int ready;              /* stored and command-line connectors applied (GET /health) */
    char **cli_names, **cli_paths; /* connectors given as .properties files (hot reload) */
    int ncli;
};

static json_t *connector_names(lc_herder_t *h);
static json_t *connector_status(lc_herder_t *h, const char *name);
static void set_cli_path(lc_standalone_t *s, const char *name, const char *path);

static char *props_to_json(const lc_props_t *p)
{
    json_t *o = json_object();
    for (size_t i = 0; i < lc_props_count(p); i++)
        json_object_set_new(o, lc_props_key(p, i), json_string(lc_props_value(p, i)));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* Index of the connector called name, or -1; caller holds mu. */
static int find_index(lc_standalone_t *s, const char *name)
{
    for (int i = 0; i < s->nconns; i++)
        if (strcmp(s->conns[i]->name, name) == 0) return i;
    return -1;
}

static int persist(lc_standalone_t *s, const char *name, const lc_props_t *props, int target,
                   char *errs, size_t errsz)
{
    char *json = props_to_json(props);
    lc_config_store_t *cs = lc_store_configs(lc_worker_store(s->w));
    int rc = cs->put(cs, name, json, lc_target_names[target], errs, errsz);
    free(json);
    return rc;
}

static void set_connector_state(lc_standalone_t *s, lc_connector_t *c, int state, const char *trace)
{
    char err[512];
    pthread_mutex_lock(&s->mu);
    c->state = state;
    free(c->trace);
    c->trace = trace ? strdup(trace) : NULL;
    pthread_mutex_unlock(&s->mu);
    lc_status_store_t *ss = lc_store_statuses(lc_worker_store(s->w));
    if (ss->put(ss, c->name, -1, lc_task_state_names[state], trace, lc_worker_id(s->w), c->version,
                err, sizeof(err)) != 0)
        lc_warn(c->name, "cannot record status: %s", err);
}

/* Stops task i of c and starts it again (unless it had to be abandoned). Caller holds op. */
static void restart_one(lc_standalone_t *s, lc_connector_t *c, int i)
{
    lc_task_t *t = c->tasks[i];
    lc_tasks_stop(c, i);
    if (t->started == -1) return;
    lc_task_set_state(t, LC_TASK_RESTARTING, NULL);
    lc_task_start(t);
}

/* Drops the planned tasks of a stopped connector (status then lists none). Caller holds op. */
static void drop_tasks(lc_standalone_t *s, lc_connector_t *c)
{
    if (c->abandoned) return;
    pthread_mutex_lock(&s->mu);
    lc_task_t **tasks = c->tasks;
    int n = c->ntasks;
    c->tasks = NULL;
    c->ntasks = 0;
    pthread_mutex_unlock(&s->mu);
    lc_connector_tasks_free(tasks, n);
}

/* Brings a planned connector to its target: tasks running, running paused, or none. */
static void activate(lc_standalone_t *s, lc_connector_t *c)
{
    if (c->target == LC_TARGET_STOPPED) {
        drop_tasks(s, c);
        set_connector_state(s, c, LC_TASK_STOPPED, NULL);
        lc_info(c->name, "connector STOPPED (no tasks)");
        return;
    }
    set_connector_state(s, c, c->target == LC_TARGET_PAUSED ? LC_TASK_PAUSED : LC_TASK_RUNNING,
                        NULL);
    lc_info(NULL, "connector '%s': starting %d %s task%s%s (%s)", c->name, c->ntasks,
            c->is_source ? "source" : "sink", c->ntasks == 1 ? "" : "s",
            c->target == LC_TARGET_PAUSED ? " paused" : "", c->script_path);
    for (int i = 0; i < c->ntasks; i++)
        lc_task_start(c->tasks[i]);
}

/* Puts c in place of the connector at idx (or appends it when idx < 0) after stopping the
 * old one's tasks, then activates c. Caller holds op. */
static void install(lc_standalone_t *s, int idx, lc_connector_t *c)
{
    lc_connector_t *old = NULL;
    if (idx >= 0) {
        pthread_mutex_lock(&s->mu);
        old = s->conns[idx];
        pthread_mutex_unlock(&s->mu);
        lc_tasks_stop(old, -1);
    }
    lc_status_store_t *ss = lc_store_statuses(lc_worker_store(s->w));
    ss->clear(ss, c->name);
    pthread_mutex_lock(&s->mu);
    if (idx >= 0) {
        if (old->detached_from && !c->detached_from) c->detached_from = strdup(old->detached_from);
        s->conns[idx] = c;
    } else {
        s->conns = realloc(s->conns, (size_t)(s->nconns + 1) * sizeof(*s->conns));
        s->conns[s->nconns++] = c;
    }
    pthread_mutex_unlock(&s->mu);
    if (old && !old->abandoned) lc_connector_free(old);
    activate(s, c);
    /* Metrics: a connector start (a placeholder has no script: it failed to start). */
    if (c->target != LC_TARGET_STOPPED) lc_task_metrics_connector_startup(c->script_path != NULL);
}

static int put_connector(lc_herder_t *h, const char *name, const lc_props_t *config, int mode,
                         int target, char *errs, size_t errsz)
{
    lc_standalone_t *s = (lc_standalone_t *)h;
    int rc;
    errs[0] = 0;
    if (!lc_connector_valid_name(name, errs, errsz)) return 400;
    lc_props_t *props = lc_props_copy(config);
    lc_props_set(props, "name", name);
    pthread_mutex_lock(&s->op);
    pthread_mutex_lock(&s->mu);
    int idx = find_index(s, name);
    int old_target = idx >= 0 ? s->conns[idx]->target : LC_TARGET_STARTED;
    /* A masked value sent back unchanged (GET then PUT) keeps the real one. */
    for (size_t i = 0; idx >= 0 && i < lc_props_count(props); i++) {
        const char *old = lc_props_get(s->conns[idx]->props, lc_props_key(props, i));
        if (old && strcmp(lc_props_value(props, i), "[hidden]") == 0)
            lc_props_set(props, lc_props_key(props, i), old);
    }
    pthread_mutex_unlock(&s->mu);
    if (s->stopped) {
        snprintf(errs, errsz, "the worker is shutting down");
        rc = 409;
        goto out;
    }
    if (mode == LC_PUT_CREATE && idx >= 0) {
        snprintf(errs, errsz, "Connector %s already exists", name);
        rc = 409;
        goto out;
    }
    if (mode == LC_PUT_UPDATE && idx < 0) {
        snprintf(errs, errsz, "Connector %s not found", name);
        rc = 404;
        goto out;
    }
    if (idx >= 0 && (target < 0 || target == old_target)) {
        /* The same config again (a restart's command-line file, a repeated PUT): the
         * connector keeps running untouched. */
        pthread_mutex_lock(&s->mu);
        lc_connector_t *old = s->conns[idx];
        int same = old->state != LC_TASK_FAILED && old->script_path &&
                   lc_reload_props_equal(old->props, props, 0);
        pthread_mutex_unlock(&s->mu);
        if (same) {
            rc = 200;
            goto out;
        }
    }
    lc_connector_t *c = lc_connector_plan(s->w, props, errs, errsz);
    if (!c) {
        rc = 400;
        goto out;
    }
    c->target = target >= 0 ? target : old_target;
    if (persist(s, name, props, c->target, errs, errsz) != 0) {
        lc_connector_free(c);
        rc = 500;
        goto out;
    }
    lc_info(NULL, "connector '%s': %s (target state %s)", name,
            idx >= 0 ? "config updated" : "created", lc_target_names[c->target]);
    install(s, idx, c);
    rc = idx >= 0 ? 200 : 201;
out:
    pthread_mutex_unlock(&s->op);
    lc_props_destroy(props);
    return rc;
}

int lc_standalone_add_connector(lc_standalone_t *s, const lc_props_t *props, char *errs,
                                size_t errsz)
{
    const char *name = lc_props_get(props, "name");
    const char *src = lc_props_source(props);
    if (!name || !*name) {
        snprintf(errs, errsz, "connector config%s%s: missing required key 'name'", *src ? " " : "",
                 src);
        return -1;
    }
    int rc = put_connector(&s->base, name, props, LC_PUT_ANY, -1, errs, errsz);
    if (rc != 200 && rc != 201) return -1;
    if (*src) {
        char real[PATH_MAX];
        set_cli_path(s, name, realpath(src, real) ? real : src);
    }
    return 0;
}

struct restore_ctx {
    lc_standalone_t *s;
    int n;
};

static void restore_one(void *arg, const char *name, const char *config_json, const char *target)
{
    struct restore_ctx *r = arg;
    lc_standalone_t *s = r->s;
    char errs[16384];
    int tgt = LC_TARGET_STARTED;
    for (int i = 0; i < 3; i++)
        if (strcmp(target, lc_target_names[i]) == 0) tgt = i;
    json_error_t jerr;
    json_t *o = json_loads(config_json, 0, &jerr);
    lc_props_t *props = lc_props_new();
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) if (json_is_string(v))
        lc_props_set(props, k, json_string_value(v));
    json_decref(o);
    lc_connector_t *c = lc_connector_plan(s->w, props, errs, sizeof(errs));
    if (!c) {
        lc_error(NULL, "connector '%s' (restored from the store): %s", name, errs);
        c = lc_connector_placeholder(s->w, name, props, tgt);
        install(s, -1, c);
        set_connector_state(s, c, LC_TASK_FAILED, errs);
    } else {
        c->target = tgt;
        install(s, -1, c);
    }
    lc_props_destroy(props);
    r->n++;
}

void lc_standalone_restore(lc_standalone_t *s)
{
    char err[512];
    struct restore_ctx r = {s, 0};
    lc_config_store_t *cs = lc_store_configs(lc_worker_store(s->w));
    pthread_mutex_lock(&s->op);
    if (cs->each(cs, restore_one, &r, err, sizeof(err)) != 0)
        lc_error(NULL, "cannot read the stored connector configs: %s", err);
    pthread_mutex_unlock(&s->op);
    if (r.n) lc_info(NULL, "restored %d connector%s from the store", r.n, r.n == 1 ? "" : "s");
}

/* Looks a connector up under op; 404 text in errs when missing. */
static lc_connector_t *find_locked(lc_standalone_t *s, const char *name, char *errs, size_t errsz)
{
    pthread_mutex_lock(&s->mu);
    int idx = find_index(s, name);
    lc_connector_t *c = idx >= 0 ? s->conns[idx] : NULL;
    pthread_mutex_unlock(&s->mu);
    if (!c) snprintf(errs, errsz, "Connector %s not found", name);
    return c;
}

/* Takes op and looks the connector up; on a miss releases op and returns NULL (404). */
static lc_connector_t *op_find(lc_standalone_t *s, const char *name, char *errs, size_t errsz)
{
    pthread_mutex_lock(&s->op);
    lc_connector_t *c = find_locked(s, name, errs, errsz);
    if (!c) pthread_mutex_unlock(&s->op);
    return c;
}

/* A connector given as a .properties file and then changed over the REST API is detached
 * from its file: saving the file no longer reloads (and so overwrites) it. Caller holds no
 * lock. */
static void detach_from_file(lc_standalone_t *s, const char *name, const char *why)
{
    pthread_mutex_lock(&s->mu);
    int i = 0;
    while (i < s->ncli && strcmp(s->cli_names[i], name) != 0)
        i++;
    char *path = NULL;
    if (i < s->ncli) {
        path = s->cli_paths[i];
        free(s->cli_names[i]);
        memmove(&s->cli_names[i], &s->cli_names[i + 1], (size_t)(s->ncli - i - 1) * sizeof(char *));
        memmove(&s->cli_paths[i], &s->cli_paths[i + 1], (size_t)(s->ncli - i - 1) * sizeof(char *));
        s->ncli--;
        int idx = find_index(s, name);
        if (idx >= 0) {
            free(s->conns[idx]->detached_from);
            s->conns[idx]->detached_from = strdup(path);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (path)
        lc_info(NULL,
                "connector '%s': %s over the REST API: detached from %s (saving that file no "
                "longer changes it; a restart of the worker reads the file again)",
                name, why, path);
    free(path);
}

/* The REST API's create/update: put_connector, then a change to a file's connector detaches
 * it from the file. */
static int rest_put_connector(lc_herder_t *h, const char *name, const lc_props_t *config, int mode,
                              int target, char *errs, size_t errsz)
{
    lc_standalone_t *s = (lc_standalone_t *)h;
    pthread_mutex_lock(&s->mu);
    int idx = find_index(s, name);
    lc_props_t *before = idx >= 0 ? lc_props_copy(s->conns[idx]->props) : NULL;
    pthread_mutex_unlock(&s->mu);
    int rc = put_connector(h, name, config, mode, target, errs, errsz);
    if (before && (rc == 200 || rc == 201)) {
        pthread_mutex_lock(&s->mu);
        idx = find_index(s, name);
        int changed = idx >= 0 && !lc_reload_props_equal(before, s->conns[idx]->props, 0);
        pthread_mutex_unlock(&s->mu);
        if (changed) detach_from_file(s, name, "config changed");
    }
    lc_props_destroy(before);
    return rc;
}

static int delete_connector(lc_herder_t *h, const char *name, char *errs, size_t errsz)
{
    lc_standalone_t *s = (lc_standalone_t *)h;
    lc_connector_t *c = op_find(s, name, errs, errsz);
    if (!c) return 404;
    lc_tasks_stop(c, -1);
    pthread_mutex_lock(&s->mu);
    int idx = find_index(s, name);
    memmove(&s->conns[idx], &s->conns[idx + 1], (size_t)(s->nconns - idx - 1) * sizeof(*s->conns));
    s->nconns--;
    pthread_mutex_unlock(&s->mu);
    lc_config_store_t *cs = lc_store_configs(lc_worker_store(s->w));
    if (cs->del(cs, name, errs, errsz) != 0)
        lc_warn(name, "cannot delete the stored config: %s", errs);
    lc_status_store_t *ss = lc_store_statuses(lc_worker_store(s->w));
    ss->clear(ss, name);
    if (ss->topics_reset(ss, name, errs, errsz) != 0) /* KIP-558: its topics go with it */
        lc_warn(name, "cannot forget its active topics: %s", errs);
    lc_info(NULL, "connector '%s' deleted", name);
    if (!c->abandoned) lc_connector_free(c);
    detach_from_file(s, name, "deleted");
    pthread_mutex_unlock(&s->op);
    errs[0] = 0;
    return 204;
}

/* Plans c's config anew and installs it in c's place with target; on a validation error
 * the connector stays in place, FAILED, without tasks. Caller holds op. */
static void replan(lc_standalone_t *s, lc_connector_t *c, int target)
{
    char errs[16384];
    pthread_mutex_lock(&s->mu);
    int idx = find_index(s, c->name);
    pthread_mutex_unlock(&s->mu);
    lc_connector_t *n = lc_connector_plan(s->w, c->props, errs, sizeof(errs));
    if (!n) n = lc_connector_placeholder(s->w, c->name, c->props, target);
    n->target = target;
    install(s, idx, n);
    if (!n->script_path) set_connector_state(s, n, LC_TASK_FAILED, errs);
}

static int set_target(lc_herder_t *h, const char *name, lc_target_t target, char *errs,
                      size_t errsz)
{
    lc_standalone_t *s = (lc_standalone_t *)h;
    lc_connector_t *c = op_find(s, name, errs, errsz);
    if (!c) return 404;
    if (persist(s, name, c->props, target, errs, errsz) != 0) {
        pthread_mutex_unlock(&s->op);
        return 500;
    }
    int has_tasks = c->ntasks > 0 && c->script_path;
    lc_info(NULL, "connector '%s': target state %s", name, lc_target_names[target]);
    if (target == LC_TARGET_STOPPED) {
        lc_tasks_stop(c, -1);
        pthread_mutex_lock(&s->mu);
        c->target = target;
        pthread_mutex_unlock(&s->mu);
        activate(s, c);
    } else if (!has_tasks || c->state == LC_TASK_STOPPED || c->state == LC_TASK_FAILED) {
        replan(s, c, target);
    } else {
        pthread_mutex_lock(&s->mu);
        c->target = target;
        for (int i = 0; i < c->ntasks; i++)
            c->tasks[i]->pause = target == LC_TARGET_PAUSED;
        pthread_mutex_unlock(&s->mu);
        set_connector_state(s, c, target == LC_TARGET_PAUSED ? LC_TASK_PAUSED : LC_TASK_RUNNING,
                            NULL);
    }
    pthread_mutex_unlock(&s->op);
    errs[0] = 0;
    return target == LC_TARGET_STOPPED ? 204 : 202;
}

static int restart(lc_herder_t *h, const char *name, int include_tasks, int only_failed,
                   json_t **status, char *errs, size_t errsz)
{
    lc_standalone_t *s = (lc_standalone_t *)h;
    lc_connector_t *c = op_find(s, name, errs, errsz);
    if (!c) return 404;
    errs[0] = 0;
    int restart_conn = !only_failed || c->state == LC_TASK_FAILED;
    int *restart_task = calloc((size_t)c->ntasks + 1, sizeof(int));
    for (int i = 0; i < c->ntasks; i++)
        restart_task[i] = include_tasks && (!only_failed || c->tasks[i]->state == LC_TASK_FAILED);
    if (status) {
        *status = connector_status(&s->base, name);
        if (restart_conn && c->target != LC_TARGET_STOPPED)
            json_object_set_new(json_object_get(*status, "connector"), "state",
                                json_string("RESTARTING"));
        json_t *tasks = json_object_get(*status, "tasks");
        for (int i = 0; i < c->ntasks && i < (int)json_array_size(tasks); i++)
            if (restart_task[i])
                json_object_set_new(json_array_get(tasks, i), "state", json_string("RESTARTING"));
    }
    if (c->target == LC_TARGET_STOPPED) goto out; /* nothing runs; nothing to restart */
    if (restart_conn) {
        lc_info(NULL, "connector '%s': restarting", name);
        char perr[16384];
        lc_connector_t *n = lc_connector_plan(s->w, c->props, perr, sizeof(perr));
        if (!n) {
            /* The connector fails; its running tasks go on, as in Kafka Connect. */
            set_connector_state(s, c, LC_TASK_FAILED, perr);
            lc_task_metrics_connector_startup(0);
            if (!c->script_path || c->ntasks == 0) goto out;
        } else if (!c->script_path || c->state == LC_TASK_FAILED ||
                   !lc_connector_same_tasks(c, n)) {
            /* New task configs (or none ran): every task starts from the new plan. */
            n->target = c->target;
            pthread_mutex_lock(&s->mu);
            int idx = find_index(s, name);
            pthread_mutex_unlock(&s->mu);
            install(s, idx, n);
            goto out;
        } else {
            lc_connector_free(n);
            set_connector_state(
                s, c, c->target == LC_TARGET_PAUSED ? LC_TASK_PAUSED : LC_TASK_RUNNING, NULL);
            lc_task_metrics_connector_startup(1);
        }
    }
    for (int i = 0; i < c->ntasks; i++)
        if (restart_task[i]) restart_one(s, c, i);
out:
    free(restart_task);
    pthread_mutex_unlock(&s->op);
    return status ? 202 : 204;
}

static int restart_task(lc_herder_t *h, const char *name, int task, char *errs, size_t errsz)
{
    lc_standalone_t *s = (lc_standalone_t *)h;
    pthread_mutex_lock(&s->op);
    lc_connector_t *c = find_locked(s, name, errs, errsz);
    int rc = 404;
    if (!c) goto out;
    if (task < 0 || task >= c->ntasks) {
        snprintf(errs, errsz, "Task %s-%d not found", name, task);
        goto out;
    }
    lc_info(c->tasks[task]->ctx, "restarting");
    restart_one(s, c, task);
    errs[0] = 0;
    rc = 204;
out:
    pthread_mutex_unlock(&s->op);
    return rc;
}

void lc_standalone_stop(lc_standalone_t *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->op);
    if (!s->stopped) {
        s->stopped = 1;
        for (int i = 0; i < s->nconns; i++)
            for (int j = 0; j < s->conns[i]->ntasks; j++)
                s->conns[i]->tasks[j]->stop = 1;
        for (int i = 0; i < s->nconns; i++)
            lc_tasks_stop(s->conns[i], -1);
    }
    pthread_mutex_unlock(&s->op);
}

void lc_standalone_destroy(lc_standalone_t *s)
{
    if (!s) return;
    lc_standalone_stop(s);
    for (int i = 0; i < s->nconns; i++)
        if (!s->conns[i]->abandoned) lc_connector_free(s->conns[i]);
    free(s->conns);
    lc_free_list(s->cli_names, s->ncli);
    lc_free_list(s->cli_paths, s->ncli);
    pthread_mutex_destroy(&s->op);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const char *cli_path(lc_standalone_t *s, const char *name)
{
    for (int i = 0; i < s->ncli; i++)
        if (strcmp(s->cli_names[i], name) == 0) return s->cli_paths[i];
    return NULL;
}

static void set_cli_path(lc_standalone_t *s, const char *name, const char *path)
{
    pthread_mutex_lock(&s->mu);
    int i = 0;
    while (i < s->ncli && strcmp(s->cli_names[i], name) != 0)
        i++;
    if (i == s->ncli) {
        s->cli_names = realloc(s->cli_names, (size_t)(s->ncli + 1) * sizeof(char *));
        s->cli_paths = realloc(s->cli_paths, (size_t)(s->ncli + 1) * sizeof(char *));
        s->cli_names[i] = strdup(name);
        s->cli_paths[i] = NULL;
        s->ncli++;
    }
    free(s->cli_paths[i]);
    s->cli_paths[i] = strdup(path);
    pthread_mutex_unlock(&s->mu);
}

static void set_reload_error(lc_standalone_t *s, lc_connector_t *c, char *errs)
{
    char msg[16384];
    snprintf(msg, sizeof(msg), "reload failed: %s", lc_reload_strip_error(errs, c->name));
    lc_error(NULL, "connector '%s': %s (the running code stays)", c->name, msg);
    lc_task_metrics_connector_reload(c->name, 0);
    pthread_mutex_lock(&s->mu);
    free(c->reload_error);
    c->reload_error = strdup(msg);
    pthread_mutex_unlock(&s->mu);
}

/* After every task took n's code: n takes over c's task threads and c goes. */
static void adopt_tasks(lc_standalone_t *s, int idx, lc_connector_t *c, lc_connector_t *n)
{
    pthread_mutex_lock(&s->mu);
    lc_reload_move_tasks(c, n);
    s->conns[idx] = n;
    pthread_mutex_unlock(&s->mu);
    lc_connector_free(c);
}

static int reload(lc_herder_t *h, const char *name, int force, char *errs, size_t errsz)
{
    lc_standalone_t *s = (lc_standalone_t *)h;
    int rc;
    long long t0 = lc_now_ms();
    lc_connector_t *c = op_find(s, name, errs, errsz);
    if (!c) return 404;
    errs[0] = 0;
    lc_props_t *props = NULL;
    pthread_mutex_lock(&s->mu); /* a REST change may detach the file meanwhile */
    char *file = cli_path(s, name) ? strdup(cli_path(s, name)) : NULL;
    pthread_mutex_unlock(&s->mu);
    if (file) {
        char perr[4096];
        props = lc_props_new();
        if (lc_props_parse_file(props, file, perr, sizeof(perr)) != 0) {
            set_reload_error(s, c, perr);
            snprintf(errs, errsz, "reload failed: %s", perr);
            rc = 400;
            goto out;
        }
        const char *fname = lc_props_get(props, "name");
        if (!fname || strcmp(fname, name) != 0) {
            snprintf(perr, sizeof(perr), "%s: key 'name' must stay '%s' (got '%s')", file, name,
                     fname ? fname : "");
            set_reload_error(s, c, perr);
            snprintf(errs, errsz, "reload failed: %s", perr);
            rc = 400;
            goto out;
        }
    } else {
        props = lc_props_copy(c->props);
    }
    int only_chain_files;
    int props_changed = !lc_reload_props_equal(c->props, props, 0);
    int changed = lc_reload_files_changed(c, &only_chain_files) || props_changed;
    if (!changed && !force && !c->reload_error) {
        rc = 204;
        goto out;
    }
    char perr[16384];
    lc_connector_t *n = lc_connector_plan(s->w, props, perr, sizeof(perr));
    if (!n) {
        if (file) lc_reload_locate_errors(props, file, perr, sizeof(perr));
        set_reload_error(s, c, perr);
        snprintf(errs, errsz, "%s", c->reload_error);
        rc = 400;
        /* The transforms may still change on their own: the connector keeps its last good
         * script, the chain takes the new transforms if they are valid. */
        if (!lc_reload_props_equal(c->props, props, 1) || !lc_reload_chain_changed(c, props))
            goto out;
        char cerr[16384];
        n = lc_connector_chain_variant(s->w, c, props, cerr, sizeof(cerr));
        if (!n) {
            lc_error(NULL, "connector '%s': reload failed: %s", name,
                     lc_reload_strip_error(cerr, name));
            goto out;
        }
        n->reload_error = strdup(c->reload_error);
        if (!lc_reload_tasks_running(c) || n->ntasks != c->ntasks) {
            lc_connector_free(n);
            goto out;
        }
        if (props_changed && persist(s, name, props, c->target, cerr, sizeof(cerr)) != 0)
            lc_warn(name, "cannot persist the reloaded config: %s", cerr);
        pthread_mutex_lock(&s->mu);
        int idx = find_index(s, name);
        pthread_mutex_unlock(&s->mu);
        n->target = c->target;
        if (lc_reload_hand_over(c, n, LC_SWAP_CHAIN)) {
            adopt_tasks(s, idx, c, n);
            lc_info(NULL,
                    "connector '%s': reloaded, transforms swapped, in %lld ms (the connector "
                    "script stays at its last good version)",
                    name, lc_now_ms() - t0);
        } else {
            install(s, idx, n);
        }
        goto out;
    }
    n->target = c->target;
    if (props_changed && persist(s, name, props, n->target, errs, errsz) != 0)
        lc_warn(name, "cannot persist the reloaded config: %s", errs);
    int running = lc_reload_tasks_running(c);
    pthread_mutex_lock(&s->mu);
    int idx = find_index(s, name);
    pthread_mutex_unlock(&s->mu);
    const char *how;
    if (!running || n->ntasks != c->ntasks || n->is_source != c->is_source ||
        lc_reload_restart_keys_differ(c->props, n->props)) {
        how = "tasks restarted";
        install(s, idx, n);
    } else {
        int chain_only = only_chain_files && lc_reload_props_equal(c->props, n->props, 1) &&
                         lc_connector_same_tasks(c, n);
        how = chain_only ? "transforms swapped" : "scripts swapped";
        if (lc_reload_hand_over(c, n, chain_only ? LC_SWAP_CHAIN : LC_SWAP_FULL)) {
            adopt_tasks(s, idx, c, n);
        } else {
            how = "tasks restarted (a task could not take the new code in place)";
            install(s, idx, n);
        }
    }
    lc_info(NULL, "connector '%s': reloaded, %s, in %lld ms", name, how, lc_now_ms() - t0);
    lc_task_metrics_connector_reload(name, 1);
    rc = 200;
out:
    lc_props_destroy(props);
    pthread_mutex_unlock(&s->op);
    free(file);
    return rc;
}

void lc_standalone_reload_changed(lc_standalone_t *s)
{
    char err[16384];
    json_t *names = connector_names(&s->base);
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) reload(&s->base, json_string_value(n), 0, err, sizeof(err));
    json_decref(names);
}

static void add_unique(char ***list, int *n, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*list)[i], s) == 0) return;
    *list = realloc(*list, (size_t)(*n + 1) * sizeof(char *));
    (*list)[(*n)++] = strdup(s);
}

char **lc_standalone_watched_files(lc_standalone_t *s, int *n)
{
    char **out = NULL;
    *n = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nconns; i++)
        for (int j = 0; j < s->conns[i]->nfiles; j++)
            add_unique(&out, n, s->conns[i]->files[j]);
    for (int i = 0; i < s->ncli; i++)
        add_unique(&out, n, s->cli_paths[i]);
    pthread_mutex_unlock(&s->mu);
    return out;
}

char **lc_standalone_connectors_using(lc_standalone_t *s, const char *path, int *n)
{
    char **out = NULL;
    *n = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nconns; i++) {
        lc_connector_t *c = s->conns[i];
        int uses = 0;
        for (int j = 0; j < c->nfiles && !uses; j++)
            uses = strcmp(c->files[j], path) == 0;
        const char *cp = cli_path(s, c->name);
        uses |= cp && strcmp(cp, path) == 0;
        if (uses) add_unique(&out, n, c->name);
    }
    pthread_mutex_unlock(&s->mu);
    return out;
}

/* Views -------------------------------------------------------------------------------- */

static lc_connector_t *find(lc_standalone_t *s, const char *name)
{
    int i = find_index(s, name);
    return i >= 0 ? s->conns[i] : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *connector_names(lc_herder_t *h)
{
    lc_standalone_t *s = (lc_standalone_t *)h;
    pthread_mutex_lock(&s->mu);
    int n = s->nconns;
    char **names = calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++)
        names[i] = strdup(s->conns[i]->name);
    pthread_mutex_unlock(&s->mu);
    /* Sorted, as herder.h promises: creation order would leak through otherwise. */
    qsort(names, (size_t)n, sizeof(char *), cmp_str);
    json_t *a = json_array();
    for (int i = 0; i < n; i++) {
        json_array_append_new(a, json_string(names[i]));
        free(names[i]);
    }
    free(names);
    return a;
}

/* One view of connector name built under mu: NULL when it is unknown. */
typedef json_t *(*view_fn)(const lc_standalone_t *s, const lc_connector_t *c, int task);

static json_t *view(lc_herder_t *h, const char *name, int task, view_fn fn)
{
    lc_standalone_t *s = (lc_standalone_t *)h;
    pthread_mutex_lock(&s->mu);
    lc_connector_t *c = find(s, name);
    json_t *o = c ? fn(s, c, task) : NULL;
    pthread_mutex_unlock(&s->mu);
    return o;
}

static json_t *info_view(const lc_standalone_t *s, const lc_connector_t *c, int task)
{
    return lc_connector_json_info(c);
}
static json_t *config_view(const lc_standalone_t *s, const lc_connector_t *c, int task)
{
    return lc_connector_json_config(c);
}
static json_t *status_view(const lc_standalone_t *s, const lc_connector_t *c, int task)
{
    return lc_connector_json_status(c, lc_worker_id(s->w));
}
static json_t *task_configs_view(const lc_standalone_t *s, const lc_connector_t *c, int task)
{
    return lc_connector_json_task_configs(c);
}
static json_t *task_status_view(const lc_standalone_t *s, const lc_connector_t *c, int task)
{
    return task >= 0 && task < c->ntasks
               ? lc_connector_json_task_status(c->tasks[task], lc_worker_id(s->w))
               : NULL;
}

static json_t *connector_info(lc_herder_t *h, const char *name)
{
    return view(h, name, -1, info_view);
}
static json_t *connector_config(lc_herder_t *h, const char *name)
{
    return view(h, name, -1, config_view);
}
static json_t *connector_status(lc_herder_t *h, const char *name)
{
    return view(h, name, -1, status_view);
}
static json_t *task_configs(lc_herder_t *h, const char *name)
{
    return view(h, name, -1, task_configs_view);
}
static json_t *task_status(lc_herder_t *h, const char *name, int task)
{
    return view(h, name, task, task_status_view);
}

static lc_props_t *connector_props(lc_herder_t *h, const char *name)
{
    lc_standalone_t *s = (lc_standalone_t *)h;
    pthread_mutex_lock(&s->mu);
    lc_connector_t *c = find(s, name);
    lc_props_t *p = c ? lc_props_copy(c->props) : NULL;
    pthread_mutex_unlock(&s->mu);
    return p;
}

/* Offsets ------------------------------------------------------------------------------ */

/* Facts about a connector taken under mu, so no lock is held during broker calls. */
static int snapshot(lc_standalone_t *s, const char *name, int *is_source, int *state, int *known,
                    char *errstr, size_t errsz)
{
    pthread_mutex_lock(&s->mu);
    lc_connector_t *c = find(s, name);
    if (c) {
        *is_source = c->is_source;
        *state = c->state;
        *known = c->script_path != NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (!c) snprintf(errstr, errsz, "Connector %s not found", name);
    return c ? 0 : -1;
}

static int offsets_get(lc_herder_t *h, const char *name, json_t **out, char *errstr, size_t errsz)
{
    lc_standalone_t *s = (lc_standalone_t *)h;
    int is_source, state, known;
    if (snapshot(s, name, &is_source, &state, &known, errstr, errsz) != 0) return 404;
    return lc_offsets_get(s->w, name, is_source, known, out, errstr, errsz);
}

static int offsets_alter(lc_herder_t *h, const char *name, json_t *body, char *errstr, size_t errsz)
{
    lc_standalone_t *s = (lc_standalone_t *)h;
    int is_source, state, known;
    if (snapshot(s, name, &is_source, &state, &known, errstr, errsz) != 0) return 404;
    /* The connector is STOPPED: hold op so it cannot start while its offsets change. */
    pthread_mutex_lock(&s->op);
    int rc = lc_offsets_alter(s->w, name, is_source, state, known, body, errstr, errsz);
    pthread_mutex_unlock(&s->op);
    return rc;
}

/* Plugins, worker ---------------------------------------------------------------------- */

static json_t *plugins(lc_herder_t *h, int connectors_only)
{
    return lc_validate_plugins(((lc_standalone_t *)h)->w, connectors_only);
}
static int plugin_config(lc_herder_t *h, const char *plugin, json_t **out, char *errstr,
                         size_t errsz)
{
    return lc_validate_plugin_config(((lc_standalone_t *)h)->w, plugin, out, errstr, errsz);
}
static int validate(lc_herder_t *h, const char *plugin, json_t *config, json_t **out, char *errstr,
                    size_t errsz)
{
    return lc_validate(((lc_standalone_t *)h)->w, plugin, config, out, errstr, errsz);
}
static int ready(lc_herder_t *h)
{
    return atomic_load(&((lc_standalone_t *)h)->ready);
}
static const char *worker_id(lc_herder_t *h)
{
    return lc_worker_id(((lc_standalone_t *)h)->w);
}
static const char *cluster_id(lc_herder_t *h)
{
    return lc_kafka_cluster_id(lc_worker_kafka(((lc_standalone_t *)h)->w));
}

void lc_standalone_set_ready(lc_standalone_t *s)
{
    atomic_store(&s->ready, 1);
}

static int active_topics(lc_herder_t *h, const char *name, json_t **out, char *errs, size_t errsz)
{
    return lc_topics_get(lc_worker_task_env(((lc_standalone_t *)h)->w), name, out, errs, errsz);
}

static int reset_topics(lc_herder_t *h, const char *name, char *errs, size_t errsz)
{
    return lc_topics_reset(lc_worker_task_env(((lc_standalone_t *)h)->w), name, errs, errsz);
}

static const lc_herder_ops_t standalone_ops = {
    .active_topics = active_topics,
    .reset_topics = reset_topics,
    .put_connector = rest_put_connector,
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
};

lc_standalone_t *lc_standalone_new(lc_worker_t *w)
{
    lc_standalone_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->base.ops = &standalone_ops;
    s->w = w;
    pthread_mutex_init(&s->op, NULL);
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

lc_herder_t *lc_standalone_herder(lc_standalone_t *s)
{
    return &s->base;
}
