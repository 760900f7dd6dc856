/* sink_task: the sink task loop.
 *
 *   consumer (group connect-<name>) -> converters -> transform chain + put() (one call into
 *   Lua per batch) -> flush() at commit time -> commit consumer offsets
 *
 * A consumer offset is committed only after flush() returned for everything before it. */
#include "log.h"
#include "prefetch.h"
#include "sink_api.h"
#include "task.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SINK_BATCH_DEFAULT 500  /* Kafka's max.poll.records default */
#define SINK_BATCH_LIMIT 100000 /* the largest max.poll.records taken */

typedef struct snk {
    lc_task_t *t;
    lua_State *L;
    rd_kafka_t *rk;
    rd_kafka_t *dlq; /* producer for errors.deadletterqueue.topic.name */
    int dlq_failed;
    char dlq_error[512];
    rd_kafka_topic_partition_list_t *pos; /* next offset to commit per partition */
    int dirty;
    int failed;
    char error[8192];
    long long last_commit;
    int paused;                        /* assigned partitions are paused */
    int redelivering;                  /* paused to deliver a batch again (retriable put) */
    int revocations;                   /* partitions revoked so far */
    long long last_idle;               /* when idle() last ran */
    int assigned;                      /* partitions assigned now */
    char group[256];                   /* group.id, for messages */
    int batch_max;                     /* records a batch holds at most (max.poll.records) */
    struct pending_failure *fail_list; /* batch_max of them, for put_batch */
    int *batch_index;                  /* batch_max + 1, for put_batch */
    int64_t reset_ts;                  /* auto.offset.reset's ListOffsets timestamp: -2 earliest,
                                        * -1 latest, 0 "error" */
} snk_t;

/* sink-record-lag-max and the Lua memory, once per commit interval: the high watermarks are
 * librdkafka's cached ones (no request). */
static void note_lag_and_memory(snk_t *s)
{
    int64_t max = 0;
    int n = 0;
    lc_partition_lag_t *lags = s->pos->cnt ? calloc((size_t)s->pos->cnt, sizeof(*lags)) : NULL;
    for (int i = 0; s->rk && i < s->pos->cnt; i++) {
        int64_t lo, hi;
        const rd_kafka_topic_partition_t *p = &s->pos->elems[i];
        if (p->offset < 0 || rd_kafka_get_watermark_offsets(s->rk, p->topic, p->partition, &lo,
                                                            &hi) != RD_KAFKA_RESP_ERR_NO_ERROR)
            continue;
        int64_t lag = hi > p->offset ? hi - p->offset : 0;
        if (lag > max) max = lag;
        if (!lags) continue;
        snprintf(lags[n].topic, sizeof(lags[n].topic), "%s", p->topic);
        lags[n].partition = p->partition;
        lags[n++].lag = lag;
    }
    lc_task_metrics_set(&s->t->metrics, LC_TM_LAG_MAX, (uint64_t)max);
    lc_task_metrics_set_lags(&s->t->metrics, lags, n);
    free(lags);
    lc_task_note_lua(s->t, s->L);
}

/* flush() then commit the positions reached. 0, or -1 with s->error set. */
static int flush_commit(snk_t *s)
{
    char err[8192];
    s->last_commit = lc_now_ms();
    note_lag_and_memory(s);
    if (!s->dirty && !s->failed) {
        lc_task_metrics_add(&s->t->metrics, LC_TM_COMMIT_SKIP, 1);
        lc_task_metrics_set(&s->t->metrics, LC_TM_READ_COMMITTED,
                            lc_task_metrics_get(&s->t->metrics, LC_TM_READ_TOTAL));
    }
    if (!s->dirty || s->failed) return s->failed ? -1 : 0;
    uint64_t t0 = lc_task_metrics_now_ns();
    if (lc_sink_api_flush(s->L, s->pos, err, sizeof(err)) != 0) {
        snprintf(s->error, sizeof(s->error), "stage TASK_PUT: flush() failed: %s", err);
        s->failed = 1;
        return -1;
    }
    /* Records sent to the DLQ must be there before their offsets are committed. */
    if (s->dlq) {
        long timeout = s->t->conn->env->shutdown_ms;
        if (rd_kafka_flush(s->dlq, (int)(timeout > 30000 ? timeout : 30000)) != 0 &&
            !s->dlq_failed) {
            s->dlq_failed = 1;
            snprintf(s->dlq_error, sizeof(s->dlq_error), "records not acknowledged in time");
        }
        if (s->dlq_failed) {
            snprintf(s->error, sizeof(s->error),
                     "stage KAFKA_PRODUCE: dead letter queue '%s': %s; offsets not committed",
                     s->t->conn->errors.dlq_topic, s->dlq_error);
            s->failed = 1;
            return -1;
        }
    }
    rd_kafka_resp_err_t e = rd_kafka_commit(s->rk, s->pos, 0);
    lc_task_metrics_commit(&s->t->metrics, !e || e == RD_KAFKA_RESP_ERR__NO_OFFSET,
                           lc_task_metrics_now_ns() - t0);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        lc_warn(s->t->ctx, "offset commit failed (records will be delivered again): %s",
                rd_kafka_err2str(e));
    else {
        s->dirty = 0;
        /* sink-record-active-count: nothing read is due any more */
        lc_task_metrics_set(&s->t->metrics, LC_TM_READ_COMMITTED,
                            lc_task_metrics_get(&s->t->metrics, LC_TM_READ_TOTAL));
    }
    return 0;
}

