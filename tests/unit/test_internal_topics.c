/* Unit tests for core/internal_topics.c that need no broker: the worker keys are read with
 * Kafka Connect's messages (ConfigDef, DistributedConfig's order) before anything is asked of
 * Kafka; the coordination topic's name. Creation and verification run on the real broker in
 * tests/integration/test_kafka_stores.py. */
#include "lc_test.h"

#include "internal_topics.h"
#include "kafka.h"
#include "props.h"

static lc_props_t *worker(void)
{
    lc_props_t *p = lc_props_new();
    /* nothing listens here: a test that reached the broker would fail on its message */
    lc_props_set(p, "bootstrap.servers", "127.0.0.1:1");
    lc_props_set(p, "config.storage.topic", "connect-configs");
    lc_props_set(p, "offset.storage.topic", "connect-offsets");
    lc_props_set(p, "status.storage.topic", "connect-status");
    return p;
}

static void check_error(lc_props_t *p, const char *want)
{
    char err[1024] = "";
    lc_kafka_t *k = lc_kafka_new(p, 0, err, sizeof(err));
    CHECK_INT(lc_internal_topics_ensure(k, p, err, sizeof(err)), -1);
    CHECK_STR(err, want);
    lc_kafka_destroy(k);
    lc_props_destroy(p);
}

TEST(missing_topics_in_connects_order)
{
    lc_props_t *p = worker();
    lc_props_unset(p, "config.storage.topic");
    lc_props_unset(p, "status.storage.topic");
    check_error(p, "Missing required configuration \"config.storage.topic\" which has no default "
                   "value.");
    p = worker();
    lc_props_unset(p, "offset.storage.topic");
    check_error(p, "Missing required configuration \"offset.storage.topic\" which has no default "
                   "value.");
}

TEST(bad_counts_are_config_exceptions)
{
    lc_props_t *p = worker();
    lc_props_set(p, "offset.storage.partitions", " 0 "); /* trimmed, as ConfigDef does */
    check_error(p, "Invalid value 0 for configuration offset.storage.partitions: Number of "
                   "partitions must be positive, or -1 to use the broker's default");
    p = worker();
    lc_props_set(p, "status.storage.replication.factor", "-2");
    check_error(p, "Invalid value -2 for configuration status.storage.replication.factor: "
                   "Replication factor must be positive and not larger than the number of "
                   "brokers in the Kafka cluster, or -1 to use the broker's default");
    p = worker();
    lc_props_set(p, "config.storage.replication.factor", "40000");
    check_error(p, "Invalid value 40000 for configuration config.storage.replication.factor: Not "
                   "a number of type SHORT");
    p = worker();
    lc_props_set(p, "status.storage.partitions", "5x");
    check_error(p, "Invalid value 5x for configuration status.storage.partitions: Not a number "
                   "of type INT");
}

TEST(coordination_topic_name)
{
    char name[256];
    lc_props_t *p = worker();
    lc_internal_topics_coordination(p, name, sizeof(name));
    CHECK_STR(name, "connect-configs-luaconnect");
    lc_props_set(p, "luaconnect.coordination.topic", "lc-coord");
    lc_internal_topics_coordination(p, name, sizeof(name));
    CHECK_STR(name, "lc-coord");
    lc_props_destroy(p);
}

int main(void)
{
    RUN(missing_topics_in_connects_order);
    RUN(bad_counts_are_config_exceptions);
    RUN(coordination_topic_name);
    return lc_test_summary(__FILE__);
}
