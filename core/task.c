/* task: what source and sink task threads share — the Lua side of a task (state,
 * task table, task.offsets) and status reporting. */
#include "task.h"
#include "bridge.h"
#include "log.h"
#include "util.h"
#include "watchdog.h"

#include <lauxlib.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TASK_KEY "luaconnect.task"

#define state_names lc_task_state_names

void lc_task_set_state(lc_task_t *t, lc_task_state_t state, const char *trace)
{
    char err[512];
    lc_status_store_t *ss = lc_store_statuses(t->conn->env->store);
    pthread_mutex_lock(&t->trace_lock);
    free(t->trace);
    t->trace = state == LC_TASK_FAILED && trace ? strdup(trace) : NULL;
    t->state = state;
    pthread_mutex_unlock(&t->trace_lock);
    if (ss->put(ss, t->conn->name, t->id, state_names[state], trace, t->conn->env->worker_id, err,
                sizeof(err)) != 0)
        lc_warn(t->ctx, "cannot record status %s: %s", state_names[state], err);
    if (state == LC_TASK_FAILED)
        lc_error(t->ctx, "task FAILED: %s", trace ? trace : "(no trace)");
    else
        lc_info(t->ctx, "task %s", state_names[state]);
}

char *lc_task_trace(lc_task_t *t)
{
    pthread_mutex_lock(&t->trace_lock);
    char *s = t->trace ? strdup(t->trace) : NULL;
    pthread_mutex_unlock(&t->trace_lock);
    return s;
}

/* Offset key in Kafka Connect's format: ["<connector>",{partition}] */
static int offset_key(lua_State *L, lc_task_t *t, int part_idx, lc_buf_t *key, char *err,
                      size_t errsz)
{
    lua_pushstring(L, t->conn->name);
    int rc = lc_json_encode_sorted(L, -1, key, err, errsz);
    lua_pop(L, 1);
    if (rc != 0) return -1;
    lc_buf_t part = {0};
    if (lc_json_encode_sorted(L, part_idx, &part, err, errsz) != 0) {
        lc_buf_free(&part);
        return -1;
    }
    lc_buf_t out = {0};
    rc = lc_buf_append(&out, "[", 1) || lc_buf_append(&out, key->data, key->len) ||
         lc_buf_append(&out, ",", 1) || lc_buf_append(&out, part.data, part.len) ||
         lc_buf_append(&out, "]", 2);
    lc_buf_free(&part);
    lc_buf_free(key);
    *key = out;
    return rc ? -1 : 0;
}

/* task.offsets:get(partition) -> the committed offset table, or nil. */
static int offsets_get(lua_State *L)
{
    lc_task_t *t = *(lc_task_t **)luaL_checkudata(L, 1, "luaconnect.offsets");
    luaL_checktype(L, 2, LUA_TTABLE);
    char err[512];
    lc_buf_t key = {0};
    if (offset_key(L, t, 2, &key, err, sizeof(err)) != 0) {
        lc_buf_free(&key);
        return luaL_error(L, "task.offsets:get: %s", err);
    }
    lc_offset_store_t *os = lc_store_offsets(t->conn->env->store);
    char *value = os->get(os, key.data);
    lc_buf_free(&key);
    if (!value) {
        lua_pushnil(L);
        return 1;
    }
    int rc = lc_json_decode(L, value, strlen(value), err, sizeof(err));
    free(value);
    if (rc != 0) return luaL_error(L, "task.offsets:get: stored offset is not JSON: %s", err);
    return 1;
}

lua_State *lc_task_open_lua(lc_task_t *t, char *errstr, size_t errstr_size)
{
    const lc_task_env_t *env = t->conn->env;
    lua_State *L = lc_lua_new(env->sdk_dir, env->plugin_path, &t->abort, errstr, errstr_size);
    if (!L) return NULL;
    lua_pushstring(L, t->conn->script_path);
    if (lc_json_decode(L, t->config_json, strlen(t->config_json), errstr, errstr_size) != 0)
        goto err;
    lua_pushinteger(L, t->id);
    lua_pushstring(L, t->conn->name);
    lc_task_t **ud = lua_newuserdata(L, sizeof(*ud));
    *ud = t;
    if (luaL_newmetatable(L, "luaconnect.offsets")) {
        lua_newtable(L);
        lua_pushcfunction(L, offsets_get);
        lua_setfield(L, -2, "get");
        lua_setfield(L, -2, "__index");
    }
    lua_setmetatable(L, -2);
    lc_chain_push(L, t->conn->chain, t->conn->chain_len);
    lua_createtable(L, 0, 3);
    lua_pushboolean(L, t->conn->errors.tolerant);
    lua_setfield(L, -2, "tolerant");
    lua_pushnumber(L, (lua_Number)t->conn->errors.retry_timeout_ms);
    lua_setfield(L, -2, "retry_timeout");
    lua_pushnumber(L, (lua_Number)t->conn->errors.retry_delay_max_ms);
    lua_setfield(L, -2, "retry_delay_max");
    if (lc_lua_call_sdk(L, "_task_open", 7, 1, errstr, errstr_size) != 0) goto err;
    lua_setfield(L, LUA_REGISTRYINDEX, TASK_KEY);
    return L;
err:
    lc_lua_close(L);
    return NULL;
}

int lc_task_take_swap(lc_task_t *t, lua_State **L, char *errstr, size_t errsz)
{
    lc_connector_t *n = atomic_load_explicit(&t->swap_conn, memory_order_acquire);
    int rc = 0;
    long long t0 = lc_now_ms();
    if (t->swap_mode == LC_SWAP_CHAIN) {
        lc_task_push(*L);
        lc_chain_push(*L, n->chain, n->chain_len);
        rc = lc_lua_call_sdk(*L, "_rechain", 2, 0, errstr, errsz);
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
    lc_info(t->ctx, "reloaded (%s) in %lld ms",
            t->swap_mode == LC_SWAP_CHAIN ? "transforms" : "script", lc_now_ms() - t0);
    atomic_store_explicit(&t->swap_conn, NULL, memory_order_release);
    return rc;
}

void lc_task_push(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, TASK_KEY);
}

void lc_task_close_lua(lc_task_t *t, lua_State *L)
{
    char err[4096];
    if (!L) return;
    /* close() must run even when the stop flag interrupted the script. */
    lua_sethook(L, NULL, 0, 0);
    lc_task_push(L);
    if (lc_lua_call_sdk(L, "_task_close", 1, 0, err, sizeof(err)) != 0)
        lc_warn(t->ctx, "close() failed: %s", err);
    lc_lua_close(L);
}

/* Lifecycle ------------------------------------------------------------------------- */

/* What the script was doing when an SDK call had to be interrupted. */
static const char *script_function(const char *sdk_call)
{
    static const char *const names[][2] = {{"_source_poll", "poll() (or one of its transforms)"},
                                           {"_sink_put", "put() (or one of its transforms)"},
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
