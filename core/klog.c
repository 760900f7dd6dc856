/* klog: see klog.h. */
#include "klog.h"
#include "java_conf.h"
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Connect's KafkaBasedLog waits this long for the topic's partitions to show up. */
#define LC_KLOG_METADATA_MS 30000

struct lc_klog {
    char *topic;
    lc_klog_fn fn;
    void *arg;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    rd_kafka_topic_partition_list_t *parts; /* every partition, for rd_kafka_position */
    int nparts;
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cond;
    int64_t *done;         /* per partition: position after the records fn has returned from */
    int waiters;           /* read_to_end calls waiting: the reader publishes positions only then */
    char consume_err[512]; /* last consumer error, for a read_to_end that times out */
    pthread_mutex_t dr_mu;
    char send_err[512]; /* first delivery failure since the last flush */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr,
               size_t errsz)
{
    char err[512];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) == RD_KAFKA_CONF_OK) return 0;
    snprintf(errstr, errsz, "'%s': %s", key, err);
    return -1;
}

/* Keys under the prefix that name the topic rather than a client setting. */
static int topic_key(const char *rest)
{
    static const char *const keys[] = {"topic", "partitions", "replication.factor", "file.filename",
                                       NULL};
    for (const char *const *k = keys; *k; k++)
        if (strcmp(rest, *k) == 0) return 1;
    return 0;
}

/* The worker's security settings (as Connect hands its internal clients the worker's
 * originals) and the prefix's client settings. A key librdkafka does not know is a Java-only
 * or topic-level setting (internal_topics passes those to the topic): skipped. */
static int apply_worker(rd_kafka_conf_t *conf, const lc_klog_opts_t *o, char *errstr, size_t errsz)
{
    const lc_props_t *p = o->worker_props;
    size_t pl = o->prefix ? strlen(o->prefix) : 0;
    for (size_t i = 0; p && i < lc_props_count(p); i++) {
        const char *key = lc_props_key(p, i), *name = NULL;
        if (strncmp(key, "security.", 9) == 0 || strncmp(key, "sasl.", 5) == 0 ||
            strncmp(key, "ssl.", 4) == 0)
            name = key;
        else if (pl && strncmp(key, o->prefix, pl) == 0 && key[pl] && !topic_key(key + pl))
            name = key + pl;
        if (!name) continue;
        char err[512];
        rd_kafka_conf_res_t r =
            lc_java_conf_set(conf, name, lc_props_value(p, i), err, sizeof(err));
        if (r == RD_KAFKA_CONF_INVALID) {
            snprintf(errstr, errsz, "worker config '%s': %s", key, err);
            return -1;
        }
    }
    return 0;
}

static rd_kafka_conf_t *base_conf(lc_kafka_t *k, const lc_klog_opts_t *o, const char *role,
                                  char *errstr, size_t errsz)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char cid[512];
    snprintf(cid, sizeof(cid), "%s", o->client_id ? o->client_id : o->topic);
    if (set(conf, "bootstrap.servers", lc_kafka_bootstrap(k), errstr, errsz) ||
        set(conf, "client.id", cid, errstr, errsz) || set(conf, "log_level", "4", errstr, errsz))
        goto err;
    if (strcmp(role, "consumer") == 0) {
        /* librdkafka 2.0.2's rd_kafka_assign() fails with "Unknown group" without a group.id;
         * the log never joins, commits or fetches offsets of this group (assign from the
         * beginning, no commits), so a name of its own keeps it clear of the worker's. */
        char group[600];
        snprintf(group, sizeof(group), "luaconnect-klog-%s", cid);
        if (set(conf, "group.id", group, errstr, errsz)) goto err;
        static const char *const d[] = {"enable.auto.commit", "false", "enable.auto.offset.store",
                                        "false", "enable.partition.eof", "false", "isolation.level",
                                        "read_committed", "auto.offset.reset", "earliest",
                                        /* a log is read whenever it changes: no idle wait */
                                        "fetch.wait.max.ms", "100", NULL};
        for (const char *const *kv = d; *kv; kv += 2)
            if (set(conf, kv[0], kv[1], errstr, errsz)) goto err;
    } else {
        static const char *const d[] = {"acks",      "all",         "enable.idempotence",
                                        "true",      "partitioner", "murmur2_random",
                                        "linger.ms", "1",           NULL};
        for (const char *const *kv = d; *kv; kv += 2)
            if (set(conf, kv[0], kv[1], errstr, errsz)) goto err;
    }
    if (apply_worker(conf, o, errstr, errsz)) goto err;
    return conf;
err:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    lc_klog_t *l = opaque;
    if (!m->err) return;
    pthread_mutex_lock(&l->dr_mu);
    if (!l->send_err[0])
        snprintf(l->send_err, sizeof(l->send_err), "topic '%s' partition %d: %s", l->topic,
                 (int)m->partition, rd_kafka_err2str(m->err));
    pthread_mutex_unlock(&l->dr_mu);
}

/* The partition count, waiting for a topic just created to show up in the metadata. */
static int partition_count(lc_klog_t *l, char *errstr, size_t errsz)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(l->consumer, l->topic, NULL);
    int64_t deadline = now_ms() + LC_KLOG_METADATA_MS;
    int n = -1;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    while (rkt && n < 0) {
        const struct rd_kafka_metadata *md = NULL;
        err = rd_kafka_metadata(l->consumer, 0, rkt, &md, 5000);
        if (!err && md->topic_cnt == 1) {
            err = md->topics[0].err;
            if (!err && md->topics[0].partition_cnt > 0) n = md->topics[0].partition_cnt;
        }
        if (md) rd_kafka_metadata_destroy(md);
        if (n > 0 || now_ms() >= deadline) break;
        struct timespec ts = {0, 200 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (rkt) rd_kafka_topic_destroy(rkt);
    if (n < 0)
        snprintf(errstr, errsz,
                 "Could not look up partition metadata for topic '%s' in allotted period (%s). "
                 "This could indicate a connectivity issue, unavailable topic partitions, or if "
                 "this is your first use of the topic it may have taken too long to create.",
                 l->topic, rd_kafka_err2str(err));
    return n;
}

/* Publishes the positions: each covers only records fn has returned from, because this
 * thread is the only one that polls and it asks after fn returned. */
static void publish(lc_klog_t *l)
{
    rd_kafka_position(l->consumer, l->parts);
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < l->nparts; i++)
        l->done[i] = l->parts->elems[i].offset;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
}

static void *reader(void *arg)
{
    lc_klog_t *l = arg;
    while (!atomic_load(&l->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(l->consumer, 100);
        if (m) {
            if (m->err) {
                pthread_mutex_lock(&l->mu);
                snprintf(l->consume_err, sizeof(l->consume_err), "%s", rd_kafka_message_errstr(m));
                pthread_mutex_unlock(&l->mu);
            } else {
                l->fn(l->arg, m->partition, m->offset, m->key, m->key ? m->key_len : 0, m->payload,
                      m->payload ? m->len : 0);
            }
            rd_kafka_message_destroy(m);
        }
        pthread_mutex_lock(&l->mu);
        int waiting = l->waiters > 0;
        pthread_mutex_unlock(&l->mu);
        if (waiting) publish(l);
    }
    return NULL;
}

lc_klog_t *lc_klog_start(lc_kafka_t *k, const lc_klog_opts_t *o, char *errstr, size_t errsz)
{
    lc_klog_t *l = calloc(1, sizeof(*l));
    char err[512];
    if (!l) {
        snprintf(errstr, errsz, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cond, NULL);
    pthread_mutex_init(&l->dr_mu, NULL);
    l->topic = strdup(o->topic);
    l->fn = o->fn;
    l->arg = o->arg;
    rd_kafka_conf_t *conf = base_conf(k, o, "consumer", err, sizeof(err));
    if (conf && !(l->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))))
        rd_kafka_conf_destroy(conf);
    if (!l->consumer) {
        snprintf(errstr, errsz, "topic '%s': consumer: %s", o->topic, err);
        goto err;
    }
    rd_kafka_poll_set_consumer(l->consumer);
    if ((l->nparts = partition_count(l, errstr, errsz)) < 0) goto err;
    l->parts = rd_kafka_topic_partition_list_new(l->nparts);
    l->done = calloc((size_t)l->nparts, sizeof(*l->done));
    for (int i = 0; i < l->nparts; i++) {
        rd_kafka_topic_partition_list_add(l->parts, l->topic, i)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        l->done[i] = RD_KAFKA_OFFSET_INVALID;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(l->consumer, l->parts);
    if (e) {
        snprintf(errstr, errsz, "topic '%s': assign: %s", o->topic, rd_kafka_err2str(e));
        goto err;
    }
    if (o->producer) {
        conf = base_conf(k, o, "producer", err, sizeof(err));
        if (conf) {
            rd_kafka_conf_set_opaque(conf, l);
            rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
            if (!(l->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))))
                rd_kafka_conf_destroy(conf);
        }
        if (!l->producer) {
            snprintf(errstr, errsz, "topic '%s': producer: %s", o->topic, err);
            goto err;
        }
    }
    if (pthread_create(&l->thread, NULL, reader, l) != 0) {
        snprintf(errstr, errsz, "topic '%s': cannot start the reader thread", o->topic);
        goto err;
    }
    l->thread_started = 1;
    return l;
