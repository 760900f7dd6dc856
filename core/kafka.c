/* kafka: see kafka.h. */
#include "kafka.h"
#include "config.h"
#include "java_conf.h"
#include "log.h"

#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct lc_kafka {
    char *bootstrap;
    lc_props_t *props; /* the worker's, for producer.* / consumer.* / admin.* */
    rd_kafka_t *mock_rk;
    rd_kafka_mock_cluster_t *mock;
    pthread_mutex_t topics_lock; /* guards topics */
    char **topics;               /* created in the mock so far */
    int ntopics;
    pthread_mutex_t admin_lock; /* guards admin and cluster_id */
    rd_kafka_t *admin;          /* created on first use */
    char *cluster_id;
};

static int start_embedded(lc_kafka_t *k, char *errstr, size_t errsz)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    k->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!k->mock_rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(errstr, errsz, "embedded Kafka: %s", err);
        return -1;
    }
    k->mock = rd_kafka_mock_cluster_new(k->mock_rk, 1);
    if (!k->mock) {
        snprintf(errstr, errsz, "embedded Kafka: cannot start the in-process broker");
        return -1;
    }
    free(k->bootstrap);
    k->bootstrap = strdup(rd_kafka_mock_cluster_bootstraps(k->mock));
    printf("embedded Kafka at %s\n", k->bootstrap);
    fflush(stdout);
    return 0;
}

lc_kafka_t *lc_kafka_new(const lc_props_t *worker_props, int embedded, char *errstr, size_t errsz)
{
    lc_kafka_t *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(errstr, errsz, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&k->topics_lock, NULL);
    pthread_mutex_init(&k->admin_lock, NULL);
    k->props = lc_props_copy(worker_props);
    k->bootstrap = strdup(lc_config_string(worker_props, "bootstrap.servers"));
    if (embedded && start_embedded(k, errstr, errsz) != 0) {
        lc_kafka_destroy(k);
        return NULL;
    }
    return k;
}

const char *lc_kafka_bootstrap(const lc_kafka_t *k)
{
    return k->bootstrap;
}

int lc_kafka_ensure_topic(lc_kafka_t *k, const char *topic)
{
    if (!k || !k->mock) return 0;
    pthread_mutex_lock(&k->topics_lock);
    for (int i = 0; i < k->ntopics; i++)
        if (strcmp(k->topics[i], topic) == 0) {
            pthread_mutex_unlock(&k->topics_lock);
            return 1;
        }
    /* A fresh Kafka auto-creates topics with num.partitions=1; the mock would use more. */
    rd_kafka_mock_topic_create(k->mock, topic, 1, 1);
    char **grown = realloc(k->topics, (size_t)(k->ntopics + 1) * sizeof(char *));
    if (grown) {
        k->topics = grown;
        k->topics[k->ntopics++] = strdup(topic);
    }
    pthread_mutex_unlock(&k->topics_lock);
    return 1;
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, const char *origin,
                    char *errstr, size_t errsz)
{
    char err[512];
    rd_kafka_conf_res_t r = lc_java_conf_set(conf, key, value, err, sizeof(err));
    if (r == RD_KAFKA_CONF_OK) return 0;
    if (r == RD_KAFKA_CONF_UNKNOWN) {
        /* Java-client settings (max.block.ms, ...) have no librdkafka twin. */
        lc_warn(NULL, "%s '%s': not a librdkafka setting; ignored", origin, key);
        return 0;
    }
    snprintf(errstr, errsz, "%s '%s': %s", origin, key, err);
    return -1;
}

static int apply_prefixed(rd_kafka_conf_t *conf, const lc_props_t *p, const char *prefix,
                          const char *origin, char *errstr, size_t errsz)
{
    size_t pl = strlen(prefix);
    for (size_t i = 0; p && i < lc_props_count(p); i++) {
        const char *k = lc_props_key(p, i);
        if (strncmp(k, prefix, pl) != 0 || !k[pl]) continue;
        char o[256];
        snprintf(o, sizeof(o), "%s key", origin);
        if (conf_set(conf, k + pl, lc_props_value(p, i), o, errstr, errsz) != 0) return -1;
    }
    return 0;
}

