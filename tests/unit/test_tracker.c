/* Unit tests for core/tracker.c: only offsets whose record and every earlier record of
 * the same partition were acknowledged may be committed, each reported once. */
#include "lc_test.h"
#include "tracker.h"

#include <stdlib.h>

#define MAX_REPORTS 16

/* What one lc_tracker_take() reported, in callback order. */
typedef struct {
    int n;
    char partition[MAX_REPORTS][64];
    char offset[MAX_REPORTS][64];
    int offset_null[MAX_REPORTS];
} reports_t;

static void collect(void *opaque, const char *partition, const char *offset)
{
    reports_t *r = opaque;
    if (r->n == MAX_REPORTS) return;
    snprintf(r->partition[r->n], sizeof(r->partition[0]), "%s", partition);
    snprintf(r->offset[r->n], sizeof(r->offset[0]), "%s", offset ? offset : "");
    r->offset_null[r->n] = offset == NULL;
    r->n++;
}

/* Runs take and returns what it reported; checks the return value matches the calls. */
static reports_t take(lc_tracker_t *t)
{
    reports_t r = {0};
    size_t n = lc_tracker_take(t, collect, &r);
    CHECK_INT(n, r.n);
    return r;
}

/* Offset reported for partition, or NULL if it was not reported (exactly once). */
static const char *reported(const reports_t *r, const char *partition)
{
    const char *found = NULL;
    int times = 0;
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->partition[i], partition) == 0) {
            found = r->offset[i];
            times++;
        }
    CHECK(times <= 1);
    return found;
}

#define P1 "{\"file\":\"a.txt\"}"
#define P2 "{\"file\":\"b.txt\"}"

TEST(test_in_order)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *h[3];
    reports_t r;

    h[0] = lc_tracker_add(t, P1, "{\"pos\":1}");
    h[1] = lc_tracker_add(t, P1, "{\"pos\":2}");
    h[2] = lc_tracker_add(t, P1, "{\"pos\":3}");
    CHECK(h[0] && h[1] && h[2]);
    CHECK_INT(lc_tracker_in_flight(t), 3);
    r = take(t);
    CHECK_INT(r.n, 0); /* nothing acked yet */
    for (int i = 0; i < 3; i++)
        lc_tracker_ack(t, h[i], 1);
    CHECK_INT(lc_tracker_in_flight(t), 0);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(r.partition[0], P1);
    CHECK_STR(r.offset[0], "{\"pos\":3}");
    r = take(t);
    CHECK_INT(r.n, 0);
    lc_tracker_destroy(t);
}

TEST(test_out_of_order)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *h1 = lc_tracker_add(t, P1, "1");
    lc_tracked_t *h2 = lc_tracker_add(t, P1, "2");
    lc_tracked_t *h3 = lc_tracker_add(t, P1, "3");
    reports_t r;

    lc_tracker_ack(t, h3, 1);
    r = take(t);
    CHECK_INT(r.n, 0); /* 1 and 2 are not delivered yet: committing 3 could lose them */
    lc_tracker_ack(t, h1, 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P1), "1");
    CHECK_INT(lc_tracker_in_flight(t), 1);
    lc_tracker_ack(t, h2, 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P1), "3");
    CHECK_INT(lc_tracker_in_flight(t), 0);
    lc_tracker_destroy(t);
}

TEST(test_partitions_independent)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *a1 = lc_tracker_add(t, P1, "a1");
    lc_tracked_t *b1 = lc_tracker_add(t, P2, "b1");
    lc_tracked_t *a2 = lc_tracker_add(t, P1, "a2");
    lc_tracked_t *b2 = lc_tracker_add(t, P2, "b2");
    reports_t r;

    /* P2's first record is still in flight; that must not hold back P1. */
    lc_tracker_ack(t, a1, 1);
    lc_tracker_ack(t, a2, 1);
    lc_tracker_ack(t, b2, 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P1), "a2");
    CHECK(reported(&r, P2) == NULL);
    lc_tracker_ack(t, b1, 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P2), "b2");
    lc_tracker_destroy(t);
}

