/* Unit tests for core/assignor.c: every connector and task placed once, balanced within one
 * per worker (connectors and tasks counted separately), what may stay stays, the fewest move,
 * the same answer for the same inputs, and revocations that list exactly what moves. */
#include "assignor.h"
#include "lc_test.h"

#include <stdlib.h>

/* The tasks [c,0] .. [c,n-1] of connector c. */
static json_t *tasks_of(const char *c, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_pack("[s,i]", c, i));
    return a;
}

static json_t *members3(void)
{
    return json_pack("[s,s,s]", "w1:8083", "w2:8083", "w3:8083");
}

static size_t held(json_t *a, const char *worker, const char *key)
{
    return json_array_size(json_object_get(json_object_get(a, worker), key));
}

/* The worker holding item (a string or [c,n]) under key in a, or NULL; checks it is held
 * at most once across all workers. */
static const char *holder(json_t *a, const char *key, json_t *item)
{
    const char *w, *found = NULL;
    json_t *v;
    int times = 0;
    json_object_foreach(a, w, v)
    {
        json_t *list = json_object_get(v, key), *x;
        size_t i;
        json_array_foreach(list, i, x) if (json_equal(x, item))
        {
            found = w;
            times++;
        }
    }
    CHECK(times <= 1);
    return found;
}

/* Every item of want is held once in a; returns how many changed worker from prev. */
static int moved(json_t *prev, json_t *a, const char *key, json_t *want)
{
    size_t i;
    json_t *item;
    int n = 0;
    json_array_foreach(want, i, item)
    {
        const char *now = holder(a, key, item);
        CHECK(now != NULL);
        const char *before = prev ? holder(prev, key, item) : NULL;
        if (before && now && strcmp(before, now) != 0) n++;
    }
    return n;
}

/* max - min of the sizes of key over every worker of a is at most 1. */
static int balanced(json_t *a, const char *key)
{
    const char *w;
    json_t *v;
    size_t lo = (size_t)-1, hi = 0;
    json_object_foreach(a, w, v)
    {
        size_t n = json_array_size(json_object_get(v, key));
        lo = n < lo ? n : lo;
        hi = n > hi ? n : hi;
    }
    return hi - lo <= 1;
}

static char *dump(json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

TEST(test_twelve_tasks_three_workers)
{
    json_t *m = members3(), *c = json_pack("[s]", "orders"), *t = tasks_of("orders", 12);
    json_t *a = lc_assign(m, NULL, c, t);
    CHECK(a != NULL);
    CHECK_INT(json_object_size(a), 3);
    CHECK_INT(held(a, "w1:8083", "tasks"), 4);
    CHECK_INT(held(a, "w2:8083", "tasks"), 4);
    CHECK_INT(held(a, "w3:8083", "tasks"), 4);
    CHECK_INT(moved(NULL, a, "tasks", t), 0);
    /* the one connector goes to the first worker in id order */
    CHECK_INT(held(a, "w1:8083", "connectors"), 1);
    /* new tasks spread round-robin: a connector's tasks do not pile up on one worker */
    json_t *first3 = json_object_get(json_object_get(a, "w1:8083"), "tasks");
    char *s = dump(first3);
    CHECK_STR(s, "[[\"orders\",0],[\"orders\",3],[\"orders\",6],[\"orders\",9]]");
    free(s);
    json_decref(a);
    json_decref(m);
    json_decref(c);
    json_decref(t);
}

TEST(test_worker_joins_three_move)
{
    json_t *m = members3(), *c = json_pack("[s]", "orders"), *t = tasks_of("orders", 12);
    json_t *prev = lc_assign(m, NULL, c, t);
    json_array_append_new(m, json_string("w4:8083"));
    json_t *next = lc_assign(m, prev, c, t);
    CHECK_INT(json_object_size(next), 4);
    for (int i = 1; i <= 4; i++) {
        char w[16];
        snprintf(w, sizeof(w), "w%d:8083", i);
        CHECK_INT(held(next, w, "tasks"), 3);
    }
    CHECK_INT(moved(prev, next, "tasks", t), 3);
    CHECK_INT(moved(prev, next, "connectors", c), 0);
    /* one task revoked from each old worker, nothing from the new one */
    json_t *rev = lc_assign_revocations(prev, next, m);
    CHECK_INT(json_object_size(rev), 3);
    for (int i = 1; i <= 3; i++) {
        char w[16];
        snprintf(w, sizeof(w), "w%d:8083", i);
        CHECK_INT(held(rev, w, "tasks"), 1);
        CHECK_INT(held(rev, w, "connectors"), 0);
        json_t *r = json_array_get(json_object_get(json_object_get(rev, w), "tasks"), 0);
        CHECK_STR(holder(next, "tasks", r), "w4:8083");
    }
    CHECK(json_object_get(rev, "w4:8083") == NULL);
    json_decref(rev);
    json_decref(prev);
    json_decref(next);
    json_decref(m);
    json_decref(c);
    json_decref(t);
}

TEST(test_worker_leaves_only_its_work_moves)
{
    json_t *m = json_pack("[s,s,s,s]", "w1:8083", "w2:8083", "w3:8083", "w4:8083");
    json_t *c = json_pack("[s,s,s,s]", "a", "b", "c", "d"), *t = tasks_of("orders", 12);
    json_t *prev = lc_assign(m, NULL, c, t);
    CHECK_INT(held(prev, "w2:8083", "connectors"), 1);
    CHECK_INT(held(prev, "w2:8083", "tasks"), 3);
    json_t *m3 = json_pack("[s,s,s]", "w1:8083", "w3:8083", "w4:8083");
    json_t *next = lc_assign(m3, prev, c, t);
    CHECK_INT(json_object_size(next), 3);
    CHECK(json_object_get(next, "w2:8083") == NULL);
    CHECK(balanced(next, "tasks"));
    CHECK(balanced(next, "connectors"));
    /* everything the survivors held stays where it was */
    const char *w;
    json_t *v;
    json_object_foreach(prev, w, v)
    {
        if (strcmp(w, "w2:8083") == 0) continue;
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(v, "tasks"), i, x)
            CHECK_STR(holder(next, "tasks", x), w);
        json_array_foreach(json_object_get(v, "connectors"), i, x)
            CHECK_STR(holder(next, "connectors", x), w);
    }
    CHECK_INT(moved(prev, next, "tasks", t), 3);
    CHECK_INT(moved(prev, next, "connectors", c), 1);
    /* a departure revokes nothing from the survivors */
    json_t *rev = lc_assign_revocations(prev, next, m3);
    CHECK_INT(json_object_size(rev), 0);
    json_decref(rev);
    json_decref(prev);
    json_decref(next);
    json_decref(m);
    json_decref(m3);
    json_decref(c);
    json_decref(t);
}

