/* Unit tests for core/config.c (the key table and its typed getters) and core/kafka.c's
 * client configs: defaults, the exact error texts, and the client.id of every task. */
#include "config.h"
#include "kafka.h"
#include "lc_test.h"

#include <stdlib.h>

static lc_props_t *props(const char *k1, const char *v1, const char *k2, const char *v2)
{
    lc_props_t *p = lc_props_new();
    if (k1) lc_props_set(p, k1, v1);
    if (k2) lc_props_set(p, k2, v2);
    return p;
}

/* The value of key in c, or "(unset)". */
static const char *conf_value(rd_kafka_conf_t *c, const char *key)
{
    static char v[256];
    size_t vl = sizeof(v);
    return rd_kafka_conf_get(c, key, v, &vl) == RD_KAFKA_CONF_OK ? v : "(unset)";
}

TEST(defaults_come_from_the_table)
{
    lc_props_t *p = props(NULL, NULL, NULL, NULL);
    char errs[512] = "";
    size_t elen = 0;
    long n = 0;
    int b = -1, c = -1;
    CHECK_INT(lc_config_long(p, "offset.flush.interval.ms", "w", &n, errs, sizeof(errs), &elen), 0);
    CHECK_INT(n, 60000);
    CHECK_INT(lc_config_bool(p, "hot.reload", "w", &b, errs, sizeof(errs), &elen), 0);
    CHECK_INT(b, 1);
    CHECK_INT(lc_config_choice(p, "errors.tolerance", "c", &c, errs, sizeof(errs), &elen), 0);
    CHECK_INT(c, 0);
    CHECK_STR(lc_config_string(p, "listeners"), "http://127.0.0.1:8083");
    CHECK(lc_config_string(p, "offset.storage.file.filename") == NULL);
    CHECK_STR(errs, "");
    lc_props_destroy(p);
}

TEST(bad_values_name_the_key_and_every_error_is_listed)
{
    lc_props_t *p = props("tasks.max", "0", "errors.log.enable", "yes");
    lc_props_set(p, "errors.tolerance", "some");
    char errs[1024] = "";
    size_t elen = 0;
    long n = 7;
    int b = 0, c = 0;
    CHECK_INT(lc_config_long(p, "tasks.max", "connector 'x'", &n, errs, sizeof(errs), &elen), -1);
    CHECK_INT(n, 7);
    CHECK_INT(
        lc_config_bool(p, "errors.log.enable", "connector 'x'", &b, errs, sizeof(errs), &elen), -1);
    CHECK_INT(
        lc_config_choice(p, "errors.tolerance", "connector 'x'", &c, errs, sizeof(errs), &elen),
        -1);
    CHECK_STR(errs,
              "connector 'x': key 'tasks.max': expected an integer >= 1, got '0'\n"
              "connector 'x': key 'errors.log.enable': expected boolean (true or false), "
              "got 'yes'\n"
              "connector 'x': key 'errors.tolerance': must be one of none, all, got 'some'\n");
    lc_props_destroy(p);
}

TEST(validate_definitions_have_kafka_connects_shape)
{
    const lc_config_def_t *d = lc_config_find("tasks.max");
    CHECK(d != NULL);
    json_t *j = lc_config_def_json(d, 3);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    /* Kafka Connect's display name, importance, width and order_in_group. */
    CHECK_STR(s, "{\"default_value\":\"1\",\"dependents\":[],\"display_name\":\"Tasks max\","
                 "\"documentation\":\"Maximum number of tasks to use for this connector.\","
                 "\"group\":\"Common\",\"importance\":\"HIGH\",\"name\":\"tasks.max\","
                 "\"order_in_group\":4,\"required\":false,\"type\":\"INT\",\"width\":\"SHORT\"}");
    free(s);
    json_decref(j);
    /* As in Kafka Connect, key.converter's default is JsonConverter (the worker's value
     * applies when the connector has none). */
    j = lc_config_def_json(lc_config_find("key.converter"), 1);
    CHECK_STR(json_string_value(json_object_get(j, "default_value")),
              "org.apache.kafka.connect.json.JsonConverter");
    json_decref(j);
    /* A key of sources only, with Connect's group and no default. */
    j = lc_config_def_json(lc_config_find("offsets.storage.topic"), 9);
    CHECK(json_is_null(json_object_get(j, "default_value")));
    CHECK_STR(json_string_value(json_object_get(j, "group")), "offsets.topic");
    CHECK(!lc_config_applies(lc_config_find("offsets.storage.topic"), "sink"));
    CHECK(lc_config_applies(lc_config_find("offsets.storage.topic"), "source"));
    json_decref(j);
}

/* Kafka Connect names clients connector-producer-<c>-<task> / connector-consumer-<c>-<task>;
 * every task used to end in -0. */
TEST(client_id_carries_the_task_id)
{
    char err[512];
    lc_props_t *wp = props("bootstrap.servers", "127.0.0.1:1", NULL, NULL);
    lc_kafka_t *k = lc_kafka_new(wp, 0, err, sizeof(err));
    CHECK(k != NULL);
    rd_kafka_conf_t *c = lc_kafka_client_conf(k, "orders", 3, NULL, 1, err, sizeof(err));
    CHECK(c != NULL);
    CHECK_STR(conf_value(c, "client.id"), "connector-producer-orders-3");
    rd_kafka_conf_destroy(c);
    c = lc_kafka_client_conf(k, "orders", 2, NULL, 0, err, sizeof(err));
    CHECK_STR(conf_value(c, "client.id"), "connector-consumer-orders-2");
    CHECK_STR(conf_value(c, "group.id"), "connect-orders");
    rd_kafka_conf_destroy(c);
    lc_kafka_destroy(k);
    lc_props_destroy(wp);
}

