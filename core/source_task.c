/* source_task: the source task loop.
 *
 *   poll() + transform chain (one call into Lua per batch) -> converters -> producer
 *   -> delivery report -> tracker -> offset store every offset.flush.interval.ms and on stop
 *
 * Offsets are committed only for records the broker acknowledged together with every
 * earlier record of their source partition (see tracker.h). */
#include "bridge.h"
#include "headers.h"
#include "log.h"
#include "task.h"
#include "util.h"
#include "tracker.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Offsets popped from the tracker and not yet written: the newest per source partition. */
typedef struct commit_batch {
    char **keys, **values;
    size_t n, cap;
    const char *name_json;
} commit_batch_t;

typedef struct src {
    lc_task_t *t;
    lua_State *L;
    rd_kafka_t *rk;
    lc_tracker_t *tracker;
    lc_buf_t kbuf, vbuf, pbuf, obuf;
    const void *last_part; /* the source_partition table pbuf was encoded from */
    char last_topic[256];  /* last topic checked with lc_kafka_ensure_topic */
    char **known;          /* topics whose metadata this producer asked for (warm_topic) */
    int nknown;
    int delivery_failed;
    char delivery_error[1024];
    long long last_commit;
    long long last_broker_warn;
    long long commit_failed_since; /* first failed commit of the offsets still pending, or 0 */
    lc_buf_t name_json;     /* the connector name as JSON, for offset keys */
    commit_batch_t pending; /* acknowledged offsets waiting for the next commit */
} src_t;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    src_t *s = opaque;
    (void)rk;
    if (m->_private) lc_tracker_ack(s->tracker, (lc_tracked_t *)m->_private, m->err == 0);
    if (m->err && !s->delivery_failed) {
        s->delivery_failed = 1;
        snprintf(s->delivery_error, sizeof(s->delivery_error),
                 "stage KAFKA_PRODUCE: topic %s partition %d: %s", rd_kafka_topic_name(m->rkt),
                 (int)m->partition, rd_kafka_err2str(m->err));
    }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    src_t *s = opaque;
    if (rd_kafka_fatal_error(rk, NULL, 0)) {
        if (!s->delivery_failed) {
            s->delivery_failed = 1;
            snprintf(s->delivery_error, sizeof(s->delivery_error),
                     "stage KAFKA_PRODUCE: fatal producer error: %s", reason);
        }
        return;
    }
    long long now = lc_now_ms();
    if (now - s->last_broker_warn < 10000) return; /* one line per 10 s while it lasts */
    s->last_broker_warn = now;
    lc_warn(s->t->ctx, "Kafka: %s: %s (retrying; records wait in the producer queue)",
            rd_kafka_err2name(err), reason);
}

static void collect_offset(void *opaque, const char *partition, const char *offset)
{
    commit_batch_t *b = opaque;
    /* On the heap: the partition is the script's and may be of any size. */
    char *key = NULL;
    if (asprintf(&key, "[%s,%s]", b->name_json, partition) < 0) goto oom;
    for (size_t i = b->n; i-- > 0;)
        if (strcmp(b->keys[i], key) == 0) { /* a newer offset of a pending partition */
            free(key);
            key = NULL;
            char *v = offset ? strdup(offset) : NULL; /* NULL: forget the partition */
            if (offset && !v) goto oom;
            free(b->values[i]);
            b->values[i] = v;
            return;
        }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        char **keys = realloc(b->keys, cap * sizeof(char *));
        if (keys) b->keys = keys;
        char **values = keys ? realloc(b->values, cap * sizeof(char *)) : NULL;
        if (values) b->values = values;
        if (!keys || !values) goto oom;
        b->cap = cap;
    }
    char *v = offset ? strdup(offset) : NULL;
    if (offset && !v) goto oom;
    b->keys[b->n] = key;
    b->values[b->n] = v;
    b->n++;
    return;
oom:
    /* Not committed now: its records may be sent again after a restart, none is lost. */
    free(key);
    lc_error(NULL, "out of memory keeping a source offset for the next commit");
}