/* An offset open_partitions() returned: where partition starts, if it is in parts. */
static void script_offset(void *opaque, const char *topic, int32_t partition, int64_t offset)
{
    void **a = opaque;
    snk_t *s = a[0];
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(a[1], topic, partition);
    if (!p) return;
    p->offset = offset;
    lc_info(s->t->ctx, "%s-%d starts at offset %lld (kept by the connector)", topic,
            (int)p->partition, (long long)p->offset);
}

/* A sink that keeps its own offsets (open_partitions() returns them, e.g. stored in the same
 * transaction as its rows) starts each assigned partition there instead of at the group's
 * committed offset: that is what makes an exactly-once sink. */
static void seek_to_script_offsets(snk_t *s, rd_kafka_topic_partition_list_t *parts)
{
    char err[4096];
    void *a[2] = {s, parts};
    if (lc_sink_api_open_partitions(s->L, parts, script_offset, a, err, sizeof(err)) != 0) {
        s->failed = 1;
        snprintf(s->error, sizeof(s->error), "stage TASK_PUT: open_partitions() failed: %s", err);
    }
}

/* How long, in all, the assignment waits for the group's committed offsets and the reset
 * positions before it leaves the partitions to librdkafka's own lookup (ms). The rebalance
 * callback runs on the task thread, so a stop request waits for it: a coordinator or leader
 * that does not answer costs at most this, once. */
#define START_LOOKUP_MS 2000

/* Where the partitions that nobody chose a start for (open_partitions() may have) begin, as
 * absolute offsets, set before they are assigned: the group's committed offset, or when there
 * is none the first (earliest) or next (latest) offset of the partition, from one ListOffsets
 * round trip. Left to librdkafka, a partition without a committed offset began ~100 ms late
 * (2.0.2 handles "no offset stored" as an error and queries the reset position after a
 * 100 ms back-off), and a logical start given to the assignment began 500 ms late whenever
 * the assignment came before the partition's leader was joined (its offset query then waits
 * for a timer): pipeline (b) showed its first record 160 ms after exec, kcat -C after 32 ms.
 * An absolute offset starts fetching as soon as the leader is known. A partition whose
 * offsets cannot be read now keeps INVALID: librdkafka then looks them up as before. So does
 * one without a committed offset when auto.offset.reset is none (error): librdkafka then
 * reports it, and the task fails (lc_sink_task_main).
 * Each element of the two request lists carries the index of its partition in parts (its
 * opaque), so that the answers are matched in one pass, whatever the number of partitions. */