err:
    lc_klog_stop(l);
    return NULL;
}

/* The end offset of every partition into hw (-1: empty), in one ListOffsets round trip per
 * try (timestamp -1: the end; under read_committed the last stable offset, as Java's
 * endOffsets()); rd_kafka_query_watermark_offsets costs ~100 ms per partition, 2.5 s for the
 * 25 offsets partitions. A topic created a moment ago answers "not leader" for a while:
 * asked again until the deadline. */
static int end_offsets(lc_klog_t *l, int64_t *hw, int64_t deadline, char *errstr, size_t errsz)
{
    for (;;) {
        rd_kafka_topic_partition_list_t *ends = rd_kafka_topic_partition_list_copy(l->parts);
        for (int i = 0; i < ends->cnt; i++)
            ends->elems[i].offset = RD_KAFKA_OFFSET_END;
        int64_t left = deadline - now_ms();
        rd_kafka_resp_err_t e =
            rd_kafka_offsets_for_times(l->consumer, ends, left > 0 ? (int)left : 1);
        if (e)
            snprintf(errstr, errsz, "topic '%s': cannot read the end offsets: %s", l->topic,
                     rd_kafka_err2str(e));
        for (int i = 0; !e && i < ends->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &ends->elems[i];
            if (tp->err) {
                e = tp->err;
                snprintf(errstr, errsz, "topic '%s' partition %d: cannot read the end offset: %s",
                         l->topic, (int)tp->partition, rd_kafka_err2str(e));
            } else if (tp->partition >= 0 && tp->partition < l->nparts) {
                /* an empty partition has nothing to read (nor a position to compare) */
                hw[tp->partition] = tp->offset > 0 ? tp->offset : -1;
            }
        }
        rd_kafka_topic_partition_list_destroy(ends);
        if (!e) return 0;
        if (now_ms() + 100 >= deadline) return -1;
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
}

int lc_klog_read_to_end(lc_klog_t *l, int timeout_ms, char *errstr, size_t errsz)
{
    int64_t deadline = now_ms() + timeout_ms;
    int64_t *hw = calloc((size_t)l->nparts, sizeof(*hw));
    int rc = -1;
    if (!hw) {
        snprintf(errstr, errsz, "out of memory");
        return -1;
    }
    /* One ListOffsets round trip for every partition (timestamp -1: the end offset; under
     * read_committed the last stable offset, as Java's endOffsets()): the per-partition
     * rd_kafka_query_watermark_offsets costs ~100 ms each, 2.5 s for the 25 offsets
     * partitions. */
    if (end_offsets(l, hw, deadline, errstr, errsz)) goto out;
    pthread_mutex_lock(&l->mu);
    l->waiters++;
    for (;;) {
        int behind = -1;
        for (int i = 0; i < l->nparts && behind < 0; i++)
            if (hw[i] >= 0 && l->done[i] < hw[i]) behind = i;
        if (behind < 0) {
            rc = 0;
            break;
        }
        int64_t now = now_ms();
        if (now >= deadline) {
            snprintf(errstr, errsz,
                     "topic '%s': not read to the end within %d ms (partition %d at offset "
                     "%lld of %lld)%s%s",
                     l->topic, timeout_ms, behind, (long long)l->done[behind],
                     (long long)hw[behind], l->consume_err[0] ? ": " : "", l->consume_err);
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t wait = deadline - now < 100 ? deadline - now : 100;
        ts.tv_nsec += (long)(wait * 1000000);
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&l->cond, &l->mu, &ts);
    }
    l->waiters--;
    pthread_mutex_unlock(&l->mu);
out:
    free(hw);
    return rc;
}

int lc_klog_send(lc_klog_t *l, const void *key, size_t keylen, const void *value, size_t vallen,
                 int32_t partition, char *errstr, size_t errsz)
{
    if (!l->producer) {
        snprintf(errstr, errsz, "topic '%s': the log was started without a producer", l->topic);
        return -1;
    }
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            l->producer, RD_KAFKA_V_TOPIC(l->topic),
            RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY((void *)key, keylen),
            RD_KAFKA_V_VALUE((void *)value, vallen), RD_KAFKA_V_END);
        if (!e) break;
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(l->producer, 100);
            continue;
        }
        snprintf(errstr, errsz, "topic '%s': cannot send: %s", l->topic, rd_kafka_err2str(e));
        return -1;
    }
    rd_kafka_poll(l->producer, 0);
    return 0;
}

