/* Unit tests for core/klog.c on librdkafka's mock cluster: every record handed over in
 * offset order, keys on Java's partitions, read_to_end, tombstones. The real broker's checks
 * (Java partitioning as the broker stores it, transaction markers) are in
 * tests/integration/test_kafka_stores.py. */
#include "lc_test.h"

#include "kafka.h"
#include "klog.h"
#include "props.h"

#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NPARTS 5
#define NRECS 1000

typedef struct {
    pthread_mutex_t mu;
    int n, tombstones, null_keys, out_of_order, wrong_partition;
    int64_t last[NPARTS];
    int seen[NRECS];
} sink_t;

static void on_record(void *arg, int32_t partition, int64_t offset, const void *key, size_t keylen,
                      const void *value, size_t vallen)
{
    sink_t *s = arg;
    pthread_mutex_lock(&s->mu);
    s->n++;
    if (offset <= s->last[partition]) s->out_of_order++;
    s->last[partition] = offset;
    if (!key) s->null_keys++;
    if (!value) s->tombstones++;
    if (key && value) {
        if (lc_klog_java_partition(key, keylen, NPARTS) != partition) s->wrong_partition++;
        char buf[32];
        snprintf(buf, sizeof(buf), "%.*s", (int)vallen, (const char *)value);
        int i = atoi(buf);
        if (i >= 0 && i < NRECS) s->seen[i]++;
    }
    pthread_mutex_unlock(&s->mu);
}

static void sink_init(sink_t *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 0; i < NPARTS; i++)
        s->last[i] = -1;
}

TEST(murmur2_matches_java)
{
    /* Kafka's UtilsTest.testMurmur2 vectors. */
    CHECK_INT(lc_klog_murmur2("21", 2), -973932308);
    CHECK_INT(lc_klog_murmur2("foobar", 6), -790332482);
    CHECK_INT(lc_klog_murmur2("a-little-bit-long-string", 24), -985981536);
    CHECK_INT(lc_klog_murmur2("a-little-bit-longer-string", 26), -1486304829);
    const char *l = "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8";
    CHECK_INT(lc_klog_murmur2(l, strlen(l)), -58897971);
    CHECK_INT(lc_klog_murmur2("abc", 3), 479470107);
    /* toPositive clears the sign bit: (-973932308 & 0x7fffffff) % 25 */
    CHECK_INT(lc_klog_java_partition("21", 2, 25), (-973932308 & 0x7fffffff) % 25);
}

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mock;
static lc_kafka_t *kafka;

static void mock_start(void)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    mock = rd_kafka_mock_cluster_new(mock_rk, 1);
    rd_kafka_mock_topic_create(mock, "log", NPARTS, 1);
    rd_kafka_mock_topic_create(mock, "empty", 3, 1);
    lc_props_t *p = lc_props_new();
    lc_props_set(p, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mock));
    kafka = lc_kafka_new(p, 0, err, sizeof(err));
    lc_props_destroy(p);
}

static void mock_stop(void)
{
    lc_kafka_destroy(kafka);
    rd_kafka_mock_cluster_destroy(mock);
    rd_kafka_destroy(mock_rk);
}

TEST(empty_topic_reads_to_end)
{
    char err[512] = "";
    sink_t s;
    sink_init(&s);
    lc_klog_opts_t o = {.topic = "empty", .client_id = "t-empty", .fn = on_record, .arg = &s};
    lc_klog_t *l = lc_klog_start(kafka, &o, err, sizeof(err));
    CHECK(l != NULL);
    if (!l) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    CHECK_INT(lc_klog_partitions(l), 3);
    CHECK_INT(lc_klog_read_to_end(l, 10000, err, sizeof(err)), 0);
    CHECK_INT(s.n, 0);
    /* a log started without a producer refuses to send, naming the topic */
    CHECK_INT(lc_klog_send(l, "k", 1, "v", 1, -1, err, sizeof(err)), -1);
    CHECK_STR(err, "topic 'empty': the log was started without a producer");
    lc_klog_stop(l);
}

TEST(records_in_order_on_java_partitions)
{
    char err[512] = "";
    sink_t s;
    sink_init(&s);
    lc_klog_opts_t o = {
        .topic = "log", .client_id = "t-writer", .fn = on_record, .arg = &s, .producer = 1};
    lc_klog_t *l = lc_klog_start(kafka, &o, err, sizeof(err));
    CHECK(l != NULL);
    if (!l) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    CHECK_INT(lc_klog_partitions(l), NPARTS);
    for (int i = 0; i < NRECS; i++) {
        char key[32], val[32];
        snprintf(key, sizeof(key), "[\"c\",{\"n\":%d}]", i % 37);
        snprintf(val, sizeof(val), "%d", i);
        CHECK_INT(lc_klog_send(l, key, strlen(key), val, strlen(val), -1, err, sizeof(err)), 0);
    }
    CHECK_INT(lc_klog_send(l, "gone", 4, NULL, 0, -1, err, sizeof(err)), 0);
    CHECK_INT(lc_klog_send(l, NULL, 0, "x", 1, 2, err, sizeof(err)), 0);
    CHECK_INT(lc_klog_flush(l, 10000, err, sizeof(err)), 0);
    CHECK_INT(lc_klog_read_to_end(l, 10000, err, sizeof(err)), 0);
    pthread_mutex_lock(&s.mu);
    CHECK_INT(s.n, NRECS + 2);
    CHECK_INT(s.tombstones, 1);
    CHECK_INT(s.null_keys, 1);
    CHECK_INT(s.out_of_order, 0);
    CHECK_INT(s.wrong_partition, 0);
    int once = 0;
    for (int i = 0; i < NRECS; i++)
        once += s.seen[i] == 1;
    CHECK_INT(once, NRECS);
    pthread_mutex_unlock(&s.mu);
    lc_klog_stop(l);

    /* a second log reads everything again from the beginning */
    sink_t s2;
    sink_init(&s2);
    o.arg = &s2;
    o.producer = 0;
    l = lc_klog_start(kafka, &o, err, sizeof(err));
    CHECK(l != NULL);
    if (!l) return;
    CHECK_INT(lc_klog_read_to_end(l, 10000, err, sizeof(err)), 0);
    pthread_mutex_lock(&s2.mu);
    CHECK_INT(s2.n, NRECS + 2);
    CHECK_INT(s2.out_of_order, 0);
    pthread_mutex_unlock(&s2.mu);
    lc_klog_stop(l);
}

TEST(bad_prefix_setting_names_the_key)
{
    char err[512] = "";
    sink_t s;
    sink_init(&s);
    lc_props_t *p = lc_props_new();
    lc_props_set(p, "offset.storage.topic", "log");             /* the topic: not passed */
    lc_props_set(p, "offset.storage.segment.bytes", "1048576"); /* topic-level: skipped */
    lc_props_set(p, "offset.storage.fetch.wait.max.ms", "nope");
    lc_klog_opts_t o = {
        .topic = "log", .fn = on_record, .arg = &s, .worker_props = p, .prefix = "offset.storage."};
    lc_klog_t *l = lc_klog_start(kafka, &o, err, sizeof(err));
    CHECK(l == NULL);
    CHECK(strstr(err, "worker config 'offset.storage.fetch.wait.max.ms'") != NULL);
    lc_klog_stop(l);
    lc_props_destroy(p);
}

int main(void)
{
    RUN(murmur2_matches_java);
    mock_start();
    RUN(empty_topic_reads_to_end);
    RUN(records_in_order_on_java_partitions);
    RUN(bad_prefix_setting_names_the_key);
    mock_stop();
    return lc_test_summary(__FILE__);
}