static void start_offsets(snk_t *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    long long deadline = lc_now_ms() + START_LOOKUP_MS;
    rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_new(parts->cnt);
    rd_kafka_topic_partition_list_t *r = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].offset == RD_KAFKA_OFFSET_INVALID)
            rd_kafka_topic_partition_list_add(q, parts->elems[i].topic, parts->elems[i].partition)
                ->opaque = (void *)(intptr_t)i;
    if (q->cnt && rd_kafka_committed(rk, q, START_LOOKUP_MS) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < q->cnt; i++) {
            const rd_kafka_topic_partition_t *c = &q->elems[i];
            if (c->err) continue;
            if (c->offset >= 0) {
                parts->elems[(intptr_t)c->opaque].offset = c->offset;
                lc_info(s->t->ctx, "%s-%d begins at offset %lld (committed)", c->topic,
                        (int)c->partition, (long long)c->offset);
            } else if (s->reset_ts) { /* ListOffsets reads -2 / -1 as earliest / latest */
                rd_kafka_topic_partition_t *e =
                    rd_kafka_topic_partition_list_add(r, c->topic, c->partition);
                e->offset = s->reset_ts;
                e->opaque = c->opaque;
            }
        }
    }
    int left = (int)(deadline - lc_now_ms());
    if (r->cnt && left > 0 &&
        rd_kafka_offsets_for_times(rk, r, left) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < r->cnt; i++) {
            const rd_kafka_topic_partition_t *c = &r->elems[i];
            if (c->err || c->offset < 0) continue;
            parts->elems[(intptr_t)c->opaque].offset = c->offset;
            lc_info(s->t->ctx,
                    "%s-%d begins at offset %lld (no committed offset; auto.offset.reset=%s)",
                    c->topic, (int)c->partition, (long long)c->offset,
                    s->reset_ts == -2 ? "earliest" : "latest");
        }
    }
    rd_kafka_topic_partition_list_destroy(r);
    rd_kafka_topic_partition_list_destroy(q);
}

/* auto.offset.reset of conf as the ListOffsets timestamp that finds its position: -2 for
 * earliest, -1 for latest; 0 for "error" (no reset position). */
static int64_t reset_ts_of(const rd_kafka_conf_t *conf)
{
    char v[32];
    size_t n = sizeof(v);
    if (rd_kafka_conf_get(conf, "auto.offset.reset", v, &n) != RD_KAFKA_CONF_OK) return 0;
    if (!strcmp(v, "smallest") || !strcmp(v, "earliest") || !strcmp(v, "beginning")) return -2;
    if (!strcmp(v, "largest") || !strcmp(v, "latest") || !strcmp(v, "end")) return -1;
    return 0;
}

/* The number of partitions assigned to the consumer now (sink-task partition-count). */
static uint64_t assigned_count(rd_kafka_t *rk)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts) return 0;
    uint64_t n = (uint64_t)parts->cnt;
    rd_kafka_topic_partition_list_destroy(parts);
    return n;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    snk_t *s = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        lc_info(s->t->ctx, "assigned %d partitions", parts->cnt);
        if (!s->failed) seek_to_script_offsets(s, parts);
        start_offsets(s, rk, parts);
        if (cooperative)
            rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
        else
            rd_kafka_assign(rk, parts);
        if (s->paused || s->redelivering) rd_kafka_pause_partitions(rk, parts);
        s->assigned = (int)assigned_count(rk);
        lc_task_metrics_set(&s->t->metrics, LC_TM_PARTITIONS, (uint64_t)s->assigned);
        return;
    }
    s->revocations++;
    /* Revoked: make everything put so far durable and commit it before letting go. */
    flush_commit(s);
    /* Then the script lets go of them (Kafka's SinkTask.close): e.g. drops uncommitted files. */
    if (!s->failed) {
        char why[4096];
        if (lc_sink_api_close_partitions(s->L, parts, why, sizeof(why)) != 0) {
            s->failed = 1;
            snprintf(s->error, sizeof(s->error), "stage TASK_PUT: close_partitions() failed: %s",
                     why);
        }
    }
    for (int i = 0; i < parts->cnt; i++)
        rd_kafka_topic_partition_list_del(s->pos, parts->elems[i].topic, parts->elems[i].partition);
    if (cooperative)
        rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
    else
        rd_kafka_assign(rk, NULL);
    s->assigned = (int)assigned_count(rk);
    lc_task_metrics_set(&s->t->metrics, LC_TM_PARTITIONS, (uint64_t)s->assigned);
}

/* While the consumer has no partitions, wakes librdkafka's main thread (an assignment query
 * is an op on its queue) so that a join waiting in its "init" state goes ahead now. In
 * librdkafka 2.0.2 a member whose SyncGroup failed (another member joined meanwhile, as the
 * tasks of one connector do at start) rejoins only at the main thread's next timed wake-up:
 * measured 1.95 s with 4 tasks, 0.1 s with this. */
static void nudge_join(snk_t *s)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(s->rk, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR && parts)
        rd_kafka_topic_partition_list_destroy(parts);
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

static void dlq_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    snk_t *s = opaque;
    (void)rk;
    if (m->err) lc_task_metrics_add(&s->t->metrics, LC_TM_DLQ_FAILURES, 1);
    if (m->err && !s->dlq_failed) {
        s->dlq_failed = 1;
        snprintf(s->dlq_error, sizeof(s->dlq_error), "%s", rd_kafka_err2str(m->err));
    }
}