TEST(test_failed_blocks_its_partition)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *a1 = lc_tracker_add(t, P1, "a1");
    lc_tracked_t *a2 = lc_tracker_add(t, P1, "a2");
    lc_tracked_t *a3 = lc_tracker_add(t, P1, "a3");
    lc_tracked_t *b1 = lc_tracker_add(t, P2, "b1");
    reports_t r;

    lc_tracker_ack(t, a1, 1);
    lc_tracker_ack(t, a2, 0);
    lc_tracker_ack(t, a3, 1);
    lc_tracker_ack(t, b1, 1);
    CHECK_INT(lc_tracker_failed(t), 1);
    CHECK_INT(lc_tracker_in_flight(t), 0);
    r = take(t);
    CHECK_INT(r.n, 2);
    CHECK_STR(reported(&r, P1), "a1"); /* up to, never past, the failed record */
    CHECK_STR(reported(&r, P2), "b1");

    /* Later records of P1 never become committable; P2 carries on. */
    lc_tracked_t *a4 = lc_tracker_add(t, P1, "a4");
    lc_tracked_t *b2 = lc_tracker_add(t, P2, "b2");
    lc_tracker_ack(t, a4, 1);
    lc_tracker_ack(t, b2, 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK(reported(&r, P1) == NULL);
    CHECK_STR(reported(&r, P2), "b2");
    r = take(t);
    CHECK_INT(r.n, 0);
    CHECK_INT(lc_tracker_failed(t), 1);
    lc_tracker_destroy(t);
}

TEST(test_failed_head_blocks)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *a1 = lc_tracker_add(t, P1, "a1");
    lc_tracked_t *a2 = lc_tracker_add(t, P1, "a2");
    reports_t r;

    lc_tracker_ack(t, a2, 1);
    lc_tracker_ack(t, a1, 0);
    r = take(t);
    CHECK_INT(r.n, 0);
    lc_tracker_destroy(t);
}

TEST(test_reported_once_until_moved)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *h;
    reports_t r;

    for (int i = 0; i < 5; i++) {
        char off[16];
        snprintf(off, sizeof(off), "%d", i);
        lc_tracker_ack(t, lc_tracker_add(t, P1, off), 1);
    }
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P1), "4");
    r = take(t);
    CHECK_INT(r.n, 0);

    /* An add alone does not move the offset; its ack does. */
    h = lc_tracker_add(t, P1, "5");
    r = take(t);
    CHECK_INT(r.n, 0);
    lc_tracker_ack(t, h, 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P1), "5");
    CHECK_INT(take(t).n, 0);

    /* A callback is optional; the offsets are still consumed. */
    lc_tracker_ack(t, lc_tracker_add(t, P1, "6"), 1);
    CHECK_INT(lc_tracker_take(t, NULL, NULL), 1);
    CHECK_INT(take(t).n, 0);
    lc_tracker_destroy(t);
}

TEST(test_null_partition)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *n1 = lc_tracker_add(t, NULL, NULL);
    lc_tracked_t *a1 = lc_tracker_add(t, P1, "a1");
    lc_tracked_t *n2 = lc_tracker_add(t, NULL, "ignored");
    lc_tracked_t *n3 = lc_tracker_add(t, NULL, NULL);
    reports_t r;

    CHECK(n1 && a1 && n2 && n3);
    CHECK_INT(lc_tracker_in_flight(t), 4);
    lc_tracker_ack(t, n2, 1);
    lc_tracker_ack(t, n1, 0); /* a failed record without a partition blocks nothing */
    lc_tracker_ack(t, a1, 1);
    CHECK_INT(lc_tracker_in_flight(t), 1);
    CHECK_INT(lc_tracker_failed(t), 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P1), "a1");
    lc_tracker_ack(t, n3, 1);
    CHECK_INT(lc_tracker_in_flight(t), 0);
    r = take(t);
    CHECK_INT(r.n, 0);
    lc_tracker_destroy(t);
}

