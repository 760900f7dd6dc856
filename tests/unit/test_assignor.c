/* The cluster's assignor (core/assignor.h): balance within +-1 (connectors and tasks counted
 * separately), stickiness (a joining worker takes exactly its share, a leaving worker's work is
 * all that moves), determinism, and revocations that list exactly what moves. */
#include "assignor.h"
#include "lc_test.h"

#include <stdlib.h>

/* ["w1","w2",...] */
static json_t *workers(int n)
{
    json_t *a = json_array();
    for (int i = 1; i <= n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "127.0.0.1:80%02d", i);
        json_array_append_new(a, json_string(id));
    }
    return a;
}

static const char *wid(int i)
{
    static char id[8][32];
    snprintf(id[i], sizeof(id[i]), "127.0.0.1:80%02d", i);
    return id[i];
}

/* [[c,0],...,[c,n-1]] appended to tasks */
static void add_tasks(json_t *tasks, const char *c, int n)
{
    for (int i = 0; i < n; i++)
        json_array_append_new(tasks, json_pack("[s,i]", c, i));
}

static int count(json_t *assignment, const char *w, const char *kind)
{
    return (int)json_array_size(json_object_get(json_object_get(assignment, w), kind));
}

/* Who holds item in assignment under kind, or NULL; fails the test when two hold it. */
static const char *holder(json_t *assignment, const char *kind, json_t *item)
{
    const char *found = NULL, *w;
    json_t *a;
    json_object_foreach(assignment, w, a)
    {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(a, kind), i, e)
        {
            if (json_equal(e, item)) {
                CHECK(found == NULL); /* assigned once */
                found = w;
            }
        }
    }
    return found;
}

/* Every item of all is assigned exactly once; only members appear; the counts per member of
 * kind are within +-1. Returns max-min. */
static int check_complete_and_balanced(json_t *assignment, json_t *members, const char *kind,
                                       json_t *all)
{
    size_t i;
    json_t *e;
    size_t total = 0;
    json_array_foreach(all, i, e) CHECK(holder(assignment, kind, e) != NULL);
    int lo = 1 << 30, hi = -1;
    json_array_foreach(members, i, e)
    {
        int n = count(assignment, json_string_value(e), kind);
        CHECK(json_object_get(assignment, json_string_value(e)) != NULL);
        lo = n < lo ? n : lo;
        hi = n > hi ? n : hi;
        total += (size_t)n;
    }
    CHECK_INT(total, json_array_size(all));
    CHECK_INT(json_object_size(assignment), json_array_size(members));
    CHECK(hi - lo <= 1);
    return hi - lo;
}

/* Items (of kind) whose holder differs between a and b. */
static int moved(json_t *a, json_t *b, const char *kind, json_t *all)
{
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e)
    {
        const char *x = holder(a, kind, e), *y = holder(b, kind, e);
        if (!x || !y || strcmp(x, y) != 0) n++;
    }
    return n;
}

/* revocations must be, for each member that held work in prev, exactly prev minus next. */
static void check_revocations(json_t *prev, json_t *next, json_t *members, json_t *rev)
{
    const char *kinds[] = {"connectors", "tasks"};
    const char *w;
    json_t *held;
    json_object_foreach(prev, w, held)
    {
        int member = 0;
        size_t i;
        json_t *e;
        json_array_foreach(members, i, e) member |= strcmp(json_string_value(e), w) == 0;
        json_t *r = json_object_get(rev, w);
        if (!member) {
            CHECK(r == NULL); /* a departed worker revokes nothing: it runs nothing */
            continue;
        }
        for (int k = 0; k < 2; k++) {
            json_t *want = json_array();
            json_array_foreach(json_object_get(held, kinds[k]), i, e)
            {
                if (holder(next, kinds[k], e) == NULL || strcmp(holder(next, kinds[k], e), w) != 0)
                    json_array_append(want, e);
            }
            json_t *got = json_object_get(r, kinds[k]);
            CHECK(json_is_array(got));
            CHECK_INT(json_array_size(got), json_array_size(want));
            json_array_foreach(want, i, e)
            {
                int in = 0;
                size_t j;
                json_t *g;
                json_array_foreach(got, j, g) in |= json_equal(g, e);
                CHECK(in);
            }
            json_decref(want);
        }
    }
    /* nobody else appears */
    json_t *r;
    json_object_foreach(rev, w, r) CHECK(json_object_get(prev, w) != NULL);
}