/* Pops the acknowledged prefix of every partition into s->pending, so the tracker holds
 * only records in flight: between two commits (offset.flush.interval.ms, 60 s by default)
 * it kept every record sent, ~64 bytes each (89 MB peak RSS for 1M lines at 10 s). */
static void take_acked(src_t *s)
{
    char err[512];
    if (!s->pending.name_json) {
        lua_pushstring(s->L, s->t->conn->name);
        int rc = lc_json_encode_sorted(s->L, -1, &s->name_json, err, sizeof(err));
        lua_pop(s->L, 1);
        if (rc != 0 || lc_buf_append(&s->name_json, "", 1) != 0) return;
        s->pending.name_json = s->name_json.data;
    }
    lc_tracker_take(s->tracker, collect_offset, &s->pending);
}

/* Writes every committable offset to the offset store in one transaction. When the store
 * cannot be written (read-only, full disk) the offsets stay pending, newer ones replacing
 * older ones per partition, and the next commit tries again: dropping them would send their
 * records again after a restart although Kafka has them. */
static void commit_offsets(src_t *s)
{
    char err[1024];
    s->last_commit = lc_now_ms();
    take_acked(s);
    commit_batch_t b = s->pending;
    if (b.n) {
        lc_offset_store_t *os = lc_store_offsets(s->t->conn->env->store);
        if (os->put(os, (const char *const *)b.keys, (const char *const *)b.values, b.n, err,
                    sizeof(err)) != 0) {
            if (!s->commit_failed_since) s->commit_failed_since = s->last_commit;
            lc_error(s->t->ctx,
                     "cannot commit source offsets of %zu source partitions to the offset store: "
                     "%s (kept; tried again at the next commit)",
                     b.n, err);
            return;
        }
        if (s->commit_failed_since)
            lc_info(s->t->ctx,
                    "committed the source offsets kept since the offset store failed %lld ms ago",
                    s->last_commit - s->commit_failed_since);
        else
            lc_debug(s->t->ctx, "committed offsets of %zu source partitions", b.n);
        s->commit_failed_since = 0;
    }
    for (size_t i = 0; i < b.n; i++) {
        free(b.keys[i]);
        free(b.values[i]);
    }
    s->pending.n = 0;
}

