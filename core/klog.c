/* klog: see klog.h. */
#include "klog.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lc_klog {
    char *topic;
    rd_kafka_t *consumer, *producer;
    int partitions;
    lc_klog_fn fn;
    void *arg;
    pthread_t thread;
    int started;
    atomic_int stop;
    pthread_mutex_t mu; /* guards positions and delivery */
    pthread_cond_t cv;
    int64_t *position; /* next offset the reader will hand to fn, per partition */
    long pending;      /* sends not yet acknowledged */
    char failure[512]; /* the first failed delivery since the last flush */
};

static int set(rd_kafka_conf_t *conf, const char *key, const char *value, const char *topic,
               char *errstr, size_t errsz)
{
    char what[300];
    snprintf(what, sizeof(what), "topic '%s': client setting", topic);
    return lc_kafka_set(conf, what, key, value, errstr, errsz);
}

/* The client settings of the worker's <prefix>* keys (Kafka Connect's config.storage.* etc.),
 * without the topic-level ones. */
static int pass_through(rd_kafka_conf_t *conf, const lc_klog_opts_t *o, int producer, char *errstr,
                        size_t errsz)
{
    if (!o->worker_props || !o->prefix) return 0;
    size_t pl = strlen(o->prefix);
    for (size_t i = 0; i < lc_props_count(o->worker_props); i++) {
        const char *k = lc_props_key(o->worker_props, i);
        if (strncmp(k, o->prefix, pl) != 0) continue;
        const char *rest = k + pl;
        if (strcmp(rest, "topic") == 0 || strcmp(rest, "partitions") == 0 ||
            strcmp(rest, "replication.factor") == 0)
            continue;
        /* Consumer-only or producer-only keys are skipped on the other client. */
        char err[512];
        rd_kafka_conf_res_t r =
            rd_kafka_conf_set(conf, rest, lc_props_value(o->worker_props, i), err, sizeof(err));
        if (r == RD_KAFKA_CONF_INVALID) {
            snprintf(errstr, errsz, "worker config key '%s': %s", k, err);
            return -1;
        }
        (void)producer;
    }
    return 0;
}