TEST(test_null_offset)
{
    /* A NULL offset for a real partition reaches the callback as NULL, not as "". */
    lc_tracker_t *t = lc_tracker_new();
    reports_t r;

    lc_tracker_ack(t, lc_tracker_add(t, P1, "x"), 1);
    lc_tracker_ack(t, lc_tracker_add(t, P1, NULL), 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(r.partition[0], P1);
    CHECK_INT(r.offset_null[0], 1);
    lc_tracker_destroy(t);
}

TEST(test_counts)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *h[6];

    CHECK_INT(lc_tracker_in_flight(t), 0);
    CHECK_INT(lc_tracker_failed(t), 0);
    for (int i = 0; i < 6; i++)
        h[i] = lc_tracker_add(t, i % 2 ? P1 : P2, "o");
    CHECK_INT(lc_tracker_in_flight(t), 6);
    lc_tracker_ack(t, h[0], 1);
    lc_tracker_ack(t, h[3], 0);
    lc_tracker_ack(t, h[4], 0);
    CHECK_INT(lc_tracker_in_flight(t), 3);
    CHECK_INT(lc_tracker_failed(t), 2);
    /* Acking a queued handle twice is a caller bug; it must not skew the counts. */
    lc_tracker_ack(t, h[3], 1);
    CHECK_INT(lc_tracker_in_flight(t), 3);
    CHECK_INT(lc_tracker_failed(t), 2);
    take(t);
    CHECK_INT(lc_tracker_in_flight(t), 3);
    CHECK_INT(lc_tracker_failed(t), 2);
    /* Destroy frees the records never acked (valgrind and ASan check this). */
    lc_tracker_destroy(t);
    lc_tracker_destroy(NULL);
}

TEST(test_partition_reused_after_drain)
{
    /* A fully committed partition may be forgotten; a later record must start afresh. */
    lc_tracker_t *t = lc_tracker_new();
    reports_t r;

    lc_tracker_ack(t, lc_tracker_add(t, P1, "1"), 1);
    r = take(t);
    CHECK_STR(reported(&r, P1), "1");
    lc_tracked_t *h2 = lc_tracker_add(t, P1, "2");
    lc_tracked_t *h3 = lc_tracker_add(t, P1, "3");
    lc_tracker_ack(t, h3, 1);
    CHECK_INT(take(t).n, 0);
    lc_tracker_ack(t, h2, 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P1), "3");
    lc_tracker_destroy(t);
}

/* --- many partitions, random ack order --------------------------------------------- */

/* Superseded records (a later record of the partition carries their offset): they hold
 * their place in the order but are never reported themselves. */
TEST(test_superseded_then_real)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *s1 = lc_tracker_add_superseded(t, P1);
    lc_tracked_t *s2 = lc_tracker_add_superseded(t, P1);
    lc_tracked_t *a3 = lc_tracker_add(t, P1, "a3");
    reports_t r;

    CHECK(s1 && s2 && a3);
    CHECK(lc_tracker_add_superseded(t, NULL) == NULL); /* a superseded record has a partition */
    CHECK_INT(lc_tracker_in_flight(t), 3);
    lc_tracker_ack(t, s1, 1);
    lc_tracker_ack(t, s2, 1);
    lc_tracker_ack(t, a3, 1);
    CHECK_INT(lc_tracker_in_flight(t), 0);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P1), "a3");
    CHECK_INT(take(t).n, 0);

    /* The partition's FIFO emptied; it starts again cleanly. */
    lc_tracked_t *s4 = lc_tracker_add_superseded(t, P1);
    lc_tracked_t *a5 = lc_tracker_add(t, P1, NULL); /* "forget" stays NULL after superseded */
    lc_tracker_ack(t, a5, 1);
    CHECK_INT(take(t).n, 0); /* s4 still in flight holds a5 back */
    lc_tracker_ack(t, s4, 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_INT(r.offset_null[0], 1);
    lc_tracker_destroy(t);
}