/* "record 3 of 10 (source partition {...}, offset {...})" from the SDK, for errors. */
static void describe(lua_State *L, int rec, int i, int n, char *out, size_t outsz)
{
    char err[256];
    lua_pushvalue(L, rec);
    lua_pushinteger(L, i);
    lua_pushinteger(L, n);
    if (lc_lua_call_sdk(L, "_describe_record", 3, 1, err, sizeof(err)) != 0) {
        snprintf(out, outsz, "record %d of %d", i, n);
        return;
    }
    snprintf(out, outsz, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
}

static int encode_json_cstr(lua_State *L, int idx, lc_buf_t *b, char *err, size_t errsz)
{
    b->len = 0;
    return lc_json_encode_sorted(L, idx, b, err, errsz) || lc_buf_append(b, "", 1);
}

/* Bytes for a DLQ record: the converter's, or plain JSON when the converter is what failed. */
static void encode_for_dlq(const lc_converter_t *cv, lua_State *L, int v, int sch, lc_buf_t *b,
                           int *is_null)
{
    char err[256];
    if (lc_conv_from_lua(cv, L, v, sch, b, is_null, err, sizeof(err)) == 0) return;
    b->len = 0;
    *is_null = lua_isnil(L, v);
    if (!*is_null && lc_json_encode_sorted(L, v, b, err, sizeof(err)) != 0) *is_null = 1;
}

/* Reports a tolerated failure of the source record at rec (errors.log, DLQ) and registers
 * its source offset, which commits once the DLQ has the record (or at once without a DLQ).
 * 0, or -1 with errstr when even the report failed. */
static int report_failure(src_t *s, int rec, const char *stage, const char *class_name,
                          const char *exception, const char *message, const char *trace,
                          const char *where, char *errstr, size_t errsz)
{
    lua_State *L = s->L;
    lc_connector_t *c = s->t->conn;
    char err[512];
    int top = lua_gettop(L), knull = 1, vnull = 1, rc;
    lua_getfield(L, rec, "topic");            /* top+1 */
    lua_getfield(L, rec, "key");              /* top+2 */
    lua_getfield(L, rec, "key_schema");       /* top+3 */
    lua_getfield(L, rec, "value");            /* top+4 */
    lua_getfield(L, rec, "value_schema");     /* top+5 */
    lua_getfield(L, rec, "source_partition"); /* top+6 */
    lua_getfield(L, rec, "source_offset");    /* top+7 */
    encode_for_dlq(&c->key_conv, L, top + 2, top + 3, &s->kbuf, &knull);
    encode_for_dlq(&c->value_conv, L, top + 4, top + 5, &s->vbuf, &vnull);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(2);
    lc_tracked_t *h;
    s->last_part = NULL; /* pbuf is reused below */
    if (lua_istable(L, top + 6) && encode_json_cstr(L, top + 6, &s->pbuf, err, sizeof(err)) == 0 &&
        encode_json_cstr(L, top + 7, &s->obuf, err, sizeof(err)) == 0) {
        rd_kafka_header_add(hdrs, "__connect.errors.source.partition", -1, s->pbuf.data, -1);
        rd_kafka_header_add(hdrs, "__connect.errors.source.offset", -1, s->obuf.data, -1);
        h = lc_tracker_add(s->tracker, s->pbuf.data, s->obuf.data);
    } else {
        h = lc_tracker_add(s->tracker, NULL, NULL);
    }
    lc_failure_t f = {.stage = stage,
                      .class_name = class_name,
                      .exception_class = exception,
                      .message = message,
                      .trace = trace,
                      .where = where,
                      .topic = lua_tostring(L, top + 1),
                      .partition = -1,
                      .offset = -1,
                      .key = knull ? NULL : s->kbuf.data,
                      .key_len = s->kbuf.len,
                      .value = vnull ? NULL : s->vbuf.data,
                      .value_len = s->vbuf.len,
                      .headers = hdrs};
    rc = lc_errors_report(&c->errors, c->name, s->t->id, s->t->ctx, s->rk, &f, h, &s->t->abort,
                          errstr, errsz);
    if (rc == 0) lc_tracker_ack(s->tracker, h, 1); /* nothing to wait for */
    if (rc < 0) lc_tracker_ack(s->tracker, h, 0);
    rd_kafka_headers_destroy(hdrs);
    lua_settop(L, top);
    return rc < 0 ? -1 : 0;
}

/* An entry the chain left in place of a record: "skip" (dropped; its offset still counts)
 * or "error" (a tolerated transform failure). 0, or -1 with errstr. */
static int handle_marker(src_t *s, int r, const char *kind, char *errstr, size_t errsz)
{
    lua_State *L = s->L;
    char err[512];
    if (strcmp(kind, "skip") == 0) {
        lua_getfield(L, r, "source_partition");
        lua_getfield(L, r, "source_offset");
        int top = lua_gettop(L);
        s->last_part = NULL;
        if (encode_json_cstr(L, top - 1, &s->pbuf, err, sizeof(err)) == 0 &&
            encode_json_cstr(L, top, &s->obuf, err, sizeof(err)) == 0)
            lc_tracker_ack(s->tracker, lc_tracker_add(s->tracker, s->pbuf.data, s->obuf.data), 1);
        lua_pop(L, 2);
        return 0;
    }
    lua_getfield(L, r, "record");
    lua_getfield(L, r, "class");
    lua_getfield(L, r, "message");
    lua_getfield(L, r, "trace");
    lua_getfield(L, r, "where");
    int top = lua_gettop(L);
    int rc = report_failure(s, top - 4, "TRANSFORMATION", lua_tostring(L, top - 3),
                            "luaconnect.LuaError", lua_tostring(L, top - 2), lua_tostring(L, top - 1),
                            lua_tostring(L, top), errstr, errsz);
    lua_settop(L, top - 5);
    return rc;
}

/* Asks for topic's metadata once per producer, before its first record. librdkafka 2.0
 * sends no metadata request for a topic first produced to after the producer connected:
 * its records wait for the 1 s topic scan, so the first record of a task came ~1 s late in
 * about half the runs. One blocking request (~1 ms) per topic removes that. */
static void warm_topic(src_t *s, const char *topic)
{
    for (int i = 0; i < s->nknown; i++)
        if (strcmp(s->known[i], topic) == 0) return;
    char **k = realloc(s->known, (size_t)(s->nknown + 1) * sizeof(char *));
    if (!k) return;
    s->known = k;
    s->known[s->nknown++] = strdup(topic);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(s->rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    if (rkt && rd_kafka_metadata(s->rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    if (rkt) rd_kafka_topic_destroy(rkt);
}

/* Converts and produces every record of the list at idx. 0, or -1 with errstr. */
static int produce_batch(src_t *s, int list, char *errstr, size_t errsz)
{
    lua_State *L = s->L;
    lc_connector_t *c = s->t->conn;
    int n = (int)lua_objlen(L, list);
    char err[2048], what[1024];
    s->last_part = NULL;
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, list, i);
        int r = lua_gettop(L);
        const char *stage = NULL;
        if (!lua_istable(L, r)) {
            snprintf(errstr, errsz, "poll() returned a %s at position %d of %d; records are tables",
                     luaL_typename(L, r), i, n);
            return -1;
        }
        lua_getfield(L, r, "_lc");
        if (!lua_isnil(L, -1)) {
            int rc = handle_marker(s, r, lua_tostring(L, -1), errstr, errsz);
            lua_settop(L, r - 1);
            if (rc != 0) return -1;
            continue;
        }
        lua_pop(L, 1);
        lua_getfield(L, r, "topic");          /* r+1 */
        lua_getfield(L, r, "partition");      /* r+2 */
        lua_getfield(L, r, "timestamp");      /* r+3 */
        lua_getfield(L, r, "key");            /* r+4 */
        lua_getfield(L, r, "key_schema");     /* r+5 */
        lua_getfield(L, r, "value");          /* r+6 */
        lua_getfield(L, r, "value_schema");   /* r+7 */
        lua_getfield(L, r, "headers");        /* r+8 */
        lua_getfield(L, r, "source_partition"); /* r+9 */
        lua_getfield(L, r, "source_offset");  /* r+10 */
        const char *topic = lua_type(L, r + 1) == LUA_TSTRING ? lua_tostring(L, r + 1) : NULL;
        int32_t partition =
            lua_isnumber(L, r + 2) ? (int32_t)lua_tointeger(L, r + 2) : RD_KAFKA_PARTITION_UA;
        int64_t ts = lua_isnumber(L, r + 3) ? (int64_t)lua_tonumber(L, r + 3) : 0;
        int knull = 0, vnull = 0;
        rd_kafka_headers_t *hdrs = NULL;
        if (!topic || !*topic) {
            stage = "TASK_POLL";
            snprintf(err, sizeof(err), "record has no topic");
            goto bad;
        }
        if (lc_conv_from_lua(&c->key_conv, L, r + 4, r + 5, &s->kbuf, &knull, err,
                             sizeof(err)) != 0) {
            stage = "KEY_CONVERTER";
            goto bad;
        }
        if (lc_conv_from_lua(&c->value_conv, L, r + 6, r + 7, &s->vbuf, &vnull, err,
                             sizeof(err)) != 0) {
            stage = "VALUE_CONVERTER";
            goto bad;
        }
        if (lua_istable(L, r + 8) &&
            !(hdrs = lc_headers_from_lua(L, r + 8, &s->obuf, err, sizeof(err)))) {
            stage = "HEADER_CONVERTER";
            goto bad;
        }
        lc_tracked_t *h;
        if (lua_istable(L, r + 9)) {
            const void *p = lua_topointer(L, r + 9);
            if (p != s->last_part) {
                if (encode_json_cstr(L, r + 9, &s->pbuf, err, sizeof(err)) != 0) {
                    stage = "TASK_POLL";
                    goto bad;
                }
                s->last_part = p;
            }
            if (encode_json_cstr(L, r + 10, &s->obuf, err, sizeof(err)) != 0) {
                stage = "TASK_POLL";
                goto bad;
            }
            h = lc_tracker_add(s->tracker, s->pbuf.data, s->obuf.data);
        } else {
            h = lc_tracker_add(s->tracker, NULL, NULL);
        }
        if (strncmp(s->last_topic, topic, sizeof(s->last_topic)) != 0) {
            lc_kafka_ensure_topic(c->env->kafka, topic);
            warm_topic(s, topic);
            snprintf(s->last_topic, sizeof(s->last_topic), "%s", topic);
        }
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                s->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_KEY((knull ? NULL : s->kbuf.data), knull ? 0 : s->kbuf.len),
                RD_KAFKA_V_VALUE((vnull ? NULL : s->vbuf.data), vnull ? 0 : s->vbuf.len),
                RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(h),
                RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && !s->t->abort) {
                rd_kafka_poll(s->rk, 20); /* back-pressure: wait for deliveries */
                continue;
            }
            lc_tracker_ack(s->tracker, h, 0);
            stage = "KAFKA_PRODUCE";
            snprintf(err, sizeof(err), "%s", rd_kafka_err2str(e));
            goto bad;
        }
        lua_settop(L, r - 1);
        continue;
    bad:
        if (hdrs) rd_kafka_headers_destroy(hdrs); /* not handed to the producer */
        describe(L, r, i, n, what, sizeof(what));
        if (c->errors.tolerant && strstr(stage, "CONVERTER")) {
            const char *cls = strcmp(stage, "KEY_CONVERTER") == 0     ? c->key_conv_class
                              : strcmp(stage, "VALUE_CONVERTER") == 0 ? c->value_conv_class
                                                                      : "header";
            int rc = report_failure(s, r, stage, cls, "org.apache.kafka.connect.errors.DataException",
                                    err, NULL, what, errstr, errsz);
            lua_settop(L, r - 1);
            if (rc != 0) return -1;
            continue;
        }
        snprintf(errstr, errsz, "%s: stage %s: %s", what, stage, err);
        lua_settop(L, r - 1);
        return -1;
    }
    return 0;
}