static rd_kafka_conf_t *base_conf(lc_kafka_t *k, const lc_klog_opts_t *o, const char *suffix,
                                  char *errstr, size_t errsz)
{
    char cid[512];
    snprintf(cid, sizeof(cid), "%s%s", o->client_id ? o->client_id : "luaconnect-log", suffix);
    return lc_kafka_internal_conf(k, cid, errstr, errsz);
}

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    lc_klog_t *l = opaque;
    (void)rk;
    pthread_mutex_lock(&l->mu);
    l->pending--;
    if (m->err && !l->failure[0])
        snprintf(l->failure, sizeof(l->failure), "cannot write to topic '%s': %s", l->topic,
                 rd_kafka_err2str(m->err));
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static void *reader(void *arg)
{
    lc_klog_t *l = arg;
    while (!atomic_load(&l->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(l->consumer, 100);
        if (!m) {
            /* Idle: every record polled so far went to fn, so the consumer's own position is
             * where the log stands — past transaction markers and compaction gaps too. */
            rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_new(l->partitions);
            for (int p = 0; p < l->partitions; p++)
                rd_kafka_topic_partition_list_add(q, l->topic, p);
            if (rd_kafka_position(l->consumer, q) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                pthread_mutex_lock(&l->mu);
                for (int i = 0; i < q->cnt; i++) {
                    int p = q->elems[i].partition;
                    if (p >= 0 && p < l->partitions && q->elems[i].offset > l->position[p])
                        l->position[p] = q->elems[i].offset;
                }
                pthread_cond_broadcast(&l->cv);
                pthread_mutex_unlock(&l->mu);
            }
            rd_kafka_topic_partition_list_destroy(q);
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                lc_debug(NULL, "topic '%s': %s", l->topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        l->fn(l->arg, m->partition, m->offset, m->key, m->key_len, m->payload, m->len);
        pthread_mutex_lock(&l->mu);
        if (m->partition >= 0 && m->partition < l->partitions)
            l->position[m->partition] = m->offset + 1;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

static int partition_count(rd_kafka_t *rk, const char *topic, char *errstr, size_t errsz)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    int n = -1;
    for (int attempt = 0; attempt < 20 && n < 0; attempt++) {
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, 5000);
        if (err) {
            snprintf(errstr, errsz, "topic '%s': cannot read its metadata: %s", topic,
                     rd_kafka_err2str(err));
        } else if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0) {
            n = md->topics[0].partition_cnt;
        } else {
            snprintf(errstr, errsz, "topic '%s': %s", topic,
                     md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
        }
        if (md) rd_kafka_metadata_destroy(md);
        md = NULL;
        if (n < 0) {
            struct timespec ts = {0, 250 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    rd_kafka_topic_destroy(t);
    return n;
}

lc_klog_t *lc_klog_start(lc_kafka_t *k, const lc_klog_opts_t *o, char *errstr, size_t errsz)
{
    lc_klog_t *l = calloc(1, sizeof(*l));
    char err[512];
    l->topic = strdup(o->topic);
    l->fn = o->fn;
    l->arg = o->arg;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    rd_kafka_conf_t *conf = base_conf(k, o, "-reader", errstr, errsz);
    if (!conf) goto fail;
    if (set(conf, "group.id", "luaconnect-klog-unused", o->topic, errstr, errsz) ||
        set(conf, "enable.auto.commit", "false", o->topic, errstr, errsz) ||
        set(conf, "enable.auto.offset.store", "false", o->topic, errstr, errsz) ||
        set(conf, "enable.partition.eof", "false", o->topic, errstr, errsz) ||
        set(conf, "isolation.level", "read_committed", o->topic, errstr, errsz) ||
        set(conf, "auto.offset.reset", "earliest", o->topic, errstr, errsz) ||
        set(conf, "fetch.wait.max.ms", "100", o->topic, errstr, errsz) ||
        pass_through(conf, o, 0, errstr, errsz)) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    l->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!l->consumer) {
        rd_kafka_conf_destroy(conf);
        snprintf(errstr, errsz, "topic '%s': %s", o->topic, err);
        goto fail;
    }
    rd_kafka_poll_set_consumer(l->consumer);
    l->partitions = partition_count(l->consumer, o->topic, errstr, errsz);
    if (l->partitions <= 0) goto fail;
    l->position = calloc((size_t)l->partitions, sizeof(int64_t));
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(l->partitions);
    for (int p = 0; p < l->partitions; p++)
        rd_kafka_topic_partition_list_add(parts, o->topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t e = rd_kafka_assign(l->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        snprintf(errstr, errsz, "topic '%s': cannot read it: %s", o->topic, rd_kafka_err2str(e));
        goto fail;
    }
    if (o->producer) {
        conf = base_conf(k, o, "-writer", errstr, errsz);
        if (!conf) goto fail;
        if (set(conf, "acks", "all", o->topic, errstr, errsz) ||
            set(conf, "enable.idempotence", "true", o->topic, errstr, errsz) ||
            set(conf, "partitioner", "murmur2_random", o->topic, errstr, errsz) ||
            set(conf, "linger.ms", "0", o->topic, errstr, errsz)) {
            rd_kafka_conf_destroy(conf);
            goto fail;
        }
        rd_kafka_conf_set_opaque(conf, l);
        rd_kafka_conf_set_dr_msg_cb(conf, delivered);
        l->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!l->producer) {
            rd_kafka_conf_destroy(conf);
            snprintf(errstr, errsz, "topic '%s': %s", o->topic, err);
            goto fail;
        }
    }
    if (pthread_create(&l->thread, NULL, reader, l) != 0) {
        snprintf(errstr, errsz, "topic '%s': cannot start its reader thread", o->topic);
        goto fail;
    }
    l->started = 1;
    return l;
fail:
    lc_klog_stop(l);
    return NULL;
}

int lc_klog_partitions(const lc_klog_t *l)
{
    return l->partitions;
}

int lc_klog_read_to_end(lc_klog_t *l, int timeout_ms, char *errstr, size_t errsz)
{
    int64_t *end = calloc((size_t)l->partitions, sizeof(int64_t));
    for (int p = 0; p < l->partitions; p++) {
        int64_t lo = 0, hi = 0;
        /* read_committed: the end is the last stable offset, which the high watermark bounds;
         * a fetch reaches past transaction markers, so compare positions with it. */
        rd_kafka_resp_err_t e;
        /* A topic just created has no partition leader for a moment: retry until timeout. */
        long long give_up = lc_now_ms() + timeout_ms;
        while ((e = rd_kafka_query_watermark_offsets(l->consumer, l->topic, p, &lo, &hi,
                                                     timeout_ms)) != RD_KAFKA_RESP_ERR_NO_ERROR &&
               lc_now_ms() < give_up && !atomic_load(&l->stop)) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (e) {
            snprintf(errstr, errsz, "topic '%s' partition %d: cannot read its end offset: %s",
                     l->topic, p, rd_kafka_err2str(e));
            free(end);
            return -1;
        }
        end[p] = hi;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) deadline.tv_sec++, deadline.tv_nsec -= 1000000000L;
    int rc = 0;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        int behind = -1;
        for (int p = 0; p < l->partitions && behind < 0; p++) {
            int64_t pos = l->position[p];
            if (pos < end[p]) behind = p;
        }
        if (behind < 0) break;
        if (pthread_cond_timedwait(&l->cv, &l->mu, &deadline) != 0) {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            if (now.tv_sec > deadline.tv_sec ||
                (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
                snprintf(errstr, errsz,
                         "topic '%s' partition %d: not read to its end (%lld) within %d ms",
                         l->topic, behind, (long long)end[behind], timeout_ms);
                rc = -1;
                break;
            }
        }
    }
    pthread_mutex_unlock(&l->mu);
    free(end);
    return rc;
}

int lc_klog_send(lc_klog_t *l, const void *key, size_t keylen, const void *value, size_t vallen,
                 int32_t partition, char *errstr, size_t errsz)
{
    if (!l->producer) {
        snprintf(errstr, errsz, "topic '%s': this log has no producer", l->topic);
        return -1;
    }
    pthread_mutex_lock(&l->mu);
    l->pending++;
    pthread_mutex_unlock(&l->mu);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        l->producer, RD_KAFKA_V_TOPIC(l->topic),
        RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_KEY((void *)key, keylen), RD_KAFKA_V_VALUE((void *)value, value ? vallen : 0),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e) {
        pthread_mutex_lock(&l->mu);
        l->pending--;
        pthread_mutex_unlock(&l->mu);
        snprintf(errstr, errsz, "cannot write to topic '%s': %s", l->topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

int lc_klog_flush(lc_klog_t *l, int timeout_ms, char *errstr, size_t errsz)
{
    if (!l->producer) return 0;
    rd_kafka_flush(l->producer, timeout_ms); /* serves the delivery callbacks */
    pthread_mutex_lock(&l->mu);
    int rc = 0;
    if (l->pending > 0) {
        snprintf(errstr, errsz, "topic '%s': %ld records not acknowledged within %d ms", l->topic,
                 l->pending, timeout_ms);
        rc = -1;
    } else if (l->failure[0]) {
        snprintf(errstr, errsz, "%s", l->failure);
        rc = -1;
    }
    l->failure[0] = 0;
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void lc_klog_stop(lc_klog_t *l)
{
    if (!l) return;
    atomic_store(&l->stop, 1);
    if (l->started) pthread_join(l->thread, NULL);
    if (l->producer) {
        rd_kafka_flush(l->producer, 5000);
        rd_kafka_destroy(l->producer);
    }
    if (l->consumer) {
        rd_kafka_consumer_close(l->consumer);
        rd_kafka_destroy(l->consumer);
    }
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l->position);
    free(l->topic);
    free(l);
}