TEST(test_superseded_acked_real_not_yet)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *a1 = lc_tracker_add(t, P1, "a1");
    lc_tracked_t *s2 = lc_tracker_add_superseded(t, P1);
    lc_tracked_t *s3 = lc_tracker_add_superseded(t, P1);
    lc_tracked_t *a4 = lc_tracker_add(t, P1, "a4");
    reports_t r;

    lc_tracker_ack(t, a1, 1);
    r = take(t);
    CHECK_STR(reported(&r, P1), "a1");
    /* Only superseded records became committable: nothing new to report, a1 stands. */
    lc_tracker_ack(t, s2, 1);
    lc_tracker_ack(t, s3, 1);
    r = take(t);
    CHECK_INT(r.n, 0);
    CHECK_INT(lc_tracker_in_flight(t), 1);
    lc_tracker_ack(t, a4, 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P1), "a4");
    /* A real record acked before the superseded one ahead of it waits for it. */
    lc_tracked_t *s5 = lc_tracker_add_superseded(t, P1);
    lc_tracked_t *a6 = lc_tracker_add(t, P1, "a6");
    lc_tracker_ack(t, a6, 1);
    CHECK_INT(take(t).n, 0);
    lc_tracker_ack(t, s5, 1);
    r = take(t);
    CHECK_STR(reported(&r, P1), "a6");
    lc_tracker_destroy(t);
}

TEST(test_superseded_then_failed)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *a1 = lc_tracker_add(t, P1, "a1");
    lc_tracked_t *s2 = lc_tracker_add_superseded(t, P1);
    lc_tracked_t *s3 = lc_tracker_add_superseded(t, P1);
    lc_tracked_t *a4 = lc_tracker_add(t, P1, "a4");
    lc_tracked_t *s5 = lc_tracker_add_superseded(t, P1);
    lc_tracked_t *a6 = lc_tracker_add(t, P1, "a6");
    reports_t r;

    lc_tracker_ack(t, a1, 1);
    lc_tracker_ack(t, s2, 1);
    lc_tracker_ack(t, s3, 1);
    lc_tracker_ack(t, a4, 0); /* the record carrying s2 and s3's offset failed */
    lc_tracker_ack(t, s5, 1);
    lc_tracker_ack(t, a6, 1);
    CHECK_INT(lc_tracker_failed(t), 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P1), "a1"); /* never past the failed record */
    CHECK_INT(take(t).n, 0);

    /* A failed superseded record blocks the partition as well. */
    lc_tracked_t *s7 = lc_tracker_add_superseded(t, P2);
    lc_tracked_t *b8 = lc_tracker_add(t, P2, "b8");
    lc_tracker_ack(t, b8, 1);
    lc_tracker_ack(t, s7, 0);
    CHECK_INT(take(t).n, 0);
    lc_tracker_destroy(t);
}

TEST(test_superseded_two_partitions)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *a1 = lc_tracker_add_superseded(t, P1);
    lc_tracked_t *b1 = lc_tracker_add_superseded(t, P2);
    lc_tracked_t *a2 = lc_tracker_add(t, P1, "a2");
    lc_tracked_t *b2 = lc_tracker_add_superseded(t, P2);
    lc_tracked_t *a3 = lc_tracker_add_superseded(t, P1);
    lc_tracked_t *b3 = lc_tracker_add(t, P2, "b3");
    lc_tracked_t *a4 = lc_tracker_add(t, P1, "a4");
    reports_t r;

    lc_tracker_ack(t, b3, 1);
    lc_tracker_ack(t, a2, 1);
    lc_tracker_ack(t, a1, 1);
    lc_tracker_ack(t, b2, 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P1), "a2");
    CHECK(reported(&r, P2) == NULL); /* b1 is still in flight */
    lc_tracker_ack(t, a3, 1);
    lc_tracker_ack(t, b1, 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P2), "b3");
    lc_tracker_ack(t, a4, 1);
    r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, P1), "a4");
    CHECK_INT(lc_tracker_in_flight(t), 0);
    lc_tracker_destroy(t);
}

enum { NPART = 1000, PER_PART = 100, NREC = NPART * PER_PART };

