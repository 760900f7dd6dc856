/* sink_task: the sink task loop.
 *
 *   consumer (group connect-<name>) -> converters -> transform chain + put() (one call into
 *   Lua per batch) -> flush() at commit time -> commit consumer offsets
 *
 * A consumer offset is committed only after flush() returned for everything before it. */
#include "bridge.h"
#include "log.h"
#include "task.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SINK_BATCH_MAX 500 /* Kafka's max.poll.records default */

typedef struct snk {
    lc_task_t *t;
    lua_State *L;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *pos; /* next offset to commit per partition */
    int dirty;
    int failed;
    char error[8192];
    long long last_commit;
} snk_t;

/* flush() then commit the positions reached. 0, or -1 with s->error set. */
static int flush_commit(snk_t *s)
{
    char err[8192];
    s->last_commit = lc_now_ms();
    if (!s->dirty || s->failed) return s->failed ? -1 : 0;
    lua_State *L = s->L;
    lc_task_push(L);
    lua_createtable(L, s->pos->cnt, 0);
    for (int i = 0; i < s->pos->cnt; i++) {
        rd_kafka_topic_partition_t *p = &s->pos->elems[i];
        lua_createtable(L, 0, 3);
        lua_pushstring(L, p->topic);
        lua_setfield(L, -2, "topic");
        lua_pushinteger(L, p->partition);
        lua_setfield(L, -2, "partition");
        lua_pushnumber(L, (lua_Number)p->offset);
        lua_setfield(L, -2, "offset");
        lua_rawseti(L, -2, i + 1);
    }
    if (lc_lua_call_sdk(L, "_sink_flush", 2, 0, err, sizeof(err)) != 0) {
        snprintf(s->error, sizeof(s->error), "stage TASK_PUT: flush() failed: %s", err);
        s->failed = 1;
        return -1;
    }
    rd_kafka_resp_err_t e = rd_kafka_commit(s->rk, s->pos, 0);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        lc_warn(s->t->ctx, "offset commit failed (records will be delivered again): %s",
                rd_kafka_err2str(e));
    else
        s->dirty = 0;
    return 0;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    snk_t *s = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        lc_info(s->t->ctx, "assigned %d partitions", parts->cnt);
        if (cooperative)
            rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
        else
            rd_kafka_assign(rk, parts);
        return;
    }
    /* Revoked: make everything put so far durable and commit it before letting go. */
    flush_commit(s);
    for (int i = 0; i < parts->cnt; i++)
        rd_kafka_topic_partition_list_del(s->pos, parts->elems[i].topic,
                                          parts->elems[i].partition);
    if (cooperative)
        rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
    else
        rd_kafka_assign(rk, NULL);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    snk_t *s = opaque;
    static __thread long long last_warn;
    (void)rk;
    long long now = lc_now_ms();
    if (now - last_warn < 10000) return;
    last_warn = now;
    lc_warn(s->t->ctx, "Kafka: %s: %s (retrying)", rd_kafka_err2name(err), reason);
}

/* Pushes one record table for message m; 0 or -1 with errstr naming the stage. */
static int push_record(snk_t *s, const rd_kafka_message_t *m, char *errstr, size_t errsz)
{
    lua_State *L = s->L;
    lc_connector_t *c = s->t->conn;
    char err[2048];
    const char *stage = NULL;
    lua_createtable(L, 0, 10);
    int r = lua_gettop(L);
    lua_pushstring(L, rd_kafka_topic_name(m->rkt));
    lua_setfield(L, r, "topic");
    lua_pushinteger(L, m->partition);
    lua_setfield(L, r, "partition");
    lua_pushnumber(L, (lua_Number)m->offset);
    lua_setfield(L, r, "offset");
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    if (ts >= 0) {
        lua_pushnumber(L, (lua_Number)ts);
        lua_setfield(L, r, "timestamp");
    }
    if (lc_conv_to_lua(&c->key_conv, L, m->key, m->key_len, err, sizeof(err)) != 0) {
        stage = "KEY_CONVERTER";
        goto bad;
    }
    lua_setfield(L, r, "key_schema");
    lua_setfield(L, r, "key");
    if (lc_conv_to_lua(&c->value_conv, L, m->payload, m->len, err, sizeof(err)) != 0) {
        stage = "VALUE_CONVERTER";
        goto bad;
    }
    lua_setfield(L, r, "value_schema");
    lua_setfield(L, r, "value");
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
        lua_newtable(L);
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == 0; i++) {
            if (val)
                lua_pushlstring(L, val, size);
            else
                lua_pushlightuserdata(L, NULL);
            lua_setfield(L, -2, name);
        }
        lua_setfield(L, r, "headers");
    }
    return 0;
