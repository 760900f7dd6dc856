/* prefetch: wakes a consumer's fetcher once its full prefetch queue has drained (see
 * prefetch.h for why librdkafka 2.0.2 needs it). */
#include "prefetch.h"

#include <stdlib.h>

struct lc_prefetch {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* the consumer queue every assigned partition's fetches go to */
    long long min;       /* effective queued.min.messages */
    long long max_bytes; /* effective queued.max.messages.kbytes, in bytes */
    long long avg;       /* value bytes per message, from the last non-empty batch */
    long long last;      /* queue length at the last tick */
    int full;            /* the queue reached a threshold and no fetch landed since */
};

static long long conf_ll(rd_kafka_t *rk, const char *key, long long dflt)
{
    char v[32];
    size_t vs = sizeof(v);
    return rd_kafka_conf_get(rd_kafka_conf(rk), key, v, &vs) == RD_KAFKA_CONF_OK ? atoll(v)
                                                                                  : dflt;
}

lc_prefetch_t *lc_prefetch_new(rd_kafka_t *rk)
{
    lc_prefetch_t *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->rk = rk;
    p->min = conf_ll(rk, "queued.min.messages", 100000);
    p->max_bytes = conf_ll(rk, "queued.max.messages.kbytes", 65536) * 1024;
    p->q = rd_kafka_queue_get_consumer(rk);
    return p;
}

/* Queues a ListOffsets request for every assigned partition's leader and returns at once
 * (timeout 0: the replies are dropped); the request wakes the leader's broker thread. */
static void wake_fetchers(rd_kafka_t *rk)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(rk, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR && parts &&
        parts->cnt > 0) {
        for (int i = 0; i < parts->cnt; i++)
            parts->elems[i].offset = -1; /* the latest offset: the cheapest lookup */
        rd_kafka_offsets_for_times(rk, parts, 0);
    }
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
}

void lc_prefetch_tick(lc_prefetch_t *p, rd_kafka_message_t *const *msgs, int n)
{
    if (!p || !p->q) return;
    if (n > 0) {
        long long bytes = 0;
        for (int i = 0; i < n; i++)
            bytes += (long long)msgs[i]->len;
        p->avg = bytes / n;
    }
    long long len = (long long)rd_kafka_queue_length(p->q);
    /* Only this thread takes from the queue: since the last tick it never held more than
     * len + n, and held more than the last tick's length minus n only if a fetch landed. */
    long long peak = len + n;
    if (peak >= p->min || peak * p->avg >= p->max_bytes)
        p->full = 1; /* the fetcher may have stopped */
    else if (p->full && peak > p->last)
        p->full = 0; /* a fetch landed below the thresholds: the fetcher runs */
    p->last = len;
    if (!p->full || len >= p->min || len * p->avg >= p->max_bytes) return;
    wake_fetchers(p->rk);
    if (len == 0) p->full = 0; /* an empty queue is below every threshold */
}

void lc_prefetch_destroy(lc_prefetch_t *p)
{
    if (!p) return;
    if (p->q) rd_kafka_queue_destroy(p->q);
    free(p);
}