/* Reports a tolerated failure of consumed message m: errors.log and the DLQ with the
 * original key, value and headers. 0, or -1 with errstr. */
static int report_failure(snk_t *s, const rd_kafka_message_t *m, const char *stage,
                          const char *class_name, const char *exception, const char *message,
                          const char *trace, char *errstr, size_t errsz)
{
    lc_connector_t *c = s->t->conn;
    char where[512];
    rd_kafka_headers_t *hdrs = NULL;
    rd_kafka_timestamp_type_t tstype;
    rd_kafka_message_headers(m, &hdrs);
    snprintf(where, sizeof(where), "topic %s partition %d offset %lld", rd_kafka_topic_name(m->rkt),
             (int)m->partition, (long long)m->offset);
    lc_failure_t f = {.stage = stage,
                      .class_name = class_name,
                      .exception_class = exception,
                      .message = message,
                      .trace = trace,
                      .where = where,
                      .topic = rd_kafka_topic_name(m->rkt),
                      .partition = m->partition,
                      .offset = m->offset,
                      .timestamp = rd_kafka_message_timestamp(m, &tstype),
                      .key = m->key,
                      .key_len = m->key_len,
                      .value = m->payload,
                      .value_len = m->len,
                      .headers = hdrs};
    int rc = lc_errors_report(&c->errors, c->name, s->t->id, s->t->ctx, s->dlq, &f, NULL,
                              &s->t->abort, errstr, errsz);
    lc_task_metrics_failure(&s->t->metrics, 1, c->errors.log_enable, rc == 1,
                            (uint64_t)lc_wall_ms());
    return rc < 0 ? -1 : 0;
}

/* Adds the record table of message m to the batch; 0, or -1 with errstr naming the stage,
 * *stage_out the stage and err the bare message (for tolerated failures). */
