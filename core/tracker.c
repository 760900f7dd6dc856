/* tracker: the source offset tracker; see tracker.h for the contract.
 *
 * Each source partition owns a FIFO of its records in send order. An ack only marks its
 * record; when the acked record is the head of its FIFO the partition joins a "dirty"
 * list, and lc_tracker_take() pops the acked prefix of dirty partitions only. So add and
 * ack are O(1) amortised and take costs what it pops, however many partitions exist.
 * A failed record is never popped, which is what blocks its partition for good. A
 * superseded record is popped like any other but reports nothing: take reports the last
 * popped record that has an offset of its own.
 * Partitions live in a chained hash table keyed by the exact partition JSON text and are
 * freed when their FIFO empties, so a task cycling through many partitions stays small. */
#include "tracker.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct lc_tracker_part lc_tracker_part_t;

struct lc_tracked {
    lc_tracked_t *next; /* next record of the same partition, in send order */
    lc_tracker_part_t *part;
    unsigned char acked, failed, has_offset, superseded;
    unsigned char group, open; /* a group (lc_tracker_add_group), still open */
    size_t pending;            /* a group's records held and not acked yet */
    char *group_offset;        /* a group's offset, given when it closes */
    char offset[];             /* copied with the record: one allocation per add */
};

static void entry_free(lc_tracked_t *e)
{
    if (e) free(e->group_offset);
    free(e);
}

struct lc_tracker_part {
    lc_tracker_part_t *hnext; /* hash chain */
    lc_tracker_part_t *dnext; /* dirty list */
    lc_tracked_t *head, *tail;
    size_t hash;
    int dirty;
    char key[];
};

struct lc_tracker {
    lc_tracker_part_t **buckets;
    size_t nbuckets; /* power of two */
    size_t nparts;
    lc_tracker_part_t *dirty;    /* partitions whose head was acked since the last take */
    lc_tracker_part_t *nullpart; /* records without a partition; not in the hash table */
    lc_tracker_part_t *last;     /* the partition of the last add: a source sends runs of one */
    size_t in_flight, failed;
};

static size_t tracker_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