void *lc_source_task_main(void *arg)
{
    lc_task_t *t = arg;
    const lc_task_env_t *env = t->conn->env;
    src_t s = {.t = t};
    char err[8192];
    int failed = 0;
    rd_kafka_conf_t *conf = NULL;

    s.L = lc_task_open_lua(t, err, sizeof(err));
    if (!s.L) goto fail;
    conf = lc_kafka_client_conf(env->kafka, t->conn->name, t->id, t->conn->props, 1, err,
                                sizeof(err));
    if (!conf) goto fail;
    rd_kafka_conf_set_opaque(conf, &s);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    s.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!s.rk) goto fail;
    conf = NULL; /* owned by rk now */
    s.tracker = lc_tracker_new();
    if (lc_errors_ensure_dlq(&t->conn->errors, s.rk, err, sizeof(err)) != 0) goto fail;
    s.last_commit = lc_now_ms();
    lc_task_set_state(t, LC_TASK_RUNNING, NULL);

    long flush_ms = env->flush_ms;
    int idle_ms = 0;
    while (!t->stop) {
        rd_kafka_poll(s.rk, 0);
        take_acked(&s);
        if (s.delivery_failed) {
            snprintf(err, sizeof(err), "%s", s.delivery_error);
            goto fail;
        }
        if (lc_now_ms() - s.last_commit >= flush_ms) commit_offsets(&s);
        if (atomic_load_explicit(&t->swap_conn, memory_order_acquire) && !t->stop) {
            if (t->swap_mode == LC_SWAP_FULL) {
                /* Every record handed to the producer is acknowledged and its offset
                 * committed before the old script closes: the new one resumes there. */
                while (rd_kafka_outq_len(s.rk) > 0 && !t->stop && !s.delivery_failed)
                    rd_kafka_flush(s.rk, 100);
                if (t->stop || s.delivery_failed) continue;
                commit_offsets(&s);
            }
            if (lc_task_take_swap(t, &s.L, err, sizeof(err)) != 0) goto fail;
            if (lc_errors_ensure_dlq(&t->conn->errors, s.rk, err, sizeof(err)) != 0) goto fail;
            continue;
        }
        if (t->pause) {
            /* Paused: no poll(), but deliveries still complete and get committed. */
            if (t->state != LC_TASK_PAUSED) lc_task_set_state(t, LC_TASK_PAUSED, NULL);
            rd_kafka_poll(s.rk, 100);
            continue;
        }
        if (t->state == LC_TASK_PAUSED) lc_task_set_state(t, LC_TASK_RUNNING, NULL);
        lc_task_push(s.L);
        if (lc_lua_call_sdk(s.L, "_source_poll", 1, 1, err, sizeof(err)) != 0) {
            if (!strstr(err, ": stage ")) {
                char tmp[8192];
                snprintf(tmp, sizeof(tmp), "stage TASK_POLL: %s", err);
                snprintf(err, sizeof(err), "%s", tmp);
            }
            goto fail;
        }
        if (lua_isnil(s.L, -1)) {
            lua_settop(s.L, 0);
            idle_ms = idle_ms ? (idle_ms * 2 > 64 ? 64 : idle_ms * 2) : 1;
            rd_kafka_poll(s.rk, idle_ms);
            continue;
        }
        idle_ms = 0;
        int rc = produce_batch(&s, lua_gettop(s.L), err, sizeof(err));
        lua_settop(s.L, 0);
        if (rc != 0) goto fail;
    }
    goto done;
