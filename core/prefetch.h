/* prefetch: keeps a consumer's fetcher going while its prefetch queue stays bounded, on
 * librdkafka < 2.3 (no fetch.queue.backoff.ms).
 *
 * librdkafka 2.0.2 stops fetching once the consumer queue holds queued.min.messages
 * (rdkafka_fetcher.c, rd_kafka_toppar_fetch_decide) and gives no wake-up time for it: the
 * broker thread then sleeps on its ops and socket until the end of its 1 s serve window
 * (rd_kafka_max_block_ms, rdkafka_broker.c), however soon the application drains the
 * queue. A sink that reads faster than that waits up to a second every queue-full.
 * queued.max.messages.kbytes stops it the same way. lc_prefetch_tick notices that the queue
 * was full and has drained below both thresholds (messages counted by librdkafka, bytes
 * estimated from the value sizes of the last batch), and then sends the partitions' leaders
 * a ListOffsets request without waiting for the reply: any request queued for a broker
 * wakes its thread, which looks at the queue again and fetches. It does so on every tick
 * until the queue grows (a fetch landed) or is empty. Nothing fetched is dropped
 * (pause/resume or seek would purge the queue).
 * Depends on librdkafka, util. */
#ifndef LC_PREFETCH_H
#define LC_PREFETCH_H

#include <librdkafka/rdkafka.h>

typedef struct lc_prefetch lc_prefetch_t;

/** Watches consumer rk's queue (rd_kafka_poll_set_consumer done) against its effective
 * queued.min.messages and queued.max.messages.kbytes. NULL on allocation failure (the
 * caller goes on without it). */
lc_prefetch_t *lc_prefetch_new(rd_kafka_t *rk);
/** Call after each poll batch: msgs[0..n) were just taken from the queue. */
void lc_prefetch_tick(lc_prefetch_t *p, rd_kafka_message_t *const *msgs, int n);
void lc_prefetch_destroy(lc_prefetch_t *p);

#endif