static int push_record(snk_t *s, lc_sink_batch_t *b, const rd_kafka_message_t *m, char *errstr,
                       size_t errsz, const char **stage_out, char *err, size_t err_size)
{
    lc_connector_t *c = s->t->conn;
    rd_kafka_timestamp_type_t tstype;
    rd_kafka_headers_t *hdrs = NULL;
    lc_sink_msg_t msg = {.topic = rd_kafka_topic_name(m->rkt),
                         .partition = m->partition,
                         .offset = m->offset,
                         .timestamp = rd_kafka_message_timestamp(m, &tstype),
                         .key = m->key,
                         .key_len = m->key_len,
                         .value = m->payload,
                         .value_len = m->len};
    /* librdkafka parses a message's header block (even an empty one) on every call: ~1,200
     * instructions a record, skipped when nothing in the task reads headers. */
    if (lc_sink_api_reads_headers(b) &&
        rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
        msg.headers = hdrs;
    if (lc_sink_api_add(b, &c->key_conv, &c->value_conv, &msg, stage_out, err, err_size) == 0)
        return 0;
    snprintf(errstr, errsz, "topic %s partition %d offset %lld: stage %s: %s", msg.topic,
             (int)m->partition, (long long)m->offset, *stage_out, err);
    return -1;
}

static void track_position(snk_t *s, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    lc_task_note_topic(s->t, topic); /* KIP-558: each consumed record's topic */
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(s->pos, topic, m->partition);
    if (!p) p = rd_kafka_topic_partition_list_add(s->pos, topic, m->partition);
    p->offset = m->offset + 1;
}

static int subscribe(snk_t *s, char *err, size_t errsz)
{
    lc_connector_t *c = s->t->conn;
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(c->ntopics);
    for (int i = 0; i < c->ntopics; i++) {
        if (c->topics[i][0] != '^') lc_kafka_ensure_topic(c->env->kafka, c->topics[i]);
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

/* A tolerated failure waiting to be reported, so reports follow the batch's order. */
typedef struct pending_failure {
    int bi; /* index in the batch */
    const char *stage, *class_name, *exception;
    char *message, *trace;
} pending_failure_t;

/* Seeks the consumer to the offsets of seek and frees it; a failure fails the task with
 * what it was for. */
static void seek_to(snk_t *s, rd_kafka_topic_partition_list_t *seek, const char *what)
{
    if (seek->cnt) {
        rd_kafka_error_t *e = rd_kafka_seek_partitions(s->rk, seek, 5000);
        if (e) {
            s->failed = 1;
            snprintf(s->error, sizeof(s->error), "%s: %s", what, rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    }
    rd_kafka_topic_partition_list_destroy(seek);
}

/* After a script reload: the new script's open_partitions() may choose where each assigned
 * partition continues (an exactly-once sink resumes from its own stored offsets). */
static void reopen_partitions(snk_t *s)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(s->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts) return;
    for (int i = 0; i < parts->cnt; i++)
        parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    if (parts->cnt) seek_to_script_offsets(s, parts);
    rd_kafka_topic_partition_list_t *seek = rd_kafka_topic_partition_list_new(parts->cnt + 1);
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].offset >= 0)
            rd_kafka_topic_partition_list_add(seek, parts->elems[i].topic,
                                              parts->elems[i].partition)
                ->offset = parts->elems[i].offset;
    seek_to(s, seek, "reload: seeking to the script's offsets");
    rd_kafka_topic_partition_list_destroy(parts);
}

/* Pauses or resumes every assigned partition. A paused consumer keeps polling, so it keeps
 * its group membership; librdkafka drops what it prefetched and fetches again from the
 * consumed position on resume, so nothing is skipped. */
static int set_paused(snk_t *s, int pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (pause && flush_commit(s) != 0) return -1;
    if (rd_kafka_assignment(s->rk, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (pause)
            rd_kafka_pause_partitions(s->rk, parts);
        else
            rd_kafka_resume_partitions(s->rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
    }
    s->paused = pause;
    lc_task_set_state(s->t, pause ? LC_TASK_PAUSED : LC_TASK_RUNNING, NULL);
    return 0;
}

/* Seeks the assigned partitions of a batch that is given up back to its first records, so
 * they are consumed again (revoked partitions start at their committed offsets anyway). */
static void rewind_batch(snk_t *s, rd_kafka_message_t **batch, int n)
{
    rd_kafka_topic_partition_list_t *parts = NULL, *seek = rd_kafka_topic_partition_list_new(n);
    if (rd_kafka_assignment(s->rk, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < n; i++) {
            const char *topic = rd_kafka_topic_name(batch[i]->rkt);
            if (rd_kafka_topic_partition_list_find(parts, topic, batch[i]->partition) &&
                !rd_kafka_topic_partition_list_find(seek, topic, batch[i]->partition))
                rd_kafka_topic_partition_list_add(seek, topic, batch[i]->partition)->offset =
                    batch[i]->offset;
        }
        rd_kafka_topic_partition_list_destroy(parts);
    }
    seek_to(s, seek, "rewinding a batch given up");
}

/* put() raised connect.retriable(msg): as Kafka's WorkerSinkTask does for a
 * RetriableException, every assigned partition is paused (no new records, but the consumer
 * keeps polling, so it stays in the group and serves rebalances), offsets of what was put
 * before are still committed on time, and after the next commit or the task.timeout(ms) the
 * script set the same records are delivered again. 0: deliver again; 1: the batch is given
 * up (the task stops, or partitions were revoked) and is consumed again later. */
static int wait_redelivery(snk_t *s, rd_kafka_message_t **batch, int n, const char *msg,
                           long timeout_ms)
{
    long flush_ms = s->t->conn->env->flush_ms;
    int revocations = s->revocations;
    long long until = s->last_commit + flush_ms, now = lc_now_ms();
    if (timeout_ms > 0 && now + timeout_ms < until) until = now + timeout_ms;
    if (!s->redelivering) {
        rd_kafka_topic_partition_list_t *parts = NULL;
        if (rd_kafka_assignment(s->rk, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_pause_partitions(s->rk, parts);
            rd_kafka_topic_partition_list_destroy(parts);
        }
        s->redelivering = 1;
    }
    lc_error(s->t->ctx,
             "put() raised a retriable error; its %d records are delivered again in %lld ms: %s", n,
             until > now ? until - now : 0, msg);
    while (!s->t->stop && s->revocations == revocations && !s->failed) {
        now = lc_now_ms();
        if (now >= s->last_commit + flush_ms && flush_commit(s) != 0) break;
        if (now >= until) return 0;
        rd_kafka_message_t *m =
            rd_kafka_consumer_poll(s->rk, (int)(until - now < 100 ? until - now : 100));
        if (m && !m->err) /* fetched before the pause: read it again after the batch */
            rd_kafka_seek(m->rkt, m->partition, m->offset, 0);
        if (m) rd_kafka_message_destroy(m);
    }
    if (s->revocations != revocations) rewind_batch(s, batch, n);
    return 1;
}

static int cmp_failure(const void *a, const void *b)
{
    return ((const pending_failure_t *)a)->bi - ((const pending_failure_t *)b)->bi;
}

/* The tolerated failures of a batch, as put_batch collects them. */
typedef struct failures {
    pending_failure_t *list; /* room for batch_max */
    int n, cap;
    const int *batch_index;
} failures_t;

/* A failure _sink_put reported (lc_sink_failure_fn). */
static int add_put_failure(void *opaque, int index, int put, const char *class_name,
                           const char *message, const char *trace)
{
    failures_t *fs = opaque;
    /* class names belong to the chain or the script definition and outlive this call */
    fs->list[fs->n++] = (pending_failure_t){fs->batch_index[index],
                                            put ? "TASK_PUT" : "TRANSFORMATION",
                                            class_name,
                                            "luaconnect.LuaError",
                                            strdup(message),
                                            strdup(trace)};
    return fs->n >= fs->cap;
}

/* What build_one needs of put_batch. */
typedef struct build {
    snk_t *s;
    rd_kafka_message_t **batch;
    failures_t *fs;
    int *batch_index;
    char *errstr;
    size_t errsz;
    char *msg;
    size_t msg_size;
} build_t;

/* Adds message i of the batch as a record (lc_sink_each_fn); a converter failure becomes a
 * pending failure with errors.tolerance=all, else stops the batch (1, errstr set). */
static int build_one(void *opaque, int i, lc_sink_batch_t *b)
{
    build_t *bl = opaque;
    lc_connector_t *c = bl->s->t->conn;
    const char *stage = NULL;
    if (!push_record(bl->s, b, bl->batch[i], bl->errstr, bl->errsz, &stage, bl->msg,
                     bl->msg_size)) {
        bl->batch_index[b->n] = i;
        return 0;
    }
    if (!c->errors.tolerant) return 1;
    bl->fs->list[bl->fs->n++] = (pending_failure_t){
        i,
        stage,
        strcmp(stage, "KEY_CONVERTER") == 0 ? c->key_conv_class : c->value_conv_class,
        "org.apache.kafka.connect.errors.DataException",
        strdup(bl->msg),
        NULL};
    return 0;
}

/* Converts a batch, runs chain + put() in one call into Lua, and reports tolerated failures
 * with the original messages, in batch order. 0, or -1 with errstr. */
static int put_batch(snk_t *s, rd_kafka_message_t **batch, int n, char *errstr, size_t errsz)
{
    int *batch_index = s->batch_index, rc = -1;
    failures_t fs = {.list = s->fail_list, .n = 0, .cap = s->batch_max, .batch_index = batch_index};
    pending_failure_t *fails = fs.list;
    lc_sink_batch_t b;
    char msg[2048];
    lc_sink_api_begin(&b, s->L, n);
    lc_task_metrics_add(&s->t->metrics, LC_TM_READ_TOTAL, (uint64_t)n);
    build_t bl = {s, batch, &fs, batch_index, errstr, errsz, msg, sizeof(msg)};
    int built = lc_sink_api_build(&b, n, build_one, &bl, errstr, errsz);
    if (built != 0) { /* a converter failed without errors.tolerance, or a Lua error */
        lc_task_metrics_failure(&s->t->metrics, 0, 0, 0, (uint64_t)lc_wall_ms());
        goto out;
    }
    const char *retry_msg = NULL;
    long retry_timeout = 0;
    uint64_t t0 = lc_task_metrics_now_ns();
    int retried = 0, rc_put = lc_sink_api_put(&b, &retry_msg, &retry_timeout, errstr, errsz);
    while (rc_put == 1) { /* put() raised connect.retriable() */
        int gave_up = wait_redelivery(s, batch, n, retry_msg, retry_timeout);
        retried++;
        lc_task_metrics_add(&s->t->metrics, LC_TM_RETRIES, 1);
        if (gave_up) {
            rc = 0; /* nothing of the batch counts as put: it is consumed again */
            goto resume;
        }
        rc_put = lc_sink_api_redeliver(&b, &retry_msg, &retry_timeout, errstr, errsz);
    }
    if (rc_put != 0) {
        lc_task_metrics_failure(&s->t->metrics, 0, 0, 0, (uint64_t)lc_wall_ms());
        if (!strstr(errstr, ": stage ")) {
            char tmp[8192];
            snprintf(tmp, sizeof(tmp), "stage TASK_PUT: %s", errstr);
            snprintf(errstr, errsz, "%s", tmp);
        }
        goto out;
    }
    if (retried) lc_info(s->t->ctx, "the %d records were delivered after %d retries", n, retried);
    for (int i = 0; i < n; i++)
        track_position(s, batch[i]);
    lc_task_metrics_batch(&s->t->metrics, (uint64_t)b.n, lc_task_metrics_now_ns() - t0);
    int before = fs.n;
    lc_sink_api_failures(&b, add_put_failure, &fs);
    lc_task_metrics_add(&s->t->metrics, LC_TM_SEND_TOTAL, (uint64_t)(b.n - (fs.n - before)));
    lc_task_metrics_active(&s->t->metrics, 0);
    qsort(fails, (size_t)fs.n, sizeof(*fails), cmp_failure);
    rc = 0;
    for (int k = 0; k < fs.n && rc == 0; k++)
        rc = report_failure(s, batch[fails[k].bi], fails[k].stage, fails[k].class_name,
                            fails[k].exception, fails[k].message, fails[k].trace, errstr, errsz);
resume:
    if (s->redelivering) { /* the partitions the task itself paused stay paused */
        rd_kafka_topic_partition_list_t *parts = NULL;
        if (!s->paused && rd_kafka_assignment(s->rk, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_resume_partitions(s->rk, parts);
            rd_kafka_topic_partition_list_destroy(parts);
        }
        s->redelivering = 0;
    }
out:
    for (int k = 0; k < fs.n; k++) {
        free(fails[k].message);
        free(fails[k].trace);
    }
    lc_sink_api_end(&b);
    return rc;
}

/* max.poll.records (consumer.override., else the worker's consumer.): how many records a
 * batch, one put(), holds at most, as the Java consumer's poll() returns at most that many. */
static int batch_size(snk_t *s, lc_kafka_t *k, const lc_props_t *props, char *errstr, size_t errsz)
{
    const char *origin = NULL;
    const char *v = lc_kafka_client_setting(k, props, 0, "max.poll.records", &origin);
    s->batch_max = SINK_BATCH_DEFAULT;
    if (!v) return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < 1 || n > SINK_BATCH_LIMIT) {
        snprintf(errstr, errsz, "%s 'max.poll.records': expected an integer from 1 to %d, got '%s'",
                 origin, SINK_BATCH_LIMIT, v);
        return -1;
    }
    s->batch_max = (int)n;
    return 0;
}

void *lc_sink_task_main(void *arg)
{
    lc_task_t *t = arg;
    const lc_task_env_t *env = t->conn->env;
    snk_t s = {.t = t};
    char err[8192];
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_message_t **batch = NULL;
    lc_prefetch_t *pf = NULL; /* wakes the fetcher once a full prefetch queue drained */

    s.pos = rd_kafka_topic_partition_list_new(16);
    if (batch_size(&s, env->kafka, t->conn->props, err, sizeof(err)) != 0) goto fail;
    batch = malloc((size_t)s.batch_max * sizeof(*batch));
    s.fail_list = malloc((size_t)s.batch_max * sizeof(*s.fail_list));
    s.batch_index = malloc(((size_t)s.batch_max + 1) * sizeof(*s.batch_index));
    if (!batch || !s.fail_list || !s.batch_index) {
        snprintf(err, sizeof(err), "out of memory for a batch of %d records", s.batch_max);
        goto fail;
    }
    s.L = lc_task_open_lua(t, err, sizeof(err));
    if (!s.L) goto fail;
    conf =
        lc_kafka_client_conf(env->kafka, t->conn->name, t->id, t->conn->props, 0, err, sizeof(err));
    if (!conf) goto fail;
    if (lc_kafka_share_prefetch(conf, env->kafka, t->conn->props, t->conn->ntasks, err,
                                sizeof(err)))
        goto fail;
    rd_kafka_conf_set_opaque(conf, &s);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    s.reset_ts = reset_ts_of(conf);
    size_t glen = sizeof(s.group);
    if (rd_kafka_conf_get(conf, "group.id", s.group, &glen) != RD_KAFKA_CONF_OK) s.group[0] = 0;
    s.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!s.rk) goto fail;
    conf = NULL;
    rd_kafka_poll_set_consumer(s.rk);
    pf = lc_prefetch_new(s.rk);
    if (t->conn->errors.dlq_topic) {
        rd_kafka_conf_t *dconf = lc_kafka_client_conf(env->kafka, t->conn->name, t->id,
                                                      t->conn->props, 1, err, sizeof(err));
        if (!dconf) goto fail;
        rd_kafka_conf_set_opaque(dconf, &s);
        rd_kafka_conf_set_dr_msg_cb(dconf, dlq_dr_cb);
        s.dlq = rd_kafka_new(RD_KAFKA_PRODUCER, dconf, err, sizeof(err));
        if (!s.dlq) {
            rd_kafka_conf_destroy(dconf);
            goto fail;
        }
        if (lc_errors_ensure_dlq(&t->conn->errors, t->conn->env->kafka, s.dlq, err, sizeof(err)) !=
            0)
            goto fail;
    }
    if (subscribe(&s, err, sizeof(err)) != 0) goto fail;
    s.last_commit = lc_now_ms();
    lc_task_set_state(t, LC_TASK_RUNNING, NULL);

    long flush_ms = env->flush_ms;
    while (!t->stop) {
        int n = 0;
        if (t->pause != s.paused && set_paused(&s, t->pause) != 0) goto fail_s;
        if (atomic_load_explicit(&t->swap_conn, memory_order_acquire) && !t->stop) {
            int full = t->swap_mode == LC_SWAP_FULL;
            /* Everything put so far is flushed and committed before the old script closes. */
            if (full && flush_commit(&s) != 0) goto fail_s;
            if (lc_task_take_swap(t, &s.L, err, sizeof(err)) != 0) goto fail;
            if (full) reopen_partitions(&s);
            if (s.failed) goto fail_s;
            continue;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s.rk, 100);
        while (m) {
            if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
                /* auto.offset.reset=none and nowhere to begin (no committed offset, or it
                 * is out of range): Kafka Connect's task fails too
                 * (NoOffsetForPartitionException). */
                snprintf(s.error, sizeof(s.error),
                         "Undefined offset with no reset policy for partition %s-%d: %s "
                         "(auto.offset.reset=none); commit an offset for group '%s' or set "
                         "consumer.override.auto.offset.reset=earliest or latest",
                         m->rkt ? rd_kafka_topic_name(m->rkt) : "?", (int)m->partition,
                         rd_kafka_message_errstr(m), s.group);
                rd_kafka_message_destroy(m);
                s.failed = 1;
                break;
            } else if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    lc_warn(t->ctx, "consumer: %s", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
            } else {
                batch[n++] = m;
            }
            if (n == s.batch_max) break;
            m = rd_kafka_consumer_poll(s.rk, 0);
        }
        lc_prefetch_tick(pf, batch, n);
        if (!n && !s.assigned) nudge_join(&s);
        if (s.failed) { /* in a rebalance callback or by the consumer's error above */
            for (int i = 0; i < n; i++)
                rd_kafka_message_destroy(batch[i]);
            goto fail_s;
        }
        if (n) {
            int bad = put_batch(&s, batch, n, err, sizeof(err));
            for (int i = 0; i < n; i++)
                rd_kafka_message_destroy(batch[i]);
            if (bad) goto fail;
            s.dirty = 1;
        }
        /* Kafka calls put() with no records when none came; idle() is that call, at most
         * once a second (a sink rotating files on the clock needs it). */
        if (!n && lc_now_ms() - s.last_idle >= 1000) {
            s.last_idle = lc_now_ms();
            if (lc_sink_api_idle(s.L, err, sizeof(err)) != 0) {
                snprintf(s.error, sizeof(s.error), "stage TASK_PUT: idle() failed: %s", err);
                goto fail_s;
            }
        }
        if (s.dlq) rd_kafka_poll(s.dlq, 0);
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
    lc_prefetch_destroy(pf);
    if (s.rk) {
        rd_kafka_consumer_close(s.rk);
        rd_kafka_destroy(s.rk);
    }
    if (s.dlq) {
        rd_kafka_flush(s.dlq, (int)env->shutdown_ms);
        rd_kafka_destroy(s.dlq);
    }
    if (conf) rd_kafka_conf_destroy(conf);
    lc_task_close_lua(t, s.L);
    rd_kafka_topic_partition_list_destroy(s.pos);
    free(batch);
    free(s.fail_list);
    free(s.batch_index);
    if (!s.failed) lc_task_set_state(t, LC_TASK_STOPPED, NULL);
    return NULL;
}
