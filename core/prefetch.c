/* prefetch: wakes a consumer's fetcher once its full prefetch queue has drained (see
 * prefetch.h for why librdkafka 2.0.2 needs it). */
#include "prefetch.h"

#include <stdlib.h>

struct lc_prefetch {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* the consumer queue every assigned partition's fetches go to */
    int min;             /* effective queued.min.messages */
    int full;            /* the queue was at the threshold since the last wake-up */
};

lc_prefetch_t *lc_prefetch_new(rd_kafka_t *rk)
{
    lc_prefetch_t *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    char v[32];
    size_t vs = sizeof(v);
    p->rk = rk;
    p->min = rd_kafka_conf_get(rd_kafka_conf(rk), "queued.min.messages", v, &vs) ==
                     RD_KAFKA_CONF_OK
                 ? atoi(v)
                 : 100000;
    p->q = rd_kafka_queue_get_consumer(rk);
    return p;
}

void lc_prefetch_tick(lc_prefetch_t *p, int batch)
{
    if (!p || !p->q) return;
    int len = (int)rd_kafka_queue_length(p->q);
    /* Between two ticks at most one batch was taken, so a queue that reached the threshold
     * at any moment is seen within a batch of it. */
    if (len >= p->min - batch) p->full = 1;
    if (!p->full || len >= p->min) return;
    p->full = 0;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(p->rk, &parts) == RD_KAFKA_RESP_ERR_NO_ERROR && parts &&
        parts->cnt > 0) {
        for (int i = 0; i < parts->cnt; i++)
            parts->elems[i].offset = -1; /* the latest offset: the cheapest lookup */
        /* Timeout 0: the requests are queued for the leaders (which wakes their threads),
         * the replies are dropped. */
        rd_kafka_offsets_for_times(p->rk, parts, 0);
    }
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
}

void lc_prefetch_destroy(lc_prefetch_t *p)
{
    if (!p) return;
    if (p->q) rd_kafka_queue_destroy(p->q);
    free(p);
}