TEST(test_connectors_balanced_separately)
{
    /* w1 runs every connector and no task, w2 every task: both kinds are rebalanced on
     * their own, moving the fewest */
    json_t *m = json_pack("[s,s,s]", "w1", "w2", "w3");
    json_t *c = json_pack("[s,s,s,s,s]", "a", "b", "c", "d", "e"), *t = tasks_of("a", 6);
    json_t *prev = json_pack("{s:{s:O,s:[]},s:{s:[],s:O}}", "w1", "connectors", c, "tasks", "w2",
                             "connectors", "tasks", t);
    json_t *next = lc_assign(m, prev, c, t);
    CHECK_INT(held(next, "w1", "connectors"), 2);
    CHECK_INT(held(next, "w2", "connectors"), 2);
    CHECK_INT(held(next, "w3", "connectors"), 1);
    CHECK_INT(held(next, "w1", "tasks"), 2);
    CHECK_INT(held(next, "w2", "tasks"), 2);
    CHECK_INT(held(next, "w3", "tasks"), 2);
    CHECK_INT(moved(prev, next, "connectors", c), 3);
    CHECK_INT(moved(prev, next, "tasks", t), 4);
    json_decref(prev);
    json_decref(next);
    json_decref(m);
    json_decref(c);
    json_decref(t);
}

TEST(test_uneven_split_moves_fewest)
{
    /* 7 tasks held 1/2/4: the extra one stays with the worker holding 4, so one task moves
     * (giving the extra to the first worker instead would move two) */
    json_t *m = json_pack("[s,s,s]", "w1", "w2", "w3"), *c = json_array();
    json_t *t = tasks_of("x", 7);
    json_t *prev =
        json_pack("{s:{s:[],s:[[s,i]]},s:{s:[],s:[[s,i],[s,i]]},"
                  "s:{s:[],s:[[s,i],[s,i],[s,i],[s,i]]}}",
                  "w1", "connectors", "tasks", "x", 0, "w2", "connectors", "tasks", "x", 1, "x", 2,
                  "w3", "connectors", "tasks", "x", 3, "x", 4, "x", 5, "x", 6);
    json_t *next = lc_assign(m, prev, c, t);
    CHECK_INT(held(next, "w1", "tasks"), 2);
    CHECK_INT(held(next, "w2", "tasks"), 2);
    CHECK_INT(held(next, "w3", "tasks"), 3);
    CHECK_INT(moved(prev, next, "tasks", t), 1);
    json_decref(prev);
    json_decref(next);
    json_decref(m);
    json_decref(c);
    json_decref(t);
}