bad:
    snprintf(errstr, errsz, "topic %s partition %d offset %lld: stage %s: %s",
             rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset, stage, err);
    lua_settop(L, r - 1);
    return -1;
}

static void track_position(snk_t *s, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    rd_kafka_topic_partition_t *p =
        rd_kafka_topic_partition_list_find(s->pos, topic, m->partition);
    if (!p) p = rd_kafka_topic_partition_list_add(s->pos, topic, m->partition);
    p->offset = m->offset + 1;
}

static int subscribe(snk_t *s, char *err, size_t errsz)
{
    lc_connector_t *c = s->t->conn;
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(c->ntopics);
    for (int i = 0; i < c->ntopics; i++) {
        if (c->topics[i][0] != '^') lc_worker_ensure_topic(c->worker, c->topics[i]);
        rd_kafka_topic_partition_list_add(topics, c->topics[i], RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(s->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        snprintf(err, errsz, "cannot subscribe: %s", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

void *lc_sink_task_main(void *arg)
{
    lc_task_t *t = arg;
    lc_worker_t *w = t->conn->worker;
    snk_t s = {.t = t};
    char err[8192];
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_message_t *batch[SINK_BATCH_MAX];

    s.pos = rd_kafka_topic_partition_list_new(16);
    s.L = lc_task_open_lua(t, err, sizeof(err));
    if (!s.L) goto fail;
    conf = lc_worker_kafka_conf(w, t->conn, 0, err, sizeof(err));
    if (!conf) goto fail;
    rd_kafka_conf_set_opaque(conf, &s);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    s.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!s.rk) goto fail;
    conf = NULL;
    rd_kafka_poll_set_consumer(s.rk);
    if (subscribe(&s, err, sizeof(err)) != 0) goto fail;
    s.last_commit = lc_now_ms();
    lc_task_set_state(t, LC_TASK_RUNNING, NULL);

    long flush_ms = lc_worker_flush_interval_ms(w);
    while (!t->stop) {
        int n = 0;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s.rk, 100);
        while (m) {
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    lc_warn(t->ctx, "consumer: %s", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
            } else {
                batch[n++] = m;
            }
            if (n == SINK_BATCH_MAX) break;
            m = rd_kafka_consumer_poll(s.rk, 0);
        }
        if (s.failed) goto fail_s;
        if (n) {
            lc_task_push(s.L);
            lua_createtable(s.L, n, 0);
            int list = lua_gettop(s.L), bad = 0;
            for (int i = 0; i < n && !bad; i++) {
                if (push_record(&s, batch[i], err, sizeof(err)) != 0)
                    bad = 1;
                else
                    lua_rawseti(s.L, list, i + 1);
            }
            if (!bad)
                for (int i = 0; i < n; i++) track_position(&s, batch[i]);
            for (int i = 0; i < n; i++) rd_kafka_message_destroy(batch[i]);
            if (bad) goto fail;
            if (lc_lua_call_sdk(s.L, "_sink_put", 2, 0, err, sizeof(err)) != 0) {
                if (!strstr(err, ": stage ")) {
                    char tmp[8192];
                    snprintf(tmp, sizeof(tmp), "stage TASK_PUT: %s", err);
                    snprintf(err, sizeof(err), "%s", tmp);
                }
                goto fail;
            }
            s.dirty = 1;
        }
        if (lc_now_ms() - s.last_commit >= flush_ms && flush_commit(&s) != 0) goto fail_s;
    }
    if (flush_commit(&s) != 0) goto fail_s;
    goto done;
fail_s:
    snprintf(err, sizeof(err), "%s", s.error);
fail:
    s.failed = 1;
    lc_task_set_state(t, LC_TASK_FAILED, err);
done:
    if (s.rk) {
        rd_kafka_consumer_close(s.rk);
        rd_kafka_destroy(s.rk);
    }
    if (conf) rd_kafka_conf_destroy(conf);
    lc_task_close_lua(t, s.L);
    rd_kafka_topic_partition_list_destroy(s.pos);
    if (!s.failed) lc_task_set_state(t, LC_TASK_STOPPED, NULL);
    return NULL;
}
