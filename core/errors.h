/* errors: Kafka Connect's error handling for one connector — errors.tolerance, retries,
 * error logging and the dead-letter queue (DLQ) with Kafka Connect's context headers
 * (__connect.errors.topic, .partition, .offset, .connector.name, .task.id, .stage,
 * .class.name, .exception.class.name, .exception.message, .exception.stacktrace).
 * Sinks send the original key and value bytes and headers unchanged; sources (our
 * extension) send the record as converted, or as JSON when conversion was what failed.
 * Depends on props, log, librdkafka. */
#ifndef LC_ERRORS_H
#define LC_ERRORS_H

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka.h"
#include "props.h"

typedef struct lc_errors {
    int tolerant;             /* errors.tolerance=all */
    long retry_timeout_ms;    /* errors.retry.timeout: 0 none, -1 forever */
    long retry_delay_max_ms;  /* errors.retry.delay.max.ms */
    int log_enable;           /* errors.log.enable */
    int log_include_messages; /* errors.log.include.messages */
    char *dlq_topic;          /* errors.deadletterqueue.topic.name, NULL when unset */
    int dlq_replication;      /* errors.deadletterqueue.topic.replication.factor */
    int dlq_headers;          /* errors.deadletterqueue.context.headers.enable */
} lc_errors_t;

/** One failed record, as much as is known of it. */
typedef struct lc_failure {
    const char *stage;           /* KEY_CONVERTER, VALUE_CONVERTER, TRANSFORMATION, ... */
    const char *class_name;      /* what was executing: converter or transform class */
    const char *exception_class; /* org.apache.kafka.connect.errors.DataException, ... */
    const char *message;         /* one line */
    const char *trace;           /* full text with traceback, may be NULL */
    const char *where;       /* "topic t partition 0 offset 5" or a source record's description */
    const char *topic;       /* original topic (sink) or intended topic (source); may be NULL */
    int32_t partition;       /* -1 when unknown (sources) */
    int64_t offset;          /* -1 when unknown (sources) */
    int64_t timestamp;       /* <= 0: none */
    const void *key, *value; /* bytes for the DLQ record (NULL: Kafka null) */
    size_t key_len, value_len;
    const rd_kafka_headers_t *headers; /* original headers to carry over, may be NULL */
} lc_failure_t;

/** Reads the errors.* keys of a connector config. Appends one line per bad key to errs
 * (at *elen) and returns -1 on any error. sink says whether DLQ keys apply as in Kafka
 * (for sources they are our extension and accepted too). */
int lc_errors_parse(lc_errors_t *e, const lc_props_t *p, const char *label, char *errs,
                    size_t errsz, size_t *elen);
/** Frees what lc_errors_parse allocated; safe on a zeroed struct. */
void lc_errors_free(lc_errors_t *e);
/** Creates the DLQ topic (1 partition, the configured replication factor) when it does not
 * exist, through rk's admin API (on the embedded broker, through k). 0, or -1 with errstr. */
int lc_errors_ensure_dlq(const lc_errors_t *e, lc_kafka_t *k, rd_kafka_t *rk, char *errstr,
                         size_t errstr_size);
/** Reports one tolerated failure: logs it when errors.log.enable, and produces it to the DLQ
 * through rk (opaque goes to the delivery report) when a DLQ topic is set. While the
 * producer queue is full it waits for deliveries, until *abort (may be NULL) is set.
 * Returns 1 when a DLQ record was handed to the producer, 0 when none was needed, -1 with
 * errstr when producing failed or was aborted. */
int lc_errors_report(const lc_errors_t *e, const char *connector, int task_id, const char *ctx,
                     rd_kafka_t *rk, const lc_failure_t *f, void *opaque, atomic_int *abort,
                     char *errstr, size_t errstr_size);

#endif