int lc_klog_flush(lc_klog_t *l, int timeout_ms, char *errstr, size_t errsz)
{
    if (!l->producer) return 0;
    rd_kafka_resp_err_t e = rd_kafka_flush(l->producer, timeout_ms);
    pthread_mutex_lock(&l->dr_mu);
    int rc = 0;
    if (l->send_err[0]) {
        snprintf(errstr, errsz, "%s", l->send_err);
        l->send_err[0] = 0;
        rc = -1;
    } else if (e) {
        snprintf(errstr, errsz, "topic '%s': %d record(s) not acknowledged within %d ms", l->topic,
                 rd_kafka_outq_len(l->producer), timeout_ms);
        rc = -1;
    }
    pthread_mutex_unlock(&l->dr_mu);
    return rc;
}

int lc_klog_partitions(const lc_klog_t *l)
{
    return l->nparts;
}

void lc_klog_stop(lc_klog_t *l)
{
    if (!l) return;
    atomic_store(&l->stop, 1);
    if (l->thread_started) pthread_join(l->thread, NULL);
    if (l->producer) {
        rd_kafka_purge(l->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(l->producer);
    }
    if (l->consumer) {
        rd_kafka_consumer_close(l->consumer);
        rd_kafka_destroy(l->consumer);
    }
    if (l->parts) rd_kafka_topic_partition_list_destroy(l->parts);
    free(l->done);
    free(l->topic);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->dr_mu);
    free(l);
}

int32_t lc_klog_murmur2(const void *key, size_t keylen)
{
    /* Kafka's Utils.murmur2 (seed 0x9747b28c) in 32-bit unsigned arithmetic, which wraps
     * as Java's int does. */
    const unsigned char *d = key;
    const uint32_t m = 0x5bd1e995;
    uint32_t h = 0x9747b28cu ^ (uint32_t)keylen;
    size_t n4 = keylen / 4;
    for (size_t i = 0; i < n4; i++) {
        uint32_t k = (uint32_t)d[i * 4] | (uint32_t)d[i * 4 + 1] << 8 |
                     (uint32_t)d[i * 4 + 2] << 16 | (uint32_t)d[i * 4 + 3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    size_t t = keylen & ~(size_t)3;
    switch (keylen % 4) {
    case 3:
        h ^= (uint32_t)d[t + 2] << 16; /* fall through */
    case 2:
        h ^= (uint32_t)d[t + 1] << 8; /* fall through */
    case 1:
        h ^= d[t];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)h;
}

int32_t lc_klog_java_partition(const void *key, size_t keylen, int partitions)
{
    if (partitions <= 0) return -1;
    /* Utils.toPositive: the sign bit cleared, not the absolute value. */
    return (int32_t)(((uint32_t)lc_klog_murmur2(key, keylen) & 0x7fffffff) % (uint32_t)partitions);
}