typedef struct {
    int reports[NPART]; /* times reported by the current take */
    int offset[NPART];  /* offset reported by the current take */
    int bad;            /* callbacks with text we did not produce */
} many_t;

static void many_collect(void *opaque, const char *partition, const char *offset)
{
    many_t *m = opaque;
    int p, o;
    if (sscanf(partition, "{\"file\":\"f%d\"}", &p) != 1 || p < 0 || p >= NPART ||
        sscanf(offset, "{\"line\":%d}", &o) != 1) {
        m->bad++;
        return;
    }
    m->reports[p]++;
    m->offset[p] = o;
}

static unsigned long long rng_state = 88172645463325252ULL;

static unsigned long long rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Checks one take against a model: a partition is reported iff its acked prefix grew,
 * and then with the offset of the last record of that prefix. */
static void many_take(lc_tracker_t *t, const unsigned char *acked, int *prefix, int *committed,
                      many_t *m)
{
    size_t moved = 0, n;

    memset(m, 0, sizeof(*m));
    n = lc_tracker_take(t, many_collect, m);
    CHECK_INT(m->bad, 0);
    for (int p = 0; p < NPART; p++) {
        while (prefix[p] < PER_PART && acked[p * PER_PART + prefix[p]])
            prefix[p]++;
        if (prefix[p] > committed[p]) {
            moved++;
            CHECK_INT(m->reports[p], 1);
            CHECK_INT(m->offset[p], prefix[p] - 1);
            committed[p] = prefix[p];
        } else {
            CHECK_INT(m->reports[p], 0);
        }
    }
    CHECK_INT(n, moved);
}

TEST(test_many_partitions_random_order)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t **h = malloc(NREC * sizeof(*h));
    int *order = malloc(NREC * sizeof(*order));
    unsigned char *acked = calloc(NREC, 1);
    int *prefix = calloc(NPART, sizeof(int)), *committed = calloc(NPART, sizeof(int));
    many_t *m = malloc(sizeof(*m));
    char part[64], off[64];

    /* Records are sent round-robin across partitions; record i is line i/NPART of
     * partition i%NPART. h is indexed by partition-major position. */
    for (int i = 0; i < NREC; i++) {
        int p = i % NPART, line = i / NPART;
        snprintf(part, sizeof(part), "{\"file\":\"f%d\"}", p);
        snprintf(off, sizeof(off), "{\"line\":%d}", line);
        h[p * PER_PART + line] = lc_tracker_add(t, part, off);
        CHECK(h[p * PER_PART + line] != NULL);
        order[i] = i;
    }
    CHECK_INT(lc_tracker_in_flight(t), NREC);
    for (int i = NREC - 1; i > 0; i--) {
        int j = (int)(rng() % (unsigned long long)(i + 1)), tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    for (int i = 0; i < NREC; i++) {
        lc_tracker_ack(t, h[order[i]], 1);
        acked[order[i]] = 1;
        if (i % 997 == 0) many_take(t, acked, prefix, committed, m);
    }
    CHECK_INT(lc_tracker_in_flight(t), 0);
    many_take(t, acked, prefix, committed, m);
    for (int p = 0; p < NPART; p++)
        CHECK_INT(committed[p], PER_PART); /* every partition ends at its last offset */
    CHECK_INT(lc_tracker_take(t, many_collect, m), 0);

    free(h);
    free(order);
    free(acked);
    free(prefix);
    free(committed);
    free(m);
    lc_tracker_destroy(t);
}

/* A group (a line batch) commits its offset once it is closed and every record it held was
 * acknowledged, in any order; a record after it in its partition waits for it. */