static int revoked_total(json_t *rev)
{
    int n = 0;
    const char *w;
    json_t *r;
    json_object_foreach(rev, w, r)
    {
        n += (int)json_array_size(json_object_get(r, "connectors"));
        n += (int)json_array_size(json_object_get(r, "tasks"));
    }
    return n;
}

TEST(twelve_tasks_over_three_workers_is_4_4_4)
{
    json_t *m = workers(3), *prev = json_object(), *conns = json_pack("[s]", "bal"),
           *tasks = json_array();
    add_tasks(tasks, "bal", 12);
    json_t *a = lc_assign(m, prev, conns, tasks);
    CHECK_INT(check_complete_and_balanced(a, m, "tasks", tasks), 0);
    check_complete_and_balanced(a, m, "connectors", conns);
    for (int i = 1; i <= 3; i++)
        CHECK_INT(count(a, wid(i), "tasks"), 4);
    /* a first assignment revokes nothing */
    json_t *rev = lc_assign_revocations(prev, a, m);
    CHECK_INT(revoked_total(rev), 0);
    json_decref(rev);
    json_decref(a);
    json_decref(m);
    json_decref(prev);
    json_decref(conns);
    json_decref(tasks);
}

TEST(a_fourth_worker_takes_exactly_three_tasks)
{
    json_t *m3 = workers(3), *m4 = workers(4), *empty = json_object(),
           *conns = json_pack("[s]", "bal"), *tasks = json_array();
    add_tasks(tasks, "bal", 12);
    json_t *a3 = lc_assign(m3, empty, conns, tasks);
    json_t *a4 = lc_assign(m4, a3, conns, tasks);
    check_complete_and_balanced(a4, m4, "tasks", tasks);
    for (int i = 1; i <= 4; i++)
        CHECK_INT(count(a4, wid(i), "tasks"), 3);
    CHECK_INT(moved(a3, a4, "tasks", tasks), 3);
    /* the 3 that moved all went to the new worker, one from each old worker */
    for (int i = 1; i <= 3; i++) {
        size_t j;
        json_t *e;
        int kept = 0;
        json_array_foreach(json_object_get(json_object_get(a3, wid(i)), "tasks"), j, e) kept +=
            holder(a4, "tasks", e) && strcmp(holder(a4, "tasks", e), wid(i)) == 0;
        CHECK_INT(kept, 3);
    }
    CHECK_INT(moved(a3, a4, "connectors", conns), 0); /* one connector: it stays */
    json_t *rev = lc_assign_revocations(a3, a4, m4);
    check_revocations(a3, a4, m4, rev);
    CHECK_INT(revoked_total(rev), 3);
    CHECK(json_object_get(rev, wid(4)) == NULL); /* the newcomer held nothing */
    json_decref(rev);
    json_decref(a3);
    json_decref(a4);
    json_decref(m3);
    json_decref(m4);
    json_decref(empty);
    json_decref(conns);
    json_decref(tasks);
}

