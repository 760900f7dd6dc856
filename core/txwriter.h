/* txwriter: the leader's fenceable writer — one transactional producer
 * (transactional.id=connect-cluster-<group.id>, as Kafka Connect's leader uses under
 * exactly-once) that writes a batch of records to the config and coordination topics in one
 * transaction. init_transactions fences whichever worker held the id before, so a deposed
 * leader (paused, partitioned) can never write again: its next write fails as fenced.
 * Depends on kafka, librdkafka. */
#ifndef LC_TXWRITER_H
#define LC_TXWRITER_H

#include <stddef.h>

#include "kafka.h"

typedef struct lc_txwriter lc_txwriter_t;

/** One record of a batch; value NULL is a tombstone. */
typedef struct lc_txrecord {
    const char *topic;
    const char *key;
    const char *value;
} lc_txrecord_t;

/** Creates the producer and claims transactional_id (fencing the previous holder); waits at
 * most timeout_ms. NULL with errstr. */
lc_txwriter_t *lc_txwriter_start(lc_kafka_t *k, const char *transactional_id, int timeout_ms,
                                 char *errstr, size_t errstr_size);
/** Writes n records in one transaction and waits for its commit. 0, or -1 with errstr (the
 * transaction was aborted; after a fatal error such as being fenced, lc_txwriter_fenced is
 * 1 and the writer must be stopped). */
int lc_txwriter_write(lc_txwriter_t *w, const lc_txrecord_t *recs, int n, int timeout_ms,
                      char *errstr, size_t errstr_size);
/** 1 once the writer hit a fatal error (fenced by a newer leader). */
int lc_txwriter_fenced(const lc_txwriter_t *w);
/** Fences every producer that used transactional_id (exactly-once source tasks of an older
 * generation): claims the id once and lets it go. 0, or -1 with errstr. */
int lc_txwriter_fence(lc_kafka_t *k, const char *transactional_id, int timeout_ms, char *errstr,
                      size_t errstr_size);
/** Frees the producer; NULL is a no-op. */
void lc_txwriter_stop(lc_txwriter_t *w);

#endif