static void tracker_free_part(lc_tracker_part_t *pt)
{
    lc_tracked_t *e, *next;
    for (e = pt->head; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    free(pt);
}

lc_tracker_t *lc_tracker_new(void)
{
    lc_tracker_t *t = calloc(1, sizeof(*t));
    if (!t) goto err;
    t->nbuckets = 64;
    if (!(t->buckets = calloc(t->nbuckets, sizeof(*t->buckets)))) goto err;
    if (!(t->nullpart = calloc(1, sizeof(*t->nullpart) + 1))) goto err;
    return t;
err:
    lc_tracker_destroy(t);
    return NULL;
}

void lc_tracker_destroy(lc_tracker_t *t)
{
    if (!t) return;
    for (size_t b = 0; t->buckets && b < t->nbuckets; b++) {
        lc_tracker_part_t *pt, *next;
        for (pt = t->buckets[b]; pt; pt = next) {
            next = pt->hnext;
            tracker_free_part(pt);
        }
    }
    if (t->nullpart) tracker_free_part(t->nullpart);
    free(t->buckets);
    free(t);
}

/* Doubles the bucket array; on OOM the table keeps working, only with longer chains. */
static void tracker_grow(lc_tracker_t *t)
{
    size_t n = t->nbuckets * 2;
    lc_tracker_part_t **buckets = calloc(n, sizeof(*buckets));
    if (!buckets) return;
    for (size_t b = 0; b < t->nbuckets; b++) {
        lc_tracker_part_t *pt, *next;
        for (pt = t->buckets[b]; pt; pt = next) {
            next = pt->hnext;
            pt->hnext = buckets[pt->hash & (n - 1)];
            buckets[pt->hash & (n - 1)] = pt;
        }
    }
    free(t->buckets);
    t->buckets = buckets;
    t->nbuckets = n;
}

/* Returns the partition for key, creating it; NULL on OOM. */
static lc_tracker_part_t *tracker_part(lc_tracker_t *t, const char *key)
{
    size_t h, len;
    lc_tracker_part_t *pt = t->last;

    /* One strcmp instead of hashing the key when it is the last add's partition. */
    if (pt && strcmp(pt->key, key) == 0) return pt;
    h = tracker_hash(key);
    for (pt = t->buckets[h & (t->nbuckets - 1)]; pt; pt = pt->hnext)
        if (pt->hash == h && strcmp(pt->key, key) == 0) return t->last = pt;
    len = strlen(key);
    if (!(pt = calloc(1, sizeof(*pt) + len + 1))) return NULL;
    memcpy(pt->key, key, len + 1);
    pt->hash = h;
    if (t->nparts >= t->nbuckets) tracker_grow(t);
    pt->hnext = t->buckets[h & (t->nbuckets - 1)];
    t->buckets[h & (t->nbuckets - 1)] = pt;
    t->nparts++;
    return t->last = pt;
}

static void tracker_remove(lc_tracker_t *t, lc_tracker_part_t *pt)
{
    lc_tracker_part_t **pp = &t->buckets[pt->hash & (t->nbuckets - 1)];
    while (*pp != pt)
        pp = &(*pp)->hnext;
    *pp = pt->hnext;
    t->nparts--;
    if (t->last == pt) t->last = NULL;
    tracker_free_part(pt);
}

static lc_tracked_t *tracker_add(lc_tracker_t *t, const char *partition, const char *offset,
                                 int superseded)
{
    size_t olen = offset ? strlen(offset) : 0;
    lc_tracked_t *e = malloc(sizeof(*e) + olen + 1);
    lc_tracker_part_t *pt;

    if (!e) return NULL;
    if (!(pt = partition ? tracker_part(t, partition) : t->nullpart)) {
        free(e);
        return NULL;
    }
    e->next = NULL;
    e->part = pt;
    e->acked = e->failed = e->group = e->open = 0;
    e->pending = 0;
    e->group_offset = NULL;
    /* A NULL offset reaches the callback as NULL: Connect reads it as "forget this
     * partition's offset", which differs from any JSON text. */
    e->has_offset = offset != NULL;
    e->superseded = (unsigned char)superseded;
    memcpy(e->offset, offset ? offset : "", olen + 1);
    if (pt->tail)
        pt->tail->next = e;
    else
        pt->head = e;
    pt->tail = e;
    t->in_flight++;
    return e;
}

lc_tracked_t *lc_tracker_add(lc_tracker_t *t, const char *partition, const char *offset)
{
    return tracker_add(t, partition, offset, 0);
}

lc_tracked_t *lc_tracker_add_superseded(lc_tracker_t *t, const char *partition)
{
    return partition ? tracker_add(t, partition, NULL, 1) : NULL;
}

lc_tracked_t *lc_tracker_add_group(lc_tracker_t *t, const char *partition)
{
    lc_tracked_t *e = tracker_add(t, partition, NULL, 0);
    if (!e) return NULL;
    e->group = e->open = 1;
    t->in_flight--; /* a group counts the records it holds, not itself */
    return e;
}

void lc_tracker_group_hold(lc_tracker_t *t, lc_tracked_t *h)
{
    h->pending++;
    t->in_flight++;
}

/* A record or a closed group is acknowledged: its partition may commit further. */
static void acked(lc_tracker_t *t, lc_tracked_t *h)
{
    lc_tracker_part_t *pt = h->part;
    h->acked = 1;
    /* Only acking the head can extend the committable prefix; records without a
     * partition are dropped by take even when they failed, since they block nothing. */
    if (h == pt->head && (!h->failed || pt == t->nullpart) && !pt->dirty) {
        pt->dirty = 1;
        pt->dnext = t->dirty;
        t->dirty = pt;
    }
}

int lc_tracker_group_close(lc_tracker_t *t, lc_tracked_t *h, const char *offset)
{
    int rc = 0;
    if (offset && !(h->group_offset = strdup(offset))) {
        h->failed = 1; /* nothing after it commits: its records come again after a restart */
        offset = NULL;
        rc = -1;
    }
    h->has_offset = offset != NULL;
    h->open = 0;
    if (!h->pending) acked(t, h);
    return rc;
}

void lc_tracker_ack(lc_tracker_t *t, lc_tracked_t *h, int ok)
{
    if (h && h->group) {
        t->in_flight--;
        if (!ok) {
            t->failed++;
            h->failed = 1;
        }
        if (--h->pending == 0 && !h->open) acked(t, h);
        return;
    }
    if (!h || h->acked) /* a second ack of a still-queued record must not skew the counts */
        return;
    h->failed = !ok;
    t->in_flight--;
    if (!ok) t->failed++;
    acked(t, h);
}

size_t lc_tracker_in_flight(const lc_tracker_t *t)
{
    return t->in_flight;
}

size_t lc_tracker_failed(const lc_tracker_t *t)
{
    return t->failed;
}

size_t lc_tracker_take(lc_tracker_t *t,
                       void (*cb)(void *opaque, const char *partition, const char *offset),
                       void *opaque)
{
    lc_tracker_part_t *pt = t->dirty, *next;
    size_t reported = 0;

    /* Detached first, so a callback that adds or acks records starts a fresh list. */
    t->dirty = NULL;
    for (; pt; pt = next) {
        lc_tracked_t *last = NULL, *e;
        int isnull = pt == t->nullpart, popped = 0;

        next = pt->dnext;
        pt->dnext = NULL;
        pt->dirty = 0;
        while ((e = pt->head) && e->acked && (!e->failed || isnull)) {
            pt->head = e->next;
            popped = 1;
            if (e->superseded || (e->group && !e->has_offset)) { /* its offset is a later one's */
                entry_free(e);
                continue;
            }
            entry_free(last);
            last = e;
        }
        if (!pt->head) pt->tail = NULL;
        if (!popped) continue;
        if (last && !isnull) {
            /* last is freed only after the callback, which borrows its offset. */
            if (cb)
                cb(opaque, pt->key,
                   !last->has_offset ? NULL
                   : last->group     ? last->group_offset
                                     : last->offset);
            reported++;
        }
        entry_free(last);
        if (!isnull && !pt->head) tracker_remove(t, pt);
    }
    return reported;
}
