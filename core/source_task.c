/* source_task: the source task loop.
 *
 *   poll() + transform chain (one call into Lua per batch) -> converters -> producer
 *   -> delivery report -> tracker -> offset store every offset.flush.interval.ms and on stop
 *
 * Offsets are committed only for records the broker acknowledged together with every
 * earlier record of their source partition (see tracker.h).
 *
 * Exactly-once (exactly.once.source.support=enabled, KIP-618): the producer is transactional
 * (transactional.id <prefix>-<connector>-<task>; claiming it fences any older instance of the
 * task), and a transaction holds the records of one or more batches plus their source offsets,
 * written to the offsets topic by the same producer: a record is visible to read_committed
 * consumers if and only if its offset is committed. transaction.boundary says where a
 * transaction ends: after every poll() batch, every transaction.boundary.interval.ms, or where
 * the script says (task.transaction). Any transaction error fails the task, which then
 * resumes from the last committed offsets. */
#include "config.h"
#include "log.h"
#include "source_api.h"
#include "task.h"
#include "util.h"
#include "tracker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a task that a newer instance fenced says so (in its FAILED trace and the log). */
#define FENCED_NOTE                                                                                \
    "; a newer instance of this task fenced this one, which stops without committing anything "    \
    "more"

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
    lc_source_batch_t batch; /* the batch being produced (its Lua side) */
    char last_topic[256];    /* last topic checked with lc_kafka_ensure_topic */
    rd_kafka_topic_t *rkt;   /* last_topic's handle: producing by name looks it up each time */
    char **known;            /* topics whose metadata this producer asked for (warm_topic) */
    int nknown;
    int delivery_failed;
    char delivery_error[1024];
    long long last_commit;
    long long last_broker_warn;
    long long commit_failed_since; /* first failed commit of the offsets still pending, or 0 */
    lc_buf_t name_json;            /* the connector name as JSON, for offset keys */
    commit_batch_t pending;        /* acknowledged offsets waiting for the next commit */
    /* Exactly-once. */
    int eos;
    int boundary;              /* 0 poll, 1 interval, 2 connector */
    long boundary_ms;          /* transaction.boundary.interval.ms */
    int in_txn;                /* a transaction is open */
    int fenced;                /* a newer instance of this task fenced this one */
    int aborting;              /* the script's abort runs: purged records are expected */
    long long txn_started;     /* when it began */
    rd_kafka_topic_t *offsets; /* the offsets topic, partitioned as Java's client does */
    char txid[600];
} src_t;

