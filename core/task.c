/* task: what source and sink task threads share — the Lua side of a task (its state,
 * opened through lua/task_api.c, and what task.offsets reads) and status reporting. */
#include "task.h"
#include "bridge.h"
#include "log.h"
#include "task_api.h"
#include "util.h"
#include "watchdog.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define state_names lc_task_state_names

static void set_state(lc_task_t *t, lc_task_state_t state, const char *trace, int publish)
{
    char err[512];
    lc_status_store_t *ss = t->conn->env->statuses;
    pthread_mutex_lock(&t->trace_lock);
    free(t->trace);
    t->trace = state == LC_TASK_FAILED && trace ? strdup(trace) : NULL;
    t->state = state;
    pthread_mutex_unlock(&t->trace_lock);
    lc_task_metrics_state(&t->metrics, state == LC_TASK_RUNNING, state == LC_TASK_PAUSED);
    if (state == LC_TASK_FAILED) lc_task_metrics_start_failed(&t->metrics);
    if (publish && ss->put(ss, t->conn->name, t->id, state_names[state], trace,
                           t->conn->env->worker_id, t->conn->version, err, sizeof(err)) != 0)
        lc_warn(t->ctx, "cannot record status %s: %s", state_names[state], err);
    if (state == LC_TASK_FAILED)
        lc_error(t->ctx, "task FAILED%s: %s", publish ? "" : " (status left to the newer instance)",
                 trace ? trace : "(no trace)");
    else
        lc_info(t->ctx, "task %s", state_names[state]);
}

void lc_task_set_state(lc_task_t *t, lc_task_state_t state, const char *trace)
{
    set_state(t, state, trace, 1);
}

void lc_task_set_state_local(lc_task_t *t, lc_task_state_t state, const char *trace)
{
    set_state(t, state, trace, 0);
}

void lc_task_note_topic(lc_task_t *t, const char *topic)
{
    lc_status_store_t *ss = t->conn->env->statuses;
    if (!t->conn->env->topic_tracking || !ss || !ss->topic_put) return;
    int epoch = __atomic_load_n(&ss->topics_epoch, __ATOMIC_ACQUIRE);
    if (epoch == t->tracked_epoch && strcmp(t->tracked_topic, topic) == 0) return;
    char err[512];
    if (ss->topic_put(ss, t->conn->name, topic, t->id, err, sizeof(err)) != 0) {
        lc_warn(t->ctx, "cannot record the active topic %s: %s", topic, err);
        return;
    }
    snprintf(t->tracked_topic, sizeof(t->tracked_topic), "%s", topic);
    t->tracked_epoch = epoch;
}

char *lc_task_trace(lc_task_t *t)
{
    pthread_mutex_lock(&t->trace_lock);
    char *s = t->trace ? strdup(t->trace) : NULL;
    pthread_mutex_unlock(&t->trace_lock);
    return s;
}

/* task.offsets:get: the offset stored under key (the task thread's own connector). */
static char *offsets_get(void *opaque, const char *key)
{
    lc_task_t *t = opaque;
    lc_offset_store_t *os = t->conn->env->offsets;
    return os->get(os, key);
}

lua_State *lc_task_open_lua(lc_task_t *t, char *errstr, size_t errstr_size)
{
    const lc_connector_t *c = t->conn;
    lc_chain_step_t *steps = lc_chain_steps(c->chain, c->chain_len);
    lc_task_api_in_t in = {.sdk_dir = c->env->sdk_dir,
                           .plugin_path = c->env->plugin_path,
                           .stop_flag = &t->abort,
                           .script_path = c->script_path,
                           .config_json = t->config_json,
                           .id = t->id,
                           .name = c->name,
                           .chain = steps,
                           .chain_len = c->chain_len,
                           .tolerant = c->errors.tolerant,
                           .retry_timeout_ms = c->errors.retry_timeout_ms,
                           .retry_delay_max_ms = c->errors.retry_delay_max_ms,
                           .offsets_get = offsets_get,
                           .offsets_opaque = t};
    lua_State *L = lc_task_api_open(&in, errstr, errstr_size);
    lc_chain_steps_free(steps, c->chain_len);
    return L;
}

int lc_task_take_swap(lc_task_t *t, lua_State **L, char *errstr, size_t errsz)
{
    lc_connector_t *n = atomic_load_explicit(&t->swap_conn, memory_order_acquire);
    int rc = 0;
    long long t0 = lc_now_ms();
    if (t->swap_mode == LC_SWAP_CHAIN) {
        lc_chain_step_t *steps = lc_chain_steps(n->chain, n->chain_len);
        rc = lc_task_api_rechain(*L, steps, n->chain_len, errstr, errsz);
        lc_chain_steps_free(steps, n->chain_len);
        t->conn = n;
        free(t->swap_config);
    } else {
        lc_task_close_lua(t, *L);
        t->conn = n;
        free(t->config_json);
        t->config_json = t->swap_config;
        *L = lc_task_open_lua(t, errstr, errsz);
        rc = *L ? 0 : -1;
    }
    t->swap_config = NULL;
    lc_task_metrics_add(&t->metrics, rc == 0 ? LC_TM_RELOADS : LC_TM_RELOAD_FAILURES, 1);
    lc_info(t->ctx, "reloaded (%s) in %lld ms",
            t->swap_mode == LC_SWAP_CHAIN ? "transforms" : "script", lc_now_ms() - t0);
    atomic_store_explicit(&t->swap_conn, NULL, memory_order_release);
    return rc;
}