static void test_group_commits_when_closed_and_every_record_acked(void)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *g = lc_tracker_add_group(t, "P");
    for (int i = 0; i < 3; i++)
        lc_tracker_group_hold(t, g);
    CHECK_INT(lc_tracker_in_flight(t), 3);
    lc_tracker_ack(t, g, 1);
    lc_tracker_ack(t, g, 1);
    lc_tracker_ack(t, g, 1); /* every record acked, the group still open */
    CHECK_INT(take(t).n, 0);
    lc_tracked_t *after = lc_tracker_add(t, "P", "{\"position\":9}");
    lc_tracker_ack(t, after, 1);
    CHECK_INT(take(t).n, 0); /* behind the open group */
    CHECK_INT(lc_tracker_group_close(t, g, "{\"position\":6}"), 0);
    reports_t r = take(t);
    CHECK_INT(r.n, 1);
    CHECK_STR(reported(&r, "P"), "{\"position\":9}");
    CHECK_INT(lc_tracker_in_flight(t), 0);

    g = lc_tracker_add_group(t, "P");
    lc_tracker_group_hold(t, g);
    lc_tracker_group_hold(t, g);
    CHECK_INT(lc_tracker_group_close(t, g, "{\"position\":12}"), 0);
    lc_tracker_ack(t, g, 1);
    CHECK_INT(take(t).n, 0); /* closed, one record still in flight */
    lc_tracker_ack(t, g, 1);
    r = take(t);
    CHECK_STR(reported(&r, "P"), "{\"position\":12}");
    lc_tracker_destroy(t);
}

/* A group one of whose records failed blocks its partition, as a failed record does; a group
 * closed without an offset commits nothing of its own; a group of records without a
 * partition blocks nothing. */
static void test_group_failed_or_without_offset(void)
{
    lc_tracker_t *t = lc_tracker_new();
    lc_tracked_t *first = lc_tracker_add(t, "P", "{\"position\":1}");
    lc_tracked_t *g = lc_tracker_add_group(t, "P");
    lc_tracker_group_hold(t, g);
    lc_tracker_group_hold(t, g);
    lc_tracker_ack(t, first, 1);
    lc_tracker_ack(t, g, 1);
    lc_tracker_ack(t, g, 0);
    CHECK_INT(lc_tracker_group_close(t, g, "{\"position\":5}"), 0);
    lc_tracked_t *later = lc_tracker_add(t, "P", "{\"position\":7}");
    lc_tracker_ack(t, later, 1);
    reports_t r = take(t);
    CHECK_STR(reported(&r, "P"), "{\"position\":1}"); /* never past the failed group */
    CHECK_INT(take(t).n, 0);
    CHECK_INT(lc_tracker_failed(t), 1);

    lc_tracked_t *q = lc_tracker_add(t, "Q", "{\"n\":1}");
    lc_tracked_t *h = lc_tracker_add_group(t, "Q");
    lc_tracker_group_hold(t, h);
    lc_tracker_ack(t, q, 1);
    lc_tracker_ack(t, h, 1);
    CHECK_INT(lc_tracker_group_close(t, h, NULL), 0);
    r = take(t);
    CHECK_STR(reported(&r, "Q"), "{\"n\":1}"); /* the group adds no offset of its own */

    lc_tracked_t *n = lc_tracker_add_group(t, NULL);
    lc_tracker_group_hold(t, n);
    lc_tracker_ack(t, n, 0);
    CHECK_INT(lc_tracker_group_close(t, n, NULL), 0);
    lc_tracked_t *m = lc_tracker_add(t, NULL, NULL);
    lc_tracker_ack(t, m, 1);
    take(t);
    CHECK_INT(lc_tracker_in_flight(t), 0);
    lc_tracker_destroy(t);
}

int main(void)
{
    RUN(test_in_order);
    RUN(test_out_of_order);
    RUN(test_partitions_independent);
    RUN(test_failed_blocks_its_partition);
    RUN(test_failed_head_blocks);
    RUN(test_reported_once_until_moved);
    RUN(test_null_partition);
    RUN(test_null_offset);
    RUN(test_counts);
    RUN(test_partition_reused_after_drain);
    RUN(test_superseded_then_real);
    RUN(test_superseded_acked_real_not_yet);
    RUN(test_superseded_then_failed);
    RUN(test_superseded_two_partitions);
    RUN(test_many_partitions_random_order);
    RUN(test_group_commits_when_closed_and_every_record_acked);
    RUN(test_group_failed_or_without_offset);
    return lc_test_summary(__FILE__);
}