/* 1 when topic is the connector's dead letter queue (its deliveries are not records written). */
static int c_is_dlq(const src_t *s, const char *topic)
{
    const char *dlq = s->t->conn->errors.dlq_topic;
    return dlq && strcmp(dlq, topic) == 0;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    src_t *s = opaque;
    (void)rk;
    /* Records of a transaction the script aborted come back purged: neither acknowledged nor
     * a failure (the tracker they were counted in is dropped with the transaction). */
    if (s->aborting &&
        (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT))
        return;
    if (m->_private) lc_tracker_ack(s->tracker, (lc_tracked_t *)m->_private, m->err == 0);
    if (s->t->conn->errors.dlq_topic && c_is_dlq(s, rd_kafka_topic_name(m->rkt))) {
        if (m->err) lc_task_metrics_add(&s->t->metrics, LC_TM_DLQ_FAILURES, 1);
    } else if (m->_private) {
        lc_task_metrics_add(&s->t->metrics, LC_TM_ACTIVE, (uint64_t)-1);
    }
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
    rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, NULL, 0);
    if (fatal) {
        if (!s->delivery_failed) {
            s->delivery_failed = 1;
            char who[640] = "";
            if (s->eos) snprintf(who, sizeof(who), " (transactional.id %s)", s->txid);
            snprintf(s->delivery_error, sizeof(s->delivery_error),
                     "stage KAFKA_PRODUCE: fatal producer error%s: %s%s", who, reason,
                     (s->fenced = fatal == RD_KAFKA_RESP_ERR__FENCED) ? FENCED_NOTE : "");
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
        if (lc_source_api_json_string(s->L, s->t->conn->name, &s->name_json, err, sizeof(err)) != 0)
            return;
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
    lc_task_note_lua(s->t, s->L);
    take_acked(s);
    commit_batch_t b = s->pending;
    if (b.n) {
        lc_offset_store_t *os = s->t->conn->env->offsets;
        uint64_t t0 = lc_task_metrics_now_ns();
        int bad = os->put(os, (const char *const *)b.keys, (const char *const *)b.values, b.n, err,
                          sizeof(err)) != 0;
        lc_task_metrics_commit(&s->t->metrics, !bad, lc_task_metrics_now_ns() - t0);
        if (bad) {
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

/* Exactly-once ------------------------------------------------------------------------------- */

#define TXN_MS 60000 /* transaction.timeout.ms, and how long a commit may take */

static int txn_error(src_t *s, rd_kafka_error_t *e, const char *what, char *errstr, size_t errsz)
{
    int fenced = rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__FENCED ||
                 rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
                 rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
    if (fenced) s->fenced = 1;
    snprintf(errstr, errsz, "stage KAFKA_PRODUCE: %s (transactional.id %s): %s%s", what, s->txid,
             rd_kafka_error_string(e), fenced ? FENCED_NOTE : "");
    rd_kafka_error_destroy(e);
    return -1;
}

static int txn_begin(src_t *s, char *errstr, size_t errsz)
{
    if (!s->eos || s->in_txn) return 0;
    rd_kafka_error_t *e = rd_kafka_begin_transaction(s->rk);
    if (e) return txn_error(s, e, "cannot begin a transaction", errstr, errsz);
    s->in_txn = 1;
    s->txn_started = lc_now_ms();
    return 0;
}

/* Ends the open transaction: every record acknowledged, their offsets written to the offsets
 * topic in it, then the commit. 0, or -1 with errstr (the task fails). */
static int txn_commit(src_t *s, char *errstr, size_t errsz)
{
    if (!s->in_txn) return 0;
    rd_kafka_resp_err_t fe = rd_kafka_flush(s->rk, TXN_MS);
    if (fe || s->delivery_failed) {
        snprintf(errstr, errsz, "%s",
                 s->delivery_failed ? s->delivery_error
                                    : "stage KAFKA_PRODUCE: records not acknowledged in time");
        return -1;
    }
    take_acked(s);
    lc_offset_store_t *os = s->t->conn->env->offsets;
    for (size_t i = 0; i < s->pending.n; i++) {
        char *kb =
            os->key_bytes ? os->key_bytes(os, s->pending.keys[i]) : strdup(s->pending.keys[i]);
        const char *v = s->pending.values[i];
        rd_kafka_resp_err_t e =
            rd_kafka_producev(s->rk, RD_KAFKA_V_RKT(s->offsets), RD_KAFKA_V_KEY(kb, strlen(kb)),
                              RD_KAFKA_V_VALUE((void *)v, v ? strlen(v) : 0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        free(kb);
        if (e) {
            snprintf(errstr, errsz, "stage KAFKA_PRODUCE: cannot write source offsets to '%s': %s",
                     s->t->conn->env->offsets_topic, rd_kafka_err2str(e));
            return -1;
        }
    }
    rd_kafka_error_t *e = rd_kafka_commit_transaction(s->rk, TXN_MS);
    if (e) return txn_error(s, e, "cannot commit the transaction", errstr, errsz);
    s->in_txn = 0;
    if (os->note)
        os->note(os, (const char *const *)s->pending.keys, (const char *const *)s->pending.values,
                 s->pending.n);
    for (size_t i = 0; i < s->pending.n; i++) {
        free(s->pending.keys[i]);
        free(s->pending.values[i]);
    }
    s->pending.n = 0;
    s->last_commit = lc_now_ms();
    return 0;
}

/* The script asked for an abort: the open transaction's records are discarded, and their
 * source offsets are committed in a transaction of their own so the task does not read the
 * same records again, as Kafka Connect does for TransactionContext.abortTransaction(). */
static int txn_abort(src_t *s, char *errstr, size_t errsz)
{
    if (!s->in_txn) return 0;
    /* The records are delivered (into the transaction) before the abort: an abort that purges
     * requests still in flight can meet the broker mid-AddPartitionsToTxn and fail with
     * INVALID_TXN_STATE. An abort is rare; its cost is one round trip. */
    rd_kafka_flush(s->rk, TXN_MS);
    take_acked(s);
    s->aborting = 1;
    rd_kafka_error_t *e = rd_kafka_abort_transaction(s->rk, TXN_MS);
    if (e) {
        s->aborting = 0;
        return txn_error(s, e, "cannot abort the transaction", errstr, errsz);
    }
    s->in_txn = 0;
    /* Every delivery report of the aborted records is served before their tracker goes. */
    long long until = lc_now_ms() + TXN_MS;
    while (rd_kafka_outq_len(s->rk) > 0 && lc_now_ms() < until)
        rd_kafka_poll(s->rk, 10);
    rd_kafka_poll(s->rk, 0);
    s->aborting = 0;
    lc_tracker_destroy(s->tracker); /* the aborted records will never count */
    s->tracker = lc_tracker_new();
    lc_info(s->t->ctx, "transaction aborted by the connector");
    if (!s->pending.n) return 0;
    if (txn_begin(s, errstr, errsz) != 0) return -1;
    return txn_commit(s, errstr, errsz);
}

/* After a batch: ends the transaction where transaction.boundary says. */
static int txn_after_batch(src_t *s, char *errstr, size_t errsz)
{
    if (!s->eos) return 0;
    int req = s->boundary == 2 ? lc_source_api_txn_request(s->L) : 0;
    if (req == 2) return txn_abort(s, errstr, errsz);
    if (s->boundary == 0 || req == 1 ||
        (s->boundary == 1 && lc_now_ms() - s->txn_started >= s->boundary_ms))
        return txn_commit(s, errstr, errsz);
    return 0;
}

/* Sets up the transactional producer's side before the script opens: the transactional.id
 * claimed (fencing older instances), then the offsets read to their end, so open() sees what
 * the last instance committed. 0, or -1 with errstr. */
static int txn_setup(src_t *s, char *errstr, size_t errsz)
{
    lc_connector_t *c = s->t->conn;
    const lc_task_env_t *env = c->env;
    size_t elen = 0;
    char label[600];
    snprintf(label, sizeof(label), "connector '%s'", c->name);
    if (lc_config_choice(c->props, "transaction.boundary", label, &s->boundary, errstr, errsz,
                         &elen) != 0 ||
        lc_config_long(c->props, "transaction.boundary.interval.ms", label, &s->boundary_ms, errstr,
                       errsz, &elen) != 0)
        return -1;
    if (s->boundary_ms < 0) s->boundary_ms = env->flush_ms;
    rd_kafka_topic_conf_t *tc = rd_kafka_topic_conf_new();
    char err[512];
    rd_kafka_topic_conf_set(tc, "partitioner", "murmur2_random", err, sizeof(err));
    s->offsets = rd_kafka_topic_new(s->rk, env->offsets_topic, tc);
    rd_kafka_error_t *e = rd_kafka_init_transactions(s->rk, TXN_MS);
    if (e) return txn_error(s, e, "cannot claim the task's transactional.id", errstr, errsz);
    lc_info(s->t->ctx, "exactly-once: transactional.id %s claimed; transactions end %s", s->txid,
            s->boundary == 0   ? "after every poll() batch"
            : s->boundary == 1 ? "every transaction.boundary.interval.ms"
                               : "where the connector says");
    if (env->offsets->sync && env->offsets->sync(env->offsets, errstr, errsz) != 0) return -1;
    return 0;
}

/* Reports a tolerated failure of the current entry's record (errors.log, DLQ) and
 * registers its source offset, which commits once the DLQ has the record (or at once
 * without a DLQ). 0, or -1 with errstr when even the report failed. */
static int report_failure(src_t *s, const char *stage, const char *class_name,
                          const char *exception, const char *message, const char *trace,
                          const char *where, char *errstr, size_t errsz)
{
    lc_connector_t *c = s->t->conn;
    int rc;
    lc_source_failed_t fr;
    lc_source_api_failed(&s->batch, &c->key_conv, &c->value_conv, &s->kbuf, &s->vbuf, &s->pbuf,
                         &s->obuf, &fr);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(2);
    lc_tracked_t *h;
    if (fr.has_offset) {
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
                      .topic = fr.topic,
                      .partition = -1,
                      .offset = -1,
                      .key = fr.key_null ? NULL : s->kbuf.data,
                      .key_len = s->kbuf.len,
                      .value = fr.value_null ? NULL : s->vbuf.data,
                      .value_len = s->vbuf.len,
                      .headers = hdrs};
    rc = lc_errors_report(&c->errors, c->name, s->t->id, s->t->ctx, s->rk, &f, h, &s->t->abort,
                          errstr, errsz);
    lc_task_metrics_failure(&s->t->metrics, 1, c->errors.log_enable, rc == 1,
                            (uint64_t)lc_wall_ms());
    if (rc == 0) lc_tracker_ack(s->tracker, h, 1); /* nothing to wait for */
    if (rc < 0) lc_tracker_ack(s->tracker, h, 0);
    rd_kafka_headers_destroy(hdrs);
    return rc < 0 ? -1 : 0;
}

/* An entry the chain left in place of a record: "skip" (dropped; its offset still counts)
 * or "error" (a tolerated transform failure). 0, or -1 with errstr. */
static int handle_marker(src_t *s, const lc_source_entry_t *e, char *errstr, size_t errsz)
{
    if (e->kind == LC_SOURCE_SKIP) {
        lc_task_metrics_add(&s->t->metrics, LC_TM_DROPPED, 1);
        if (lc_source_api_skip_offset(&s->batch, &s->pbuf, &s->obuf) == 0)
            lc_tracker_ack(s->tracker, lc_tracker_add(s->tracker, s->pbuf.data, s->obuf.data), 1);
        return 0;
    }
    return report_failure(s, "TRANSFORMATION", e->class_name, "luaconnect.LuaError", e->message,
                          e->trace, e->where, errstr, errsz);
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

/* Makes topic the one records are produced to (s->rkt); the first time, after making sure
 * it exists and its metadata is known. 0, or -1 with err (what producing by name would have
 * answered). */
static int use_topic(src_t *s, const char *topic, char *err, size_t errsz)
{
    if (strncmp(s->last_topic, topic, sizeof(s->last_topic)) == 0) return 0;
    /* before the topic is reported active: a client that reads it then finds it made as
     * Kafka makes it (the embedded broker would auto-create 4 partitions) */
    lc_kafka_ensure_topic(s->t->conn->env->kafka, topic);
    warm_topic(s, topic);
    snprintf(s->last_topic, sizeof(s->last_topic), "%s", topic);
    if (s->rkt) rd_kafka_topic_destroy(s->rkt);
    if (!(s->rkt = rd_kafka_topic_new(s->rk, topic, NULL))) {
        s->last_topic[0] = '\0';
        snprintf(err, errsz, "%s", rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    return 0;
}

/* Hands a record to the producer (key or value NULL: a Kafka null), for s->rkt, waiting
 * while its queue is full; hdrs are the producer's or freed. 0, or -1 with err: then h is
 * acknowledged as failed. */
static int send_record(src_t *s, int32_t partition, const char *key, size_t klen, const char *value,
                       size_t vlen, int64_t ts, rd_kafka_headers_t *hdrs, lc_tracked_t *h,
                       char *err, size_t errsz)
{
    for (;;) {
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
        /* Without headers or a timestamp, rd_kafka_produce: what producev does, minus
         * reading its variable arguments. A failure is retried through producev, whose
         * return value is the error (rd_kafka_produce only sets errno). */
        if (hdrs || ts ||
            rd_kafka_produce(s->rkt, partition, RD_KAFKA_MSG_F_COPY, (void *)value,
                             value ? vlen : 0, key, key ? klen : 0, h) != 0)
            e = rd_kafka_producev(
                s->rk, RD_KAFKA_V_RKT(s->rkt), RD_KAFKA_V_PARTITION(partition),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key ? klen : 0),
                RD_KAFKA_V_VALUE((void *)value, value ? vlen : 0), RD_KAFKA_V_TIMESTAMP(ts),
                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(h), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            lc_task_metrics_add(&s->t->metrics, LC_TM_ACTIVE, 1);
            return 0;
        }
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && !s->t->abort) {
            rd_kafka_poll(s->rk, 20); /* back-pressure: wait for deliveries */
            continue;
        }
        if (hdrs) rd_kafka_headers_destroy(hdrs); /* not handed to the producer */
        lc_tracker_ack(s->tracker, h, 0);
        if (e == RD_KAFKA_RESP_ERR__FATAL) {
            /* The producer's own reason (before its error callback has run), e.g. fenced */
            char why[512] = "";
            if (rd_kafka_fatal_error(s->rk, why, sizeof(why)) == RD_KAFKA_RESP_ERR__FENCED)
                s->fenced = 1;
            snprintf(err, errsz, "fatal producer error%s%s%s: %s%s",
                     s->eos ? " (transactional.id " : "", s->eos ? s->txid : "", s->eos ? ")" : "",
                     why, s->fenced ? FENCED_NOTE : "");
        } else {
            snprintf(err, errsz, "%s", rd_kafka_err2str(e));
        }
        return -1;
    }
}

/* Records of one source partition table that follow each other in a batch form a run; each
 * is registered as superseded (its offset is not encoded) and the run ends at a record of
 * another partition, a marker, a failure or the batch's end. Then the offset of its last
 * record (*run, a batch index; 0: no run) is registered, acknowledged, behind it in its
 * partition's order: it commits once that record and every record before it are delivered,
 * which is what the last record's own offset did. 0, or -1 with err naming the record when
 * its offset cannot be encoded. */
static int end_run(src_t *s, int *run, char *err, size_t errsz)
{
    char why[512], what[1024];
    int i = *run;
    *run = 0;
    if (!i) return 0;
    if (lc_source_api_offset_at(&s->batch, i, &s->pbuf, &s->obuf, why, sizeof(why)) != 0) {
        lc_source_api_describe(&s->batch, i, what, sizeof(what));
        snprintf(err, errsz, "%s: stage TASK_POLL: %s", what, why);
        return -1;
    }
    lc_tracker_ack(s->tracker, lc_tracker_add(s->tracker, s->pbuf.data, s->obuf.data), 1);
    return 0;
}

/* What produce_records needs (lc_source_api_run's opaque). */
typedef struct produce {
    src_t *s;
    char *errstr;
    size_t errsz;
} produce_t;

static int produce_records(void *opaque);

/* Converts and produces every record of the polled batch, inside one protected call into
 * Lua (lc_source_api_run). 0, or -1 with errstr. */
static int produce_batch(src_t *s, char *errstr, size_t errsz)
{
    produce_t p = {s, errstr, errsz};
    return lc_source_api_run(&s->batch, produce_records, &p, errstr, errsz) ? -1 : 0;
}

/* The record loop of produce_batch. */
static int produce_records(void *opaque)
{
    produce_t *p = opaque;
    src_t *s = p->s;
    char *errstr = p->errstr;
    size_t errsz = p->errsz;
    lc_connector_t *c = s->t->conn;
    lc_source_batch_t *b = &s->batch;
    int n = b->n;
    char err[2048], what[1024];
    uint64_t written = 0;
    int rc = 0, run = 0; /* run: the last record of the open run (end_run), 0: none */
    const void *run_part = NULL;
    for (int i = 1; i <= n; i++) {
        lc_source_entry_t ent;
        const char *stage = NULL;
        if (lc_source_api_entry(b, i, &ent, errstr, errsz) != 0) {
            rc = -1;
            goto out;
        }
        if (ent.kind != LC_SOURCE_RECORD) {
            if (end_run(s, &run, errstr, errsz) != 0 ||
                handle_marker(s, &ent, errstr, errsz) != 0) {
                rc = -1;
                goto out;
            }
            continue;
        }
        const char *topic = ent.topic;
        int32_t partition = ent.partition;
        int64_t ts = ent.timestamp;
        int knull = 0, vnull = 0, registered = 0;
        rd_kafka_headers_t *hdrs = NULL;
        if (!topic || !*topic) {
            stage = "TASK_POLL";
            snprintf(err, sizeof(err), "record has no topic");
            goto bad;
        }
        if (lc_source_api_convert(b, 0, &c->key_conv, &s->kbuf, &knull, err, sizeof(err)) != 0) {
            stage = "KEY_CONVERTER";
            goto bad;
        }
        if (lc_source_api_convert(b, 1, &c->value_conv, &s->vbuf, &vnull, err, sizeof(err)) != 0) {
            stage = "VALUE_CONVERTER";
            goto bad;
        }
        if (lc_source_api_headers(b, &s->obuf, &hdrs, err, sizeof(err)) != 0) {
            stage = "HEADER_CONVERTER";
            goto bad;
        }
        lc_tracked_t *h;
        const void *part;
        if (lc_source_api_partition(b, &s->pbuf, &part, err, sizeof(err)) != 0) {
            stage = "TASK_POLL";
            goto bad;
        }
        if (run && part != run_part) {
            if (end_run(s, &run, errstr, errsz) != 0) {
                if (hdrs) rd_kafka_headers_destroy(hdrs);
                rc = -1;
                goto out;
            }
            /* end_run wrote the last run's partition into pbuf: this record's again */
            if (part && lc_source_api_partition(b, &s->pbuf, &part, err, sizeof(err)) != 0) {
                stage = "TASK_POLL";
                goto bad;
            }
        }
        if (part) {
            h = lc_tracker_add_superseded(s->tracker, s->pbuf.data);
            run = i;
            run_part = part;
        } else {
            h = lc_tracker_add(s->tracker, NULL, NULL);
        }
        registered = 1;
        if (use_topic(s, topic, err, sizeof(err)) != 0) {
            lc_tracker_ack(s->tracker, h, 0);
            stage = "KAFKA_PRODUCE";
            goto bad;
        }
        lc_task_note_topic(s->t, topic);
        if (send_record(s, partition, knull ? NULL : s->kbuf.data, s->kbuf.len,
                        vnull ? NULL : s->vbuf.data, s->vbuf.len, ts, hdrs, h, err,
                        sizeof(err)) != 0) {
            hdrs = NULL; /* send_record owns them */
            stage = "KAFKA_PRODUCE";
            goto bad;
        }
        written++;
        continue;
    bad:
        if (hdrs) rd_kafka_headers_destroy(hdrs); /* not handed to the producer */
        /* the records before this one commit as they did before it failed */
        if (!registered && end_run(s, &run, errstr, errsz) != 0) {
            lc_task_metrics_failure(&s->t->metrics, 0, 0, 0, (uint64_t)lc_wall_ms());
            rc = -1;
            goto out;
        }
        lc_source_api_describe(b, i, what, sizeof(what));
        if (c->errors.tolerant && strstr(stage, "CONVERTER")) {
            const char *cls = strcmp(stage, "KEY_CONVERTER") == 0     ? c->key_conv_class
                              : strcmp(stage, "VALUE_CONVERTER") == 0 ? c->value_conv_class
                                                                      : "header";
            if (report_failure(s, stage, cls, "org.apache.kafka.connect.errors.DataException", err,
                               NULL, what, errstr, errsz) != 0) {
                rc = -1;
                goto out;
            }
            continue;
        }
        snprintf(errstr, errsz, "%s: stage %s: %s", what, stage, err);
        lc_task_metrics_failure(&s->t->metrics, 0, 0, 0, (uint64_t)lc_wall_ms());
        rc = -1;
        goto out;
    }
out:
    if (rc == 0) {
        if (end_run(s, &run, errstr, errsz) != 0) rc = -1;
    } else {
        char e2[512]; /* the batch failed: what it sent before still commits */
        end_run(s, &run, e2, sizeof(e2));
    }
    /* Once per batch: one store, not one per record. */
    lc_task_metrics_add(&s->t->metrics, LC_TM_WRITE_TOTAL, written);
    lc_task_metrics_active(&s->t->metrics, 1); /* once per batch: it peaks as a batch is sent */
    return rc;
}

/* Produces a batch of lines (lc_source_api_lines): each line's value is the converted
 * template with the line in its hole; no Lua runs. The batch's records share one tracker
 * entry, a group closed with the offset after the last line handed to the producer: it
 * commits once every one of them is delivered. 0, or -1 with errstr naming the record. */
static int produce_lines(src_t *s, const lc_source_lines_t *ln, char *errstr, size_t errsz)
{
    lc_source_batch_t *b = &s->batch;
    char err[2048];
    uint64_t written = 0;
    int rc = 0, i = 0;
    const char *p = ln->text, *e = p + ln->len;
    size_t end = 0;  /* bytes of the text whose records were handed to the producer */
    size_t next = 0; /* bytes of the text up to the end of the current line */
    lc_tracked_t *g = lc_tracker_add_group(s->tracker, ln->partition);
    if (!g) {
        snprintf(errstr, errsz, "out of memory");
        return -1;
    }
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        const char *stop = nl ? nl : e;
        next = (size_t)((nl ? nl + 1 : e) - ln->text);
        if (stop > p && stop[-1] == '\r') stop--;
        if (++i == 1) {
            if (use_topic(s, ln->topic, err, sizeof(err)) != 0) goto bad;
            lc_task_note_topic(s->t, ln->topic);
        }
        if (lc_source_api_line_value(b, p, (size_t)(stop - p), &s->vbuf) != 0) {
            snprintf(err, sizeof(err), "out of memory");
            goto bad;
        }
        lc_tracker_group_hold(s->tracker, g);
        if (send_record(s, RD_KAFKA_PARTITION_UA, ln->key, ln->key_len, s->vbuf.data, s->vbuf.len,
                        0, NULL, g, err, sizeof(err)) != 0)
            goto bad; /* the group failed: it never commits */
        written++;
        end = next;
        p = ln->text + next;
    }
    goto out;
bad:
    if (ln->partition && lc_source_api_line_offset(b, next, &s->obuf) == 0)
        snprintf(errstr, errsz,
                 "record %d of %d (source partition %s, offset %s): stage "
                 "KAFKA_PRODUCE: %s",
                 i, b->n, ln->partition, s->obuf.data, err);
    else
        snprintf(errstr, errsz, "record %d of %d: stage KAFKA_PRODUCE: %s", i, b->n, err);
    lc_task_metrics_failure(&s->t->metrics, 0, 0, 0, (uint64_t)lc_wall_ms());
    rc = -1;
out:
    if (ln->partition && end && lc_source_api_line_offset(b, end, &s->obuf) == 0) {
        if (lc_tracker_group_close(s->tracker, g, s->obuf.data) != 0 && rc == 0) {
            snprintf(errstr, errsz, "out of memory");
            rc = -1;
        }
    } else {
        lc_tracker_group_close(s->tracker, g, NULL);
    }
    lc_task_metrics_add(&s->t->metrics, LC_TM_WRITE_TOTAL, written);
    lc_task_metrics_active(&s->t->metrics, 1);
    return rc;
}

void *lc_source_task_main(void *arg)
{
    lc_task_t *t = arg;
    const lc_task_env_t *env = t->conn->env;
    src_t s = {.t = t};
    char err[8192];
    int failed = 0;
    rd_kafka_conf_t *conf = NULL;

    s.eos = env->exactly_once;
    if (!s.eos) {
        s.L = lc_task_open_lua(t, err, sizeof(err));
        if (!s.L) goto fail;
    }
    conf =
        lc_kafka_client_conf(env->kafka, t->conn->name, t->id, t->conn->props, 1, err, sizeof(err));
    if (!conf) goto fail;
    if (s.eos) {
        snprintf(s.txid, sizeof(s.txid), "%s-%s-%d", env->txn_prefix, t->conn->name, t->id);
        char e2[512];
        /* Transactions need a bounded delivery time within the transaction's. */
        if (rd_kafka_conf_set(conf, "transactional.id", s.txid, e2, sizeof(e2)) ||
            rd_kafka_conf_set(conf, "transaction.timeout.ms", "60000", e2, sizeof(e2)) ||
            rd_kafka_conf_set(conf, "message.timeout.ms", "60000", e2, sizeof(e2))) {
            snprintf(err, sizeof(err), "exactly-once producer: %s", e2);
            goto fail;
        }
    }
    rd_kafka_conf_set_opaque(conf, &s);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    s.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!s.rk) goto fail;
    conf = NULL; /* owned by rk now */
    s.tracker = lc_tracker_new();
    if (s.eos) {
        if (txn_setup(&s, err, sizeof(err)) != 0) goto fail;
        s.L = lc_task_open_lua(t, err, sizeof(err));
        if (!s.L) goto fail;
    }
    if (lc_errors_ensure_dlq(&t->conn->errors, t->conn->env->kafka, s.rk, err, sizeof(err)) != 0)
        goto fail;
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
        if (s.eos) {
            if (s.in_txn && s.boundary == 1 && lc_now_ms() - s.txn_started >= s.boundary_ms &&
                txn_commit(&s, err, sizeof(err)) != 0)
                goto fail;
        } else if (lc_now_ms() - s.last_commit >= flush_ms) {
            commit_offsets(&s);
        }
        if (atomic_load_explicit(&t->swap_conn, memory_order_acquire) && !t->stop) {
            if (t->swap_mode == LC_SWAP_FULL) {
                /* Every record handed to the producer is acknowledged and its offset
                 * committed before the old script closes: the new one resumes there. */
                while (rd_kafka_outq_len(s.rk) > 0 && !t->stop && !s.delivery_failed)
                    rd_kafka_flush(s.rk, 100);
                if (t->stop || s.delivery_failed) continue;
                if (s.eos ? txn_commit(&s, err, sizeof(err)) != 0 : (commit_offsets(&s), 0))
                    goto fail;
            }
            if (lc_task_take_swap(t, &s.L, err, sizeof(err)) != 0) goto fail;
            lc_source_api_free(&s.batch); /* its template came from the old state */
            if (lc_errors_ensure_dlq(&t->conn->errors, t->conn->env->kafka, s.rk, err,
                                     sizeof(err)) != 0)
                goto fail;
            continue;
        }
        if (t->pause) {
            /* Paused: no poll(), but deliveries still complete and get committed. */
            if (t->state != LC_TASK_PAUSED) lc_task_set_state(t, LC_TASK_PAUSED, NULL);
            if (s.eos && txn_commit(&s, err, sizeof(err)) != 0) goto fail;
            rd_kafka_poll(s.rk, 100);
            continue;
        }
        if (t->state == LC_TASK_PAUSED) lc_task_set_state(t, LC_TASK_RUNNING, NULL);
        uint64_t t0 = lc_task_metrics_now_ns();
        int polled = lc_source_api_poll(s.L, &s.batch, err, sizeof(err));
        if (polled < 0) {
            if (!strstr(err, ": stage ")) {
                char tmp[8192];
                snprintf(tmp, sizeof(tmp), "stage TASK_POLL: %s", err);
                snprintf(err, sizeof(err), "%s", tmp);
            }
            goto fail;
        }
        if (polled == 0) {
            if (s.eos && s.boundary == 2 && txn_after_batch(&s, err, sizeof(err)) != 0) goto fail;
            idle_ms = idle_ms ? (idle_ms * 2 > 64 ? 64 : idle_ms * 2) : 1;
            rd_kafka_poll(s.rk, idle_ms);
            continue;
        }
        idle_ms = 0;
        lc_task_metrics_add(&t->metrics, LC_TM_POLL_TOTAL, (uint64_t)s.batch.n);
        lc_task_metrics_batch(&t->metrics, (uint64_t)s.batch.n, lc_task_metrics_now_ns() - t0);
        if (txn_begin(&s, err, sizeof(err)) != 0) goto fail;
        int rc;
        lc_source_lines_t lines;
        if (polled == 2 &&
            (rc = lc_source_api_lines(&s.batch, &t->conn->key_conv, &t->conn->value_conv, &lines,
                                      err, sizeof(err))) != 0)
            rc = rc < 0 ? -1 : produce_lines(&s, &lines, err, sizeof(err));
        else
            rc = produce_batch(&s, err, sizeof(err));
        lc_source_api_end(&s.batch);
        if (rc != 0) goto fail;
        if (txn_after_batch(&s, err, sizeof(err)) != 0) goto fail;
    }
    goto done;
fail:
    failed = 1;
    if (s.fenced)
        lc_task_set_state_local(t, LC_TASK_FAILED, err);
    else
        lc_task_set_state(t, LC_TASK_FAILED, err);
done:
    if (s.rk && s.eos) {
        /* Exactly-once: a clean stop commits the open transaction; a failure aborts it (the
         * next instance resumes from the last committed offsets). With connector-defined
         * boundaries only the connector ends a transaction, as in Kafka Connect: an open one
         * is committed at stop only if the connector asked for it, else it is aborted. */
        char e2[1024];
        int commit_final = s.boundary != 2 || (s.L && lc_source_api_txn_request(s.L) == 1);
        if (!failed && s.in_txn && commit_final && txn_commit(&s, e2, sizeof(e2)) != 0) {
            lc_error(t->ctx, "%s", e2);
            failed = 1;
            if (s.fenced)
                lc_task_set_state_local(t, LC_TASK_FAILED, e2);
            else
                lc_task_set_state(t, LC_TASK_FAILED, e2);
        }
        if (s.in_txn) {
            rd_kafka_error_t *e = rd_kafka_abort_transaction(s.rk, 5000);
            if (e) rd_kafka_error_destroy(e);
        }
        rd_kafka_purge(s.rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(s.rk, 0);
        if (s.offsets) rd_kafka_topic_destroy(s.offsets);
        if (s.rkt) rd_kafka_topic_destroy(s.rkt);
        rd_kafka_destroy(s.rk);
        s.rk = NULL;
    }
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
        if (s.rkt) rd_kafka_topic_destroy(s.rkt);
        rd_kafka_destroy(s.rk);
    }
    if (conf) rd_kafka_conf_destroy(conf);
    lc_task_close_lua(t, s.L);
    lc_tracker_destroy(s.tracker);
    for (int i = 0; i < s.nknown; i++)
        free(s.known[i]);
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
    lc_source_api_free(&s.batch);
    if (!failed) lc_task_set_state(t, LC_TASK_STOPPED, NULL);
    return NULL;
}