TEST(test_empty)
{
    json_t *none = json_array(), *c = json_pack("[s]", "a"), *t = tasks_of("a", 2);
    json_t *a = lc_assign(none, NULL, c, t);
    CHECK(a != NULL);
    CHECK_INT(json_object_size(a), 0);
    json_decref(a);
    /* members but no work: each gets empty lists */
    json_t *m = members3();
    a = lc_assign(m, NULL, none, none);
    char *s = dump(a);
    CHECK_STR(s, "{\"w1:8083\":{\"connectors\":[],\"tasks\":[]},\"w2:8083\":{\"connectors\":[],"
                 "\"tasks\":[]},\"w3:8083\":{\"connectors\":[],\"tasks\":[]}}");
    free(s);
    json_decref(a);
    /* not an array of members */
    CHECK(lc_assign(NULL, NULL, c, t) == NULL);
    json_decref(m);
    json_decref(none);
    json_decref(c);
    json_decref(t);
}

TEST(test_stable_output)
{
    json_t *m = json_pack("[s,s,s]", "w1", "w2", "w3");
    json_t *m_perm = json_pack("[s,s,s,s]", "w3", "w1", "w2", "w1");
    json_t *c = json_pack("[s,s,s,s]", "a", "b", "c", "d");
    json_t *c_perm = json_pack("[s,s,s,s]", "d", "b", "c", "a");
    json_t *t =
        json_pack("[[s,i],[s,i],[s,i],[s,i],[s,i]]", "a", 0, "a", 1, "b", 0, "c", 0, "c", 1);
    json_t *t_perm =
        json_pack("[[s,i],[s,i],[s,i],[s,i],[s,i]]", "c", 1, "b", 0, "a", 1, "c", 0, "a", 0);
    json_t *prev = json_pack("{s:{s:[s],s:[[s,i]]}}", "w2", "connectors", "c", "tasks", "c", 1);
    json_t *x = lc_assign(m, prev, c, t), *y = lc_assign(m, prev, c, t);
    json_t *z = lc_assign(m_perm, prev, c_perm, t_perm);
    char *sx = dump(x), *sy = dump(y), *sz = dump(z);
    CHECK_STR(sy, sx);
    CHECK_STR(sz, sx);
    /* sticky: w2 keeps what it had */
    json_t *c1 = json_pack("[s,i]", "c", 1), *cc = json_string("c");
    CHECK_STR(holder(x, "tasks", c1), "w2");
    CHECK_STR(holder(x, "connectors", cc), "w2");
    free(sx);
    free(sy);
    free(sz);
    json_decref(c1);
    json_decref(cc);
    json_decref(x);
    json_decref(y);
    json_decref(z);
    json_decref(prev);
    json_decref(m);
    json_decref(m_perm);
    json_decref(c);
    json_decref(c_perm);
    json_decref(t);
    json_decref(t_perm);
}