TEST(a_bad_override_names_the_connector_key)
{
    char err[512] = "";
    lc_props_t *wp = props("bootstrap.servers", "127.0.0.1:1", NULL, NULL);
    lc_props_t *cp = props("producer.override.acks", "several", NULL, NULL);
    lc_kafka_t *k = lc_kafka_new(wp, 0, err, sizeof(err));
    CHECK(lc_kafka_client_conf(k, "orders", 0, cp, 1, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "connector config key 'acks'") != NULL);
    lc_kafka_destroy(k);
    lc_props_destroy(cp);
    lc_props_destroy(wp);
}

/* The producer's queue is bounded (4 MB by default); the Java producer's buffer.memory (bytes)
 * sets it, from the worker (producer.) or the connector (producer.override.). */
TEST(buffer_memory_bounds_the_producer_queue)
{
    char err[512] = "";
    lc_props_t *wp =
        props("bootstrap.servers", "127.0.0.1:1", "producer.buffer.memory", "33554432");
    lc_props_t *cp = props("producer.override.buffer.memory", "4194304", NULL, NULL);
    lc_props_t *bad = props("producer.override.buffer.memory", "32MB", NULL, NULL);
    lc_kafka_t *k = lc_kafka_new(wp, 0, err, sizeof(err));
    CHECK(k != NULL);
    rd_kafka_conf_t *c = lc_kafka_client_conf(k, "orders", 0, NULL, 1, err, sizeof(err));
    CHECK(c != NULL);
    CHECK_STR(conf_value(c, "queue.buffering.max.kbytes"), "32768");
    rd_kafka_conf_destroy(c);
    c = lc_kafka_client_conf(k, "orders", 0, cp, 1, err, sizeof(err));
    CHECK(c != NULL);
    CHECK_STR(conf_value(c, "queue.buffering.max.kbytes"), "4096");
    rd_kafka_conf_destroy(c);
    CHECK(lc_kafka_client_conf(k, "orders", 0, bad, 1, err, sizeof(err)) == NULL);
    CHECK_STR(
        err,
        "connector config key 'buffer.memory': expected a number of bytes >= 1024, got '32MB'");
    lc_kafka_destroy(k);
    lc_props_destroy(wp);
    wp = props("bootstrap.servers", "127.0.0.1:1", NULL, NULL);
    k = lc_kafka_new(wp, 0, err, sizeof(err));
    c = lc_kafka_client_conf(k, "orders", 0, NULL, 1, err, sizeof(err));
    CHECK_STR(conf_value(c, "queue.buffering.max.kbytes"), "4096");
    rd_kafka_conf_destroy(c);
    lc_kafka_destroy(k);
    lc_props_destroy(bad);
    lc_props_destroy(cp);
    lc_props_destroy(wp);
}

/* Checks one task's prefetch of a connector of ntasks tasks (connector config cp or none). */
static void check_share(lc_kafka_t *k, lc_props_t *cp, int ntasks, const char *messages,
                        const char *kbytes)
{
    char err[512] = "";
    rd_kafka_conf_t *c = lc_kafka_client_conf(k, "orders", 0, cp, 0, err, sizeof(err));
    CHECK(c != NULL);
    CHECK_INT(lc_kafka_share_prefetch(c, k, cp, ntasks, err, sizeof(err)), 0);
    CHECK_STR(conf_value(c, "queued.min.messages"), messages);
    CHECK_STR(conf_value(c, "queued.max.messages.kbytes"), kbytes);
    rd_kafka_conf_destroy(c);
}

/* A sink connector's prefetch (50,000 records, 16 MB) is shared by its tasks, each keeping
 * at least 10,000 records and 4 MB; a value the user set stays each task's own. */
TEST(sink_tasks_share_the_prefetch)
{
    char err[512] = "";
    lc_props_t *wp = props("bootstrap.servers", "127.0.0.1:1", NULL, NULL);
    lc_props_t *cp = props("consumer.override.queued.min.messages", "30000", NULL, NULL);
    lc_kafka_t *k = lc_kafka_new(wp, 0, err, sizeof(err));
    CHECK(k != NULL);
    check_share(k, NULL, 1, "50000", "16384");
    check_share(k, NULL, 2, "25000", "8192");
    check_share(k, NULL, 4, "12500", "4096");
    check_share(k, NULL, 8, "10000", "4096");
    check_share(k, cp, 4, "30000", "4096");
    lc_kafka_destroy(k);
    lc_props_destroy(wp);
    /* the worker's consumer.* setting too */
    wp = props("bootstrap.servers", "127.0.0.1:1", "consumer.queued.max.messages.kbytes", "20000");
    k = lc_kafka_new(wp, 0, err, sizeof(err));
    check_share(k, NULL, 4, "12500", "20000");
    lc_kafka_destroy(k);
    lc_props_destroy(cp);
    lc_props_destroy(wp);
}

int main(void)
{
    RUN(sink_tasks_share_the_prefetch);
    RUN(defaults_come_from_the_table);
    RUN(buffer_memory_bounds_the_producer_queue);
    RUN(bad_values_name_the_key_and_every_error_is_listed);
    RUN(validate_definitions_have_kafka_connects_shape);
    RUN(client_id_carries_the_task_id);
    RUN(a_bad_override_names_the_connector_key);
    return lc_test_summary("test_config");
}
