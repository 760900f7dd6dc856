/* klog: a Kafka topic read as a log (Kafka Connect's KafkaBasedLog). A consumer assigned to
 * every partition from the beginning (no group, read_committed, no commits) feeds each record
 * to a callback on a thread of its own; read_to_end waits until every record below the high
 * watermarks of the moment was handed over. An optional producer (acks=all, idempotent,
 * Java's murmur2 partitioning) writes to the same topic.
 * Depends on kafka, java_conf, props, log, librdkafka. */
#ifndef LC_KLOG_H
#define LC_KLOG_H

#include <stddef.h>
#include <stdint.h>

#include "kafka.h"
#include "props.h"

typedef struct lc_klog lc_klog_t;
/** Called on the log's reader thread for every record, in offset order within a partition;
 * key and value are NULL for a null key / tombstone. */
typedef void (*lc_klog_fn)(void *arg, int32_t partition, int64_t offset, const void *key,
                           size_t keylen, const void *value, size_t vallen);
typedef struct lc_klog_opts {
    const char *topic;
    const char *client_id; /* e.g. "<worker_id>-configs" */
    lc_klog_fn fn;
    void *arg;
    int producer;                   /* 1: also make a producer for lc_klog_send (acks=all,
                                       enable.idempotence=true, partitioner=murmur2_random so keys
                                       land where Java's client puts them) */
    const lc_props_t *worker_props; /* for the prefix pass-through below; may be NULL */
    const char *prefix;             /* e.g. "offset.storage." : keys under it that are client
                                       settings (not .topic/.partitions/.replication.factor) are
                                       passed to the clients; may be NULL */
} lc_klog_opts_t;

/** Starts reading topic from the beginning on every partition (assign, no group,
 * isolation.level=read_committed, no commits), on a thread of its own. NULL with errstr. */
lc_klog_t *lc_klog_start(lc_kafka_t *k, const lc_klog_opts_t *o, char *errstr, size_t errstr_size);
/** Blocks until fn has been called for every record below each partition's high watermark
 * as of this call (compares the position with the high watermark, never last offset seen+1:
 * compaction gaps and transaction markers). 0, or -1 with errstr on timeout/error. */
int lc_klog_read_to_end(lc_klog_t *l, int timeout_ms, char *errstr, size_t errstr_size);
/** Queues a record (partition -1: the partitioner). 0 or -1 with errstr. */
int lc_klog_send(lc_klog_t *l, const void *key, size_t keylen, const void *value, size_t vallen,
                 int32_t partition, char *errstr, size_t errstr_size);
/** Waits until every queued record is acknowledged; -1 with errstr when any failed since the
 * last flush. */
int lc_klog_flush(lc_klog_t *l, int timeout_ms, char *errstr, size_t errstr_size);
/** Number of partitions of the topic. */
int lc_klog_partitions(const lc_klog_t *l);
/** Stops the reader thread and frees the clients; NULL is a no-op. */
void lc_klog_stop(lc_klog_t *l);

/** Kafka's Utils.murmur2 of key (Java's int, wrapped as Java wraps it). */
int32_t lc_klog_murmur2(const void *key, size_t keylen);
/** The partition Java's default partitioner picks for a non-null key:
 * toPositive(Utils.murmur2(key)) % partitions (librdkafka's murmur2_random does the same);
 * -1 when partitions <= 0. */
int32_t lc_klog_java_partition(const void *key, size_t keylen, int partitions);

#endif
