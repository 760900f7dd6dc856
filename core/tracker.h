/* tracker: the source offset tracker.
 *
 * A source task registers every record before it hands it to the producer and acks
 * it from the delivery report. An offset becomes committable only when that record
 * and every earlier record of the same source partition were acknowledged by the
 * broker, so a kill -9 can never commit past a record Kafka does not have.
 * Single-threaded by design: delivery reports are served by rd_kafka_poll() on the
 * task's own thread. Depends on libc only. */
#ifndef LC_TRACKER_H
#define LC_TRACKER_H

#include <stddef.h>

typedef struct lc_tracker lc_tracker_t;
typedef struct lc_tracked lc_tracked_t;

/** Creates an empty tracker. */
lc_tracker_t *lc_tracker_new(void);
/** Frees the tracker and every outstanding handle; NULL is a no-op. */
void lc_tracker_destroy(lc_tracker_t *t);
/** Registers one record in send order. partition and offset are JSON texts (copied);
 * partition NULL means the record has no source offset (still counted as in flight).
 * Returns the handle to pass to lc_tracker_ack(), or NULL on OOM. */
lc_tracked_t *lc_tracker_add(lc_tracker_t *t, const char *partition, const char *offset);
/** Registers a superseded record of partition (not NULL): a later entry of the same
 * partition, added after it, carries the offset that covers both (the source task adds the
 * offset of a run's last record, acknowledged, right behind it). It holds its place in
 * the partition's order like any record (nothing after it is committable while it is
 * unacknowledged) but has no offset of its own, so the source task skips encoding one.
 * Returns the handle, or NULL on OOM. */
lc_tracked_t *lc_tracker_add_superseded(lc_tracker_t *t, const char *partition);
/** Registers a group: records of partition (NULL: without offsets) that share one entry,
 * for a source that sends many records under one offset (a line batch). Each record handed
 * to the producer is counted with lc_tracker_group_hold and acked with lc_tracker_ack(h),
 * as a record is. The group is acknowledged once it is closed and every record it holds was
 * acked; it is failed (and blocks its partition) if one of them failed. Its offset, given
 * at close, covers all its records. One allocation for the whole group. Returns the handle,
 * or NULL on OOM. */
lc_tracked_t *lc_tracker_add_group(lc_tracker_t *t, const char *partition);
/** Counts one more record of group h (sent with h as its handle). */
void lc_tracker_group_hold(lc_tracker_t *t, lc_tracked_t *h);
/** Closes group h with the offset (JSON text, copied; NULL: none, then the group commits
 * nothing of its own, like a superseded record). Returns 0, or -1 when the offset could not
 * be copied (out of memory: the group then counts as failed). */
int lc_tracker_group_close(lc_tracker_t *t, lc_tracked_t *h, const char *offset);
/** Marks a record delivered (ok=1) or failed (ok=0). A failed record blocks its
 * partition: nothing after it is ever committable. Each handle is acked once. */
void lc_tracker_ack(lc_tracker_t *t, lc_tracked_t *h, int ok);
/** Records added but not yet acked. */
size_t lc_tracker_in_flight(const lc_tracker_t *t);
/** Records acked with ok=0 since creation. */
size_t lc_tracker_failed(const lc_tracker_t *t);
/** Calls cb once per partition whose committable offset moved since the previous call,
 * with the newest committable offset, and forgets the entries before it. The offset is
 * that of the last committable record that has one (a text, or NULL for "forget"): a
 * partition whose committable records since the previous call were all superseded is not
 * reported.
 * Returns the number of partitions reported. */
size_t lc_tracker_take(lc_tracker_t *t,
                       void (*cb)(void *opaque, const char *partition, const char *offset),
                       void *opaque);

#endif