/* Kafka Connect's client defaults, as (key, value) pairs. */
static const char *const producer_defaults[] = {
    /* acks=all and no give-up on delivery, so a broker outage delays records instead of
     * losing them. Idempotence keeps the order of a partition across retries. */
    "acks", "all", "enable.idempotence", "true", "message.timeout.ms", "0",
    /* At most 4 MB waiting to be sent (librdkafka: 1 GB, with 100,000 messages the bound that
     * binds; the Java producer: buffer.memory, 32 MB). Pipeline (a) with 1 KB records: peak
     * RSS 147 MB (librdkafka's bounds) -> 33 MB (8 MB) at the same records/s; with 100-byte
     * records 33.1-34.0 MB (8 MB) -> 23.6-24.1 MB (4 MB), same records/s: a queued message
     * costs about twice its bytes. A broker 50 ms away still gets ~80 MB/s through it. When
     * the queue is full the task waits for deliveries (back-pressure). */
    "queue.buffering.max.kbytes", "4096", NULL};
static const char *const consumer_defaults[] = {
    "enable.auto.commit", "false", "enable.auto.offset.store", "false", "auto.offset.reset",
    "earliest",
    /* A sink should see a new record promptly; librdkafka's 500 ms default wait makes an
     * idle pipeline lag by up to half a second. */
    "fetch.wait.max.ms", "100",
    /* A bounded prefetch: ~50,000 records or 16 MB of values (librdkafka: 100,000 and
     * 64 MB), a connector's in all: its tasks share it (lc_kafka_share_prefetch).
     * librdkafka < 2.3 stops fetching when the queue passes either and looks again only
     * when something wakes its broker thread, up to 1 s later; the sink task wakes it
     * (core/prefetch.c), so a small queue costs no speed. */
    "queued.min.messages", "50000", "queued.max.messages.kbytes", "16384", NULL};

/* A task's share of the prefetch above is never below these: enough for a full poll batch
 * and a fetch response of every partition it may hold. */
#define PREFETCH_MIN_MESSAGES 10000
#define PREFETCH_MIN_KBYTES 4096

rd_kafka_conf_t *lc_kafka_client_conf(lc_kafka_t *k, const char *connector, int task,
                                      const lc_props_t *connector_props, int producer, char *errstr,
                                      size_t errsz)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char client_id[512], group[512];
    snprintf(client_id, sizeof(client_id), "connector-%s-%s-%d", producer ? "producer" : "consumer",
             connector, task);
    if (conf_set(conf, "bootstrap.servers", k->bootstrap, "bootstrap.servers", errstr, errsz) ||
        conf_set(conf, "client.id", client_id, "client.id", errstr, errsz))
        goto err;
    if (!producer) {
        snprintf(group, sizeof(group), "connect-%s", connector);
        if (conf_set(conf, "group.id", group, "group.id", errstr, errsz)) goto err;
    }
    for (const char *const *d = producer ? producer_defaults : consumer_defaults; *d; d += 2)
        if (conf_set(conf, d[0], d[1], d[0], errstr, errsz)) goto err;
    if (apply_prefixed(conf, k->props, producer ? "producer." : "consumer.", "worker config",
                       errstr, errsz) ||
        apply_prefixed(conf, connector_props,
                       producer ? "producer.override." : "consumer.override.", "connector config",
                       errstr, errsz))
        goto err;
    return conf;
err:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int lc_kafka_share_prefetch(rd_kafka_conf_t *conf, const lc_kafka_t *k,
                            const lc_props_t *connector_props, int ntasks, char *errstr,
                            size_t errsz)
{
    static const struct {
        const char *key;
        long long floor;
    } bounds[] = {{"queued.min.messages", PREFETCH_MIN_MESSAGES},
                  {"queued.max.messages.kbytes", PREFETCH_MIN_KBYTES}};
    for (size_t i = 0; ntasks > 1 && i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        char v[32];
        size_t n = sizeof(v);
        /* a value the user set stays each task's own, as in Kafka Connect */
        if (lc_kafka_client_setting(k, connector_props, 0, bounds[i].key, NULL)) continue;
        if (rd_kafka_conf_get(conf, bounds[i].key, v, &n) != RD_KAFKA_CONF_OK) continue;
        long long share = atoll(v) / ntasks;
        snprintf(v, sizeof(v), "%lld", share > bounds[i].floor ? share : bounds[i].floor);
        if (conf_set(conf, bounds[i].key, v, bounds[i].key, errstr, errsz)) return -1;
    }
    return 0;
}