TEST(a_leaving_worker_moves_only_its_own_work)
{
    json_t *m4 = workers(4), *empty = json_object(),
           *conns = json_pack("[ssss]", "a", "b", "c", "d"), *tasks = json_array();
    add_tasks(tasks, "a", 6);
    add_tasks(tasks, "b", 6);
    json_t *a4 = lc_assign(m4, empty, conns, tasks);
    /* worker 2 leaves */
    json_t *m3 = json_pack("[sss]", wid(1), wid(3), wid(4));
    json_t *a3 = lc_assign(m3, a4, conns, tasks);
    check_complete_and_balanced(a3, m3, "tasks", tasks);
    check_complete_and_balanced(a3, m3, "connectors", conns);
    const char *kinds[] = {"connectors", "tasks"};
    json_t *alls[] = {conns, tasks};
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *e;
        int n2 = count(a4, wid(2), kinds[k]);
        /* everything the survivors held stays with them */
        json_array_foreach(alls[k], i, e)
        {
            const char *before = holder(a4, kinds[k], e), *after = holder(a3, kinds[k], e);
            if (strcmp(before, wid(2)) != 0) CHECK_STR(after, before);
        }
        CHECK_INT(moved(a4, a3, kinds[k], alls[k]), n2);
    }
    /* nothing is taken from a survivor, so nothing is revoked */
    json_t *rev = lc_assign_revocations(a4, a3, m3);
    check_revocations(a4, a3, m3, rev);
    CHECK_INT(revoked_total(rev), 0);
    json_decref(rev);
    json_decref(a4);
    json_decref(a3);
    json_decref(m4);
    json_decref(m3);
    json_decref(empty);
    json_decref(conns);
    json_decref(tasks);
}

TEST(connectors_and_tasks_are_balanced_separately)
{
    json_t *m = workers(2), *conns = json_pack("[ssss]", "a", "b", "c", "d"), *tasks = json_array();
    add_tasks(tasks, "a", 4);
    /* worker 1 holds every connector, worker 2 every task */
    json_t *prev = json_pack("{s:{s:O,s:[]},s:{s:[],s:O}}", wid(1), "connectors", conns, "tasks",
                             wid(2), "connectors", "tasks", tasks);
    json_t *a = lc_assign(m, prev, conns, tasks);
    CHECK_INT(check_complete_and_balanced(a, m, "connectors", conns), 0);
    CHECK_INT(check_complete_and_balanced(a, m, "tasks", tasks), 0);
    CHECK_INT(moved(prev, a, "connectors", conns), 2);
    CHECK_INT(moved(prev, a, "tasks", tasks), 2);
    json_t *rev = lc_assign_revocations(prev, a, m);
    check_revocations(prev, a, m, rev);
    CHECK_INT(json_array_size(json_object_get(json_object_get(rev, wid(1)), "connectors")), 2);
    CHECK_INT(json_array_size(json_object_get(json_object_get(rev, wid(1)), "tasks")), 0);
    CHECK_INT(json_array_size(json_object_get(json_object_get(rev, wid(2)), "connectors")), 0);
    CHECK_INT(json_array_size(json_object_get(json_object_get(rev, wid(2)), "tasks")), 2);
    json_decref(rev);
    json_decref(a);
    json_decref(prev);
    /* 3 connectors of 2 tasks each over 3 workers: one connector and two tasks each */
    json_t *m3 = workers(3), *c3 = json_pack("[sss]", "x", "y", "z"), *t3 = json_array();
    add_tasks(t3, "x", 2);
    add_tasks(t3, "y", 2);
    add_tasks(t3, "z", 2);
    json_t *empty = json_object();
    json_t *b = lc_assign(m3, empty, c3, t3);
    for (int i = 1; i <= 3; i++) {
        CHECK_INT(count(b, wid(i), "connectors"), 1);
        CHECK_INT(count(b, wid(i), "tasks"), 2);
    }
    json_decref(b);
    json_decref(empty);
    json_decref(m3);
    json_decref(c3);
    json_decref(t3);
    json_decref(m);
    json_decref(conns);
    json_decref(tasks);
}