fail:
    failed = 1;
    lc_task_set_state(t, LC_TASK_FAILED, err);
done:
    if (s.rk) {
        long timeout = env->shutdown_ms;
        /* A failed task still delivers what it handed to the producer, as Kafka Connect does. */
        if (rd_kafka_flush(s.rk, (int)timeout) != RD_KAFKA_RESP_ERR_NO_ERROR)
            lc_warn(t->ctx,
                    "%zu records not acknowledged by Kafka within %ld ms; their offsets are not "
                    "committed, so they are sent again after a restart",
                    lc_tracker_in_flight(s.tracker), timeout);
        rd_kafka_poll(s.rk, 0);
        commit_offsets(&s);
        if (s.pending.n)
            lc_error(t->ctx,
                     "the offsets of %zu source partitions could not be committed before the task "
                     "stopped; their records are sent again after a restart",
                     s.pending.n);
        rd_kafka_purge(s.rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(s.rk, 0);
        rd_kafka_destroy(s.rk);
    }
    if (conf) rd_kafka_conf_destroy(conf);
    lc_task_close_lua(t, s.L);
    lc_tracker_destroy(s.tracker);
    for (int i = 0; i < s.nknown; i++) free(s.known[i]);
    free(s.known);
    for (size_t i = 0; i < s.pending.n; i++) {
        free(s.pending.keys[i]);
        free(s.pending.values[i]);
    }
    free(s.pending.keys);
    free(s.pending.values);
    lc_buf_free(&s.name_json);
    lc_buf_free(&s.kbuf);
    lc_buf_free(&s.vbuf);
    lc_buf_free(&s.pbuf);
    lc_buf_free(&s.obuf);
    if (!failed) lc_task_set_state(t, LC_TASK_STOPPED, NULL);
    return NULL;
}