const char *lc_kafka_client_setting(const lc_kafka_t *k, const lc_props_t *connector_props,
                                    int producer, const char *key, const char **origin)
{
    char name[256];
    snprintf(name, sizeof(name), "%s%s", producer ? "producer.override." : "consumer.override.",
             key);
    const char *v = connector_props ? lc_props_get(connector_props, name) : NULL;
    if (v) {
        if (origin) *origin = "connector config key";
        return v;
    }
    snprintf(name, sizeof(name), "%s%s", producer ? "producer." : "consumer.", key);
    v = lc_props_get(k->props, name);
    if (v && origin) *origin = "worker config key";
    return v;
}

rd_kafka_t *lc_kafka_admin(lc_kafka_t *k, char *errstr, size_t errsz)
{
    pthread_mutex_lock(&k->admin_lock);
    if (!k->admin) {
        char err[512];
        rd_kafka_conf_t *conf = lc_kafka_internal_conf(k, "luaconnect-admin", err, sizeof(err));
        int bad = conf == NULL;
        if (bad) conf = rd_kafka_conf_new();
        for (size_t i = 0; !bad && i < lc_props_count(k->props); i++) {
            const char *key = lc_props_key(k->props, i);
            if (strncmp(key, "admin.", 6) == 0 && key[6])
                bad = lc_java_conf_set(conf, key + 6, lc_props_value(k->props, i), err,
                                       sizeof(err)) == RD_KAFKA_CONF_INVALID;
        }
        if (!bad) k->admin = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!k->admin) {
            rd_kafka_conf_destroy(conf);
            snprintf(errstr, errsz, "admin client: %s", err);
        }
    }
    rd_kafka_t *rk = k->admin;
    pthread_mutex_unlock(&k->admin_lock);
    return rk;
}

const char *lc_kafka_cluster_id(lc_kafka_t *k)
{
    char err[512];
    rd_kafka_t *rk = lc_kafka_admin(k, err, sizeof(err));
    if (!rk) return NULL;
    pthread_mutex_lock(&k->admin_lock);
    if (!k->cluster_id) k->cluster_id = rd_kafka_clusterid(rk, 5000);
    const char *id = k->cluster_id;
    pthread_mutex_unlock(&k->admin_lock);
    return id;
}

void lc_kafka_destroy(lc_kafka_t *k)
{
    if (!k) return;
    if (k->admin) rd_kafka_destroy(k->admin);
    free(k->cluster_id);
    if (k->mock) rd_kafka_mock_cluster_destroy(k->mock);
    if (k->mock_rk) rd_kafka_destroy(k->mock_rk);
    for (int i = 0; i < k->ntopics; i++)
        free(k->topics[i]);
    free(k->topics);
    lc_props_destroy(k->props);
    free(k->bootstrap);
    pthread_mutex_destroy(&k->topics_lock);
    pthread_mutex_destroy(&k->admin_lock);
    free(k);
}

int lc_kafka_set(rd_kafka_conf_t *conf, const char *what, const char *key, const char *value,
                 char *errstr, size_t errsz)
{
    char err[512];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) == RD_KAFKA_CONF_OK) return 0;
    snprintf(errstr, errsz, "%s: %s=%s: %s", what, key, value, err);
    return -1;
}

rd_kafka_conf_t *lc_kafka_internal_conf(lc_kafka_t *k, const char *client_id, char *errstr,
                                        size_t errsz)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf_set(conf, "bootstrap.servers", k->bootstrap, "bootstrap.servers", errstr, errsz) ||
        conf_set(conf, "client.id", client_id, "client.id", errstr, errsz) ||
        conf_set(conf, "log_level", "4", "log_level", errstr, errsz))
        goto err;
    const char *proto = lc_props_get(k->props, "security.protocol");
    if (proto && *proto && strcasecmp(proto, "PLAINTEXT") != 0) {
        if (conf_set(conf, "security.protocol", proto, "worker config key", errstr, errsz))
            goto err;
        for (size_t i = 0; i < lc_props_count(k->props); i++) {
            const char *key = lc_props_key(k->props, i);
            if ((strncmp(key, "ssl.", 4) == 0 || strncmp(key, "sasl.", 5) == 0) &&
                conf_set(conf, key, lc_props_value(k->props, i), "worker config key", errstr,
                         errsz) != 0)
                goto err;
        }
    }
    return conf;
err:
    rd_kafka_conf_destroy(conf);
    return NULL;
}