TEST(the_same_inputs_give_the_same_assignment)
{
    json_t *m = workers(3), *conns = json_pack("[sss]", "a", "b", "c"), *tasks = json_array();
    add_tasks(tasks, "a", 5);
    add_tasks(tasks, "b", 3);
    add_tasks(tasks, "c", 2);
    json_t *empty = json_object();
    json_t *first = lc_assign(m, empty, conns, tasks);
    /* the same sets in other orders */
    json_t *m_rev = json_pack("[sss]", wid(3), wid(1), wid(2)),
           *c_rev = json_pack("[sss]", "c", "a", "b"), *t_rev = json_array();
    for (size_t i = json_array_size(tasks); i-- > 0;)
        json_array_append(t_rev, json_array_get(tasks, i));
    for (int round = 0; round < 3; round++) {
        json_t *again = lc_assign(m, empty, conns, tasks);
        CHECK(json_equal(first, again));
        json_decref(again);
        json_t *other = lc_assign(m_rev, empty, c_rev, t_rev);
        CHECK(json_equal(first, other));
        json_decref(other);
    }
    /* and from a previous assignment: a second round changes nothing, revokes nothing */
    json_t *second = lc_assign(m, first, conns, tasks);
    CHECK(json_equal(first, second));
    json_t *rev = lc_assign_revocations(first, second, m);
    CHECK_INT(revoked_total(rev), 0);
    json_decref(rev);
    json_decref(second);
    json_decref(first);
    json_decref(empty);
    json_decref(m);
    json_decref(m_rev);
    json_decref(conns);
    json_decref(c_rev);
    json_decref(tasks);
    json_decref(t_rev);
}

TEST(deleted_work_disappears_and_new_work_fills_the_lightest)
{
    json_t *m = workers(3), *conns = json_pack("[ss]", "a", "b"), *tasks = json_array();
    add_tasks(tasks, "a", 6);
    add_tasks(tasks, "b", 3);
    json_t *empty = json_object();
    json_t *a = lc_assign(m, empty, conns, tasks);
    /* b deleted, c (3 tasks) created */
    json_t *conns2 = json_pack("[ss]", "a", "c"), *tasks2 = json_array();
    add_tasks(tasks2, "a", 6);
    add_tasks(tasks2, "c", 3);
    json_t *b = lc_assign(m, a, conns2, tasks2);
    check_complete_and_balanced(b, m, "tasks", tasks2);
    check_complete_and_balanced(b, m, "connectors", conns2);
    json_t *gone = json_pack("[s,i]", "b", 0);
    CHECK(holder(b, "tasks", gone) == NULL);
    json_decref(gone);
    /* a's tasks stay where they were */
    size_t i;
    json_t *e;
    json_array_foreach(tasks, i, e)
    {
        if (strcmp(json_string_value(json_array_get(e, 0)), "a") == 0)
            CHECK_STR(holder(b, "tasks", e), holder(a, "tasks", e));
    }
    /* what is deleted is revoked (prev minus next) */
    json_t *rev = lc_assign_revocations(a, b, m);
    check_revocations(a, b, m, rev);
    json_decref(rev);
    json_decref(a);
    json_decref(b);
    json_decref(empty);
    json_decref(m);
    json_decref(conns);
    json_decref(conns2);
    json_decref(tasks);
    json_decref(tasks2);
}

TEST(no_members_no_assignment)
{
    json_t *m = json_array(), *empty = json_object(), *conns = json_pack("[s]", "a"),
           *tasks = json_array();
    add_tasks(tasks, "a", 2);
    json_t *a = lc_assign(m, empty, conns, tasks);
    CHECK_INT(json_object_size(a), 0);
    json_decref(a);
    json_decref(m);
    json_decref(empty);
    json_decref(conns);
    json_decref(tasks);
}

int main(void)
{
    RUN(twelve_tasks_over_three_workers_is_4_4_4);
    RUN(a_fourth_worker_takes_exactly_three_tasks);
    RUN(a_leaving_worker_moves_only_its_own_work);
    RUN(connectors_and_tasks_are_balanced_separately);
    RUN(the_same_inputs_give_the_same_assignment);
    RUN(deleted_work_disappears_and_new_work_fills_the_lightest);
    RUN(no_members_no_assignment);
    return lc_test_summary(__FILE__);
}