TEST(test_revocations_exact)
{
    /* connector b deleted (and its task), w1 also held a duplicate of [a,0] that w2 has,
     * and a newcomer w3 takes a share: revocations are exactly prev minus next per worker */
    json_t *m = json_pack("[s,s,s]", "w1", "w2", "w3");
    json_t *prev =
        json_pack("{s:{s:[s,s],s:[[s,i],[s,i],[s,i]]},s:{s:[],s:[[s,i],[s,i]]},"
                  "s:{s:[s],s:[[s,i]]}}",
                  "w1", "connectors", "a", "b", "tasks", "a", 0, "a", 1, "b", 0, "w2", "connectors",
                  "tasks", "a", 0, "a", 2, "gone", "connectors", "c", "tasks", "c", 0);
    json_t *c = json_pack("[s,s]", "a", "c"),
           *t = json_pack("[[s,i],[s,i],[s,i],[s,i]]", "a", 0, "a", 1, "a", 2, "c", 0);
    json_t *next = lc_assign(m, prev, c, t);
    CHECK(balanced(next, "tasks"));
    CHECK(balanced(next, "connectors"));
    CHECK_INT(moved(NULL, next, "tasks", t), 0); /* each held once */
    /* the duplicate stays with w1 (first in id order) */
    json_t *a0 = json_pack("[s,i]", "a", 0);
    CHECK_STR(holder(next, "tasks", a0), "w1");
    json_decref(a0);
    json_t *rev = lc_assign_revocations(prev, next, m);
    /* check against prev minus next computed item by item */
    const char *w;
    json_t *v;
    int total = 0;
    json_object_foreach(prev, w, v)
    {
        const char *keys[] = {"connectors", "tasks"};
        for (int k = 0; k < 2; k++) {
            size_t i;
            json_t *x;
            json_array_foreach(json_object_get(v, keys[k]), i, x)
            {
                const char *now = holder(next, keys[k], x);
                int should = strcmp(w, "gone") != 0 && (!now || strcmp(now, w) != 0);
                json_t *rl = json_object_get(json_object_get(rev, w), keys[k]), *r;
                size_t j;
                int listed = 0;
                json_array_foreach(rl, j, r) listed += json_equal(r, x);
                CHECK_INT(listed, should);
                total += should;
            }
        }
    }
    int in_rev = 0;
    json_object_foreach(rev, w, v) in_rev +=
        (int)(held(rev, w, "connectors") + held(rev, w, "tasks"));
    CHECK_INT(in_rev, total);
    /* w1 loses b and [b,0] (deleted) and [a,0] stays with it; w2 loses the duplicate */
    char *s = dump(json_object_get(rev, "w2"));
    CHECK_STR(s, "{\"connectors\":[],\"tasks\":[[\"a\",0]]}");
    free(s);
    CHECK(json_object_get(rev, "gone") == NULL);
    json_decref(rev);
    json_decref(next);
    json_decref(prev);
    json_decref(m);
    json_decref(c);
    json_decref(t);
}

/* Many joins and departures from a fixed pseudo-random sequence: every step balanced, each
 * item held once, and the moves equal the least any balanced assignment needs. */
TEST(test_sequence_minimal_moves)
{
    unsigned seed = 12345;
    json_t *prev = NULL, *t = json_array(), *c = json_array();
    for (int i = 0; i < 40; i++)
        json_array_append_new(t, json_pack("[s,i]", i % 3 ? "big" : "small", i));
    for (int i = 0; i < 9; i++) {
        char n[8];
        snprintf(n, sizeof(n), "c%d", i);
        json_array_append_new(c, json_string(n));
    }
    for (int step = 0; step < 60; step++) {
        json_t *m = json_array();
        for (int w = 0; w < 8; w++) {
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 16) % 3) {
                char id[16];
                snprintf(id, sizeof(id), "worker-%d", w);
                json_array_append_new(m, json_string(id));
            }
        }
        json_t *next = lc_assign(m, prev, c, t);
        const char *keys[] = {"connectors", "tasks"};
        json_t *want[] = {c, t};
        for (int k = 0; k < 2 && json_array_size(m) > 0; k++) {
            CHECK(balanced(next, keys[k]));
            /* least moves: items kept by survivors, above the balanced targets, with the
             * extra slots going to the most loaded survivors */
            size_t nm = json_array_size(m), total = json_array_size(want[k]);
            int counts[8], need = 0;
            for (size_t i = 0; i < nm; i++)
                counts[i] =
                    prev ? (int)held(prev, json_string_value(json_array_get(m, i)), keys[k]) : 0;
            for (size_t i = 0; i < nm; i++)
                for (size_t j = i + 1; j < nm; j++)
                    if (counts[j] > counts[i]) {
                        int tmp = counts[i];
                        counts[i] = counts[j];
                        counts[j] = tmp;
                    }
            for (size_t i = 0; i < nm; i++) {
                int target = (int)(total / nm) + (i < total % nm ? 1 : 0);
                if (counts[i] > target) need += counts[i] - target;
            }
            json_t *survivors = json_object();
            const char *w;
            json_t *v;
            if (prev)
                json_object_foreach(prev, w, v) if (json_object_get(next, w))
                    json_object_set(survivors, w, v);
            CHECK_INT(moved(survivors, next, keys[k], want[k]), need);
            json_decref(survivors);
        }
        json_decref(prev);
        prev = next;
        json_decref(m);
    }
    json_decref(prev);
    json_decref(t);
    json_decref(c);
}

int main(void)
{
    RUN(test_twelve_tasks_three_workers);
    RUN(test_worker_joins_three_move);
    RUN(test_worker_leaves_only_its_work_moves);
    RUN(test_connectors_balanced_separately);
    RUN(test_uneven_split_moves_fewest);
    RUN(test_empty);
    RUN(test_stable_output);
    RUN(test_revocations_exact);
    RUN(test_sequence_minimal_moves);
    return lc_test_summary(__FILE__);
}