typedef struct drops {
    lc_transform_dropped_t d[32]; /* a chain longer than this shows its first 32 */
    int n;
} drops_t;

static void add_drop(void *opaque, const char *alias, double dropped, double timed, double timed_ns)
{
    drops_t *d = opaque;
    if (d->n == 32) return;
    lc_transform_dropped_t *e = &d->d[d->n++];
    snprintf(e->alias, sizeof(e->alias), "%s", alias);
    e->dropped = dropped > 0 ? (uint64_t)dropped : 0;
    e->timed = timed > 0 ? (uint64_t)timed : 0;
    e->timed_ns = timed_ns > 0 ? (uint64_t)timed_ns : 0;
}

void lc_task_note_lua(lc_task_t *t, lua_State *L)
{
    if (!L) return;
    drops_t d = {.n = 0};
    lc_task_metrics_set(&t->metrics, LC_TM_LUA_BYTES, lc_task_api_memory(L));
    lc_task_api_chain_dropped(L, add_drop, &d);
    lc_task_metrics_set_drops(&t->metrics, d.d, d.n);
}

void lc_task_close_lua(lc_task_t *t, lua_State *L)
{
    char err[4096];
    if (!L) return;
    if (lc_task_api_close(L, err, sizeof(err)) != 0) lc_warn(t->ctx, "close() failed: %s", err);
    lc_task_api_free(L);
}

/* Lifecycle ------------------------------------------------------------------------- */

/* What the script was doing when an SDK call had to be interrupted. */
static const char *script_function(const char *sdk_call)
{
    static const char *const names[][2] = {{"_source_next", "poll() (or one of its transforms)"},
                                           {"_source_lines_off", "one of the transforms"},
                                           {"_sink_put", "put() (or one of its transforms)"},
                                           {"_sink_redeliver", "put() (a redelivered batch)"},
                                           {"_sink_put_lines", "put_lines()"},
                                           {"_sink_flush", "flush()"},
                                           {"_sink_open_partitions", "open_partitions()"},
                                           {"_task_open", "open()"},
                                           {"_task_close", "close()"},
                                           {"_rechain", "a transform's setup"}};
    for (size_t i = 0; sdk_call && i < sizeof(names) / sizeof(*names); i++)
        if (strcmp(names[i][0], sdk_call) == 0) return names[i][1];
    return sdk_call ? sdk_call : "(unknown)";
}

/* The thread: the source or sink loop, with a way out of a script that never returns. */
static void *task_thread(void *arg)
{
    lc_task_t *t = arg;
    sigjmp_buf escape;
    if (sigsetjmp(escape, 1) == 0) {
        lc_watchdog_arm(&escape);
        (t->conn->is_source ? lc_source_task_main : lc_sink_task_main)(t);
        lc_watchdog_arm(NULL);
        return NULL;
    }
    char trace[4096];
    snprintf(trace, sizeof(trace),
             "%s: %s did not return within task.shutdown.graceful.timeout.ms=%ld ms after the "
             "task was asked to stop (an endless loop?): interrupted; its Lua state and Kafka "
             "client are left allocated",
             t->conn->script_path, script_function(lc_lua_current_call()),
             t->conn->env->shutdown_ms);
    lc_task_set_state(t, LC_TASK_FAILED, trace);
    return NULL;
}

void lc_task_start(lc_task_t *t)
{
    lc_connector_t *c = t->conn;
    t->stop = t->abort = 0;
    t->pause = c->target == LC_TARGET_PAUSED;
    t->state = LC_TASK_UNASSIGNED;
    lc_task_metrics_register(&t->metrics, c->name, t->id, c->is_source);
    lc_task_metrics_start(&t->metrics);
    if (pthread_create(&t->thread, NULL, task_thread, t) == 0)
        t->started = 1;
    else
        lc_task_set_state(t, LC_TASK_FAILED, "cannot create the task thread");
}

static int join_until(lc_task_t *t, long long deadline_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long left = deadline_ms - lc_now_ms();
    if (left < 0) left = 0;
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    return pthread_timedjoin_np(t->thread, NULL, &ts);
}

void lc_tasks_stop(lc_connector_t *c, int only)
{
    long shutdown = c->env->shutdown_ms;
    for (int j = 0; j < c->ntasks; j++)
        if (only < 0 || j == only) c->tasks[j]->stop = 1;
    /* A task gets task.shutdown.graceful.timeout.ms to finish its batch; a script still
     * running then is interrupted (the count hook, and the watchdog for compiled code). C
     * work in progress (a producer flush, close()) keeps the rest of the budget. */
    long long start = lc_now_ms();
    long long soft = start + shutdown + 500, hard = start + 2 * shutdown + 3000;
    for (int j = 0; j < c->ntasks; j++) {
        lc_task_t *t = c->tasks[j];
        if ((only >= 0 && j != only) || t->started != 1) continue;
        if (join_until(t, soft) == 0) {
            t->started = 0;
            continue;
        }
        t->abort = 1;
        if (join_until(t, lc_now_ms() + 200) == 0 || lc_watchdog_interrupt(t->thread, 1000) == 0 ||
            join_until(t, hard) == 0) {
            t->started = 0;
            continue;
        }
        lc_error(t->ctx,
                 "task did not stop within task.shutdown.graceful.timeout.ms=%ld; "
                 "abandoned",
                 shutdown);
        pthread_detach(t->thread);
        t->started = -1;
        c->abandoned = 1;
    }
}
