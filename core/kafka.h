/* kafka: everything librdkafka the core configures in one place — the client config of
 * every task (Kafka Connect's producer and consumer defaults, the worker's producer.* /
 * consumer.* pass-through, the connector's *.override.*), the embedded in-process broker
 * (librdkafka's mock cluster) and the shared admin client.
 * Depends on java_conf, props, log, librdkafka. */
#ifndef LC_KAFKA_H
#define LC_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "props.h"

typedef struct lc_kafka lc_kafka_t;

/** Reads bootstrap.servers and keeps a copy of the worker properties for the producer.*,
 * consumer.* and admin.* pass-through; embedded starts an in-process broker whose address
 * replaces bootstrap.servers. NULL with errstr on failure. */
lc_kafka_t *lc_kafka_new(const lc_props_t *worker_props, int embedded, char *errstr,
                         size_t errstr_size);
/** bootstrap.servers in use (the embedded broker's when there is one). */
const char *lc_kafka_bootstrap(const lc_kafka_t *k);
/** Builds the librdkafka config of a task's client: bootstrap, client.id
 * connector-producer-<connector>-<task> (or -consumer-), Kafka Connect's defaults, the
 * worker's producer.* or consumer.* keys, then connector_props' producer.override.* or
 * consumer.override.* keys; a consumer joins group connect-<connector>. NULL with errstr
 * naming the key on a bad setting. Caller owns the result. */
rd_kafka_conf_t *lc_kafka_client_conf(lc_kafka_t *k, const char *connector, int task,
                                      const lc_props_t *connector_props, int producer, char *errstr,
                                      size_t errstr_size);
/** Divides the sink prefetch defaults of lc_kafka_client_conf (queued.min.messages,
 * queued.max.messages.kbytes) among a connector's ntasks tasks, each keeping at least
 * 10,000 records and 4 MB: a connector's prefetch stays at 50,000 records and 16 MB up to 4
 * tasks and then grows by the floors (8 tasks: 80,000 records, 32 MB). A key set by
 * consumer.* or consumer.override.* is left as set. -1 with errstr on a failure to set. */
int lc_kafka_share_prefetch(rd_kafka_conf_t *conf, const lc_kafka_t *k,
                            const lc_props_t *connector_props, int ntasks, char *errstr,
                            size_t errstr_size);
/** The value of a Java client key for a task's client, where lc_kafka_client_conf takes it
 * from: the connector's producer.override.<key> / consumer.override.<key>, else the worker's
 * producer.<key> / consumer.<key>; NULL when neither sets it. *origin (when not NULL) names
 * where it came from, as errors say it: "connector config key" or "worker config key". */
const char *lc_kafka_client_setting(const lc_kafka_t *k, const lc_props_t *connector_props,
                                    int producer, const char *key, const char **origin);
/** The base config of a worker's own client (distributed mode's topic readers and writers,
 * group membership, the leader's producer): bootstrap.servers, client_id, and — as Kafka
 * Connect's internal clients take them — the worker's top-level security.protocol with its
 * ssl.* and sasl.* keys. NULL with errstr naming the key. */
rd_kafka_conf_t *lc_kafka_internal_conf(lc_kafka_t *k, const char *client_id, char *errstr,
                                        size_t errstr_size);
/** Sets key=value on an internal client's conf (what names the client in the error:
 * "what: key=value: reason"). 0, or -1 with errstr. */
int lc_kafka_set(rd_kafka_conf_t *conf, const char *what, const char *key, const char *value,
                 char *errstr, size_t errstr_size);
/** With the embedded broker, creates topic with one partition before its first use (as a
 * fresh Kafka with num.partitions=1) and returns 1; on a real broker a no-op returning 0. The
 * in-process broker answers no CreateTopics as a controller, so every topic the worker
 * creates on it goes through here. */
int lc_kafka_ensure_topic(lc_kafka_t *k, const char *topic);
/** The shared admin client (created on first call with the worker's admin.* keys), or NULL
 * with errstr. */
rd_kafka_t *lc_kafka_admin(lc_kafka_t *k, char *errstr, size_t errstr_size);
/** The Kafka cluster id (asked once), or NULL when the broker cannot be reached. */
const char *lc_kafka_cluster_id(lc_kafka_t *k);
/** Stops the embedded broker and the admin client and frees k; NULL is a no-op. */
void lc_kafka_destroy(lc_kafka_t *k);

#endif
