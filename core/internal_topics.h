/* internal_topics: Kafka Connect's internal topics of a distributed worker (config, offsets,
 * status) and luaconnect's coordination topic: created when missing (compacted, Connect's
 * partition counts and replication factors), refused with Kafka Connect's own error text when
 * an existing one is not compacted or a one-partition topic has more.
 * Depends on kafka, props, log, librdkafka. */
#ifndef LC_INTERNAL_TOPICS_H
#define LC_INTERNAL_TOPICS_H

#include <stddef.h>

#include "kafka.h"
#include "props.h"

/** Creates (if missing) the config (1 partition), offsets (offset.storage.partitions, 25),
 * status (status.storage.partitions, 5) topics and the coordination topic (1 partition),
 * each with cleanup.policy=compact and its *.replication.factor (-1: broker default; Connect's
 * default is 3), plus the topic-level settings given as <prefix>topic-level keys if Connect
 * accepts them; verifies that existing ones are compacted and that the config and
 * coordination topics have one partition, failing with Kafka Connect's own error texts
 * (TopicAdmin.verifyTopicCleanupPolicyOnlyCompact, KafkaConfigBackingStore). 0 or -1 with
 * errstr. Topic names from the worker props (lc_dist_topic_names fills them). */
int lc_internal_topics_ensure(lc_kafka_t *k, const lc_props_t *worker_props, char *errstr,
                              size_t errstr_size);

/** The coordination topic's name: luaconnect.coordination.topic, else
 * "<config.storage.topic>-luaconnect" (written to out; "" when config.storage.topic is
 * missing). */
void lc_internal_topics_coordination(const lc_props_t *worker_props, char *out, size_t out_size);
/** Creates topic (property: the key that names it) when missing — compacted, partitions and
 * replication as given (-1: the broker's defaults) — and checks an existing one is compacted.
 * 0 or -1 with errstr. */
int lc_internal_topic_ensure(lc_kafka_t *k, const char *topic, const char *property,
                             const char *purpose, int partitions, int replication, char *errstr,
                             size_t errstr_size);

#endif
