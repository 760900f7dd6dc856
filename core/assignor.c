/* assignor: see assignor.h. */
#include "assignor.h"

#include <stdlib.h>
#include <string.h>

static int contains(json_t *arr, json_t *v)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_equal(e, v)) return 1;
    }
    return 0;
}

static int cmp_items(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    if (json_is_string(x)) return strcmp(json_string_value(x), json_string_value(y));
    int c =
        strcmp(json_string_value(json_array_get(x, 0)), json_string_value(json_array_get(y, 0)));
    if (c) return c;
    json_int_t p = json_integer_value(json_array_get(x, 1)),
               q = json_integer_value(json_array_get(y, 1));
    return p < q ? -1 : p > q;
}

/* A sorted copy of arr. */
static json_t *sorted(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = calloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(arr, i);
    qsort(v, n, sizeof(*v), cmp_items);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One kind of work (connectors or tasks): lists[i] is what member i gets. */
static void balance(const char **members, int m, json_t *prev, const char *kind, json_t *all,
                    json_t **lists)
{
    json_t *taken = json_array();
    /* Sticky: whatever a member held and still exists stays with it, at most once. */
    for (int i = 0; i < m; i++) {
        lists[i] = json_array();
        json_t *held = sorted(json_object_get(json_object_get(prev, members[i]), kind));
        size_t j;
        json_t *e;
        json_array_foreach(held, j, e)
        {
            if (contains(all, e) && !contains(taken, e)) {
                json_array_append(lists[i], e);
                json_array_append(taken, e);
            }
        }
        json_decref(held);
    }
    json_t *pool = json_array();
    json_t *everything = sorted(all);
    size_t j;
    json_t *e;
    json_array_foreach(everything, j, e)
    {
        if (!contains(taken, e)) json_array_append(pool, e);
    }
    json_decref(everything);
    json_decref(taken);
    /* Quotas: floor(T/M) each, one more for T%M members — those holding the most now (ties:
     * member order), so the fewest move. */
    int total = (int)json_array_size(all);
    int base = total / m, extra = total % m;
    int *quota = calloc((size_t)m, sizeof(int)), *order = calloc((size_t)m, sizeof(int));
    /* A stable insertion sort by count, descending. */
    for (int i = 0; i < m; i++)
        order[i] = i;
    for (int a = 1; a < m; a++) {
        int v = order[a], b = a - 1;
        while (b >= 0 && json_array_size(lists[order[b]]) < json_array_size(lists[v])) {
            order[b + 1] = order[b];
            b--;
        }
        order[b + 1] = v;
    }
    for (int k = 0; k < m; k++)
        quota[order[k]] = base + (k < extra ? 1 : 0);
    /* Members over quota give up their last items. */
    for (int i = 0; i < m; i++)
        while ((int)json_array_size(lists[i]) > quota[i]) {
            size_t last = json_array_size(lists[i]) - 1;
            json_array_append(pool, json_array_get(lists[i], last));
            json_array_remove(lists[i], last);
        }
    json_t *pool_sorted = sorted(pool);
    json_decref(pool);
    /* Members under quota take from the pool, in member order. */
    size_t next = 0;
    for (int i = 0; i < m; i++)
        while ((int)json_array_size(lists[i]) < quota[i] && next < json_array_size(pool_sorted))
            json_array_append(lists[i], json_array_get(pool_sorted, next++));
    json_decref(pool_sorted);
    for (int i = 0; i < m; i++) {
        json_t *s = sorted(lists[i]);
        json_decref(lists[i]);
        lists[i] = s;
    }
    free(quota);
    free(order);
}

json_t *lc_assign(json_t *members, json_t *prev, json_t *connectors, json_t *tasks)
{
    size_t n = json_array_size(members);
    json_t *out = json_object();
    if (n == 0) return out;
    const char **ids = calloc(n, sizeof(*ids));
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        const char *id = json_string_value(json_array_get(members, i));
        int dup = 0;
        for (int k = 0; k < m; k++)
            if (strcmp(ids[k], id) == 0) dup = 1;
        if (id && !dup) ids[m++] = id;
    }
    qsort(ids, (size_t)m, sizeof(*ids), cmp_str);
    json_t **conns = calloc((size_t)m, sizeof(json_t *)),
           **tks = calloc((size_t)m, sizeof(json_t *));
    balance(ids, m, prev, "connectors", connectors, conns);
    balance(ids, m, prev, "tasks", tasks, tks);
    for (int i = 0; i < m; i++)
        json_object_set_new(out, ids[i],
                            json_pack("{s:o,s:o}", "connectors", conns[i], "tasks", tks[i]));
    free(conns);
    free(tks);
    free(ids);
    return out;
}

json_t *lc_assign_revocations(json_t *prev, json_t *next, json_t *members)
{
    json_t *out = json_object();
    const char *wid;
    json_t *a;
    json_object_foreach(prev, wid, a)
    {
        int member = 0;
        size_t i;
        json_t *e;
        json_array_foreach(members, i, e) if (strcmp(json_string_value(e), wid) == 0) member = 1;
        if (!member) continue;
        json_t *mine = json_object_get(next, wid);
        json_t *r = json_pack("{s:[],s:[]}", "connectors", "tasks");
        const char *kinds[] = {"connectors", "tasks"};
        for (int k = 0; k < 2; k++) {
            json_array_foreach(json_object_get(a, kinds[k]), i, e)
            {
                if (!contains(json_object_get(mine, kinds[k]), e))
                    json_array_append(json_object_get(r, kinds[k]), e);
            }
        }
        json_object_set_new(out, wid, r);
    }
    return out;
}
