/* assignor: see assignor.h. Connectors and tasks are balanced one kind at a time by the same
 * routine over "items" (a connector is an item with task number -1). */
#include "assignor.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *conn; /* borrowed from the caller's JSON */
    long long task;   /* -1: the connector itself */
} item_t;

static int item_cmp(const void *a, const void *b)
{
    const item_t *x = a, *y = b;
    int c = strcmp(x->conn, y->conn);
    if (c) return c;
    return (x->task > y->task) - (x->task < y->task);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One entry of a "connectors" list (a string) or a "tasks" list ([string, integer]) into *it;
 * 0, or -1 when the entry has another shape. */
static int parse_item(json_t *v, int tasks, item_t *it)
{
    if (!tasks) {
        if (!json_is_string(v)) return -1;
        it->conn = json_string_value(v);
        it->task = -1;
        return 0;
    }
    json_t *c = json_array_get(v, 0), *n = json_array_get(v, 1);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(c) || !json_is_integer(n) ||
        json_integer_value(n) < 0)
        return -1;
    it->conn = json_string_value(c);
    it->task = json_integer_value(n);
    return 0;
}

/* The well-formed entries of arr (anything but an array: none), sorted, duplicates dropped.
 * *out is malloc'd (caller frees; may be NULL when *n is 0). 0, or -1 on OOM. */
static int parse_list(json_t *arr, int tasks, item_t **out, size_t *n)
{
    size_t cap = json_is_array(arr) ? json_array_size(arr) : 0, k = 0;
    *out = NULL;
    *n = 0;
    if (cap == 0) return 0;
    item_t *items = malloc(cap * sizeof(*items));
    if (!items) return -1;
    for (size_t i = 0; i < cap; i++)
        if (parse_item(json_array_get(arr, i), tasks, &items[k]) == 0) k++;
    qsort(items, k, sizeof(*items), item_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || item_cmp(&items[u - 1], &items[i]) != 0) items[u++] = items[i];
    *out = items;
    *n = u;
    return 0;
}

static json_t *item_json(const item_t *it)
{
    if (it->task < 0) return json_string(it->conn);
    return json_pack("[s,I]", it->conn, (json_int_t)it->task);
}

typedef struct {
    int count;
    int member;
} load_t;

/* Most loaded first, then worker id order: these keep the extra item of an uneven split. */
static int load_cmp(const void *a, const void *b)
{
    const load_t *x = a, *y = b;
    if (x->count != y->count) return y->count - x->count;
    return x->member - y->member;
}

/* Fills owner[i] (a member index) for each of the n sorted items. Items stay with their
 * first holder in prev (members in id order); then the split is decided: floor(n/m) each and
 * one more for the n%m workers that hold the most now, which makes the excess to move (what
 * each holds above its target) the smallest possible; the excess is revoked (highest items
 * first) and everything unowned goes, in item order, to the least loaded worker still below
 * its target, so new and moved work spreads round-robin. 0, or -1 on OOM. */
static int balance(const char **members, size_t nm, json_t *prev, int tasks, const item_t *items,
                   size_t n, int *owner)
{
    int *count = calloc(nm, sizeof(*count)), *target = calloc(nm, sizeof(*target));
    load_t *order = calloc(nm, sizeof(*order));
    int rc = -1;
    if (!count || !target || !order) goto out;

    for (size_t i = 0; i < n; i++)
        owner[i] = -1;
    for (size_t m = 0; m < nm; m++) {
        json_t *held =
            json_object_get(json_object_get(prev, members[m]), tasks ? "tasks" : "connectors");
        for (size_t j = 0; j < json_array_size(held); j++) {
            item_t it;
            if (parse_item(json_array_get(held, j), tasks, &it) != 0) continue;
            const item_t *found = n ? bsearch(&it, items, n, sizeof(*items), item_cmp) : NULL;
            if (found && owner[found - items] < 0) {
                owner[found - items] = (int)m;
                count[m]++;
            }
        }
    }

    for (size_t m = 0; m < nm; m++)
        order[m] = (load_t){count[m], (int)m};
    qsort(order, nm, sizeof(*order), load_cmp);
    for (size_t k = 0; k < nm; k++)
        target[order[k].member] = (int)(n / nm) + (k < n % nm ? 1 : 0);

    for (size_t i = n; i-- > 0;) {
        int m = owner[i];
        if (m >= 0 && count[m] > target[m]) {
            owner[i] = -1;
            count[m]--;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (owner[i] >= 0) continue;
        int best = -1;
        for (size_t m = 0; m < nm; m++)
            if (count[m] < target[m] && (best < 0 || count[m] < count[best])) best = (int)m;
        owner[i] = best; /* always found: the targets add up to n */
        count[best]++;
    }
    rc = 0;
out:
    free(count);
    free(target);
    free(order);
    return rc;
}

/* Adds the items to each owner's list under key in out. 0, or -1 on OOM. */
static int fill(json_t *out, const char **members, const item_t *items, size_t n, const int *owner,
                const char *key)
{
    for (size_t i = 0; i < n; i++) {
        json_t *list = json_object_get(json_object_get(out, members[owner[i]]), key);
        if (json_array_append_new(list, item_json(&items[i])) != 0) return -1;
    }
    return 0;
}

/* The distinct string members, sorted; *nm gets the count. NULL with *nm 0 for none. */
static const char **member_list(json_t *members, size_t *nm)
{
    size_t cap = json_array_size(members), k = 0;
    *nm = 0;
    if (cap == 0) return NULL;
    const char **list = malloc(cap * sizeof(*list));
    if (!list) return NULL;
    for (size_t i = 0; i < cap; i++)
        if (json_is_string(json_array_get(members, i)))
            list[k++] = json_string_value(json_array_get(members, i));
    qsort(list, k, sizeof(*list), str_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(list[u - 1], list[i]) != 0) list[u++] = list[i];
    *nm = u;
    return list;
}

json_t *lc_assign(json_t *members, json_t *prev, json_t *connectors, json_t *tasks)
{
    if (!json_is_array(members)) return NULL;
    size_t nm = 0, nc = 0, nt = 0;
    const char **mlist = member_list(members, &nm);
    item_t *citems = NULL, *titems = NULL;
    int *cowner = NULL, *towner = NULL;
    json_t *out = json_object();
    if (!out || (json_array_size(members) > 0 && !mlist)) goto err;
    for (size_t m = 0; m < nm; m++)
        if (json_object_set_new(out, mlist[m], json_pack("{s:[],s:[]}", "connectors", "tasks")) !=
            0)
            goto err;
    if (nm == 0) goto done; /* nobody to run anything */
    if (parse_list(connectors, 0, &citems, &nc) != 0 || parse_list(tasks, 1, &titems, &nt) != 0)
        goto err;
    cowner = malloc((nc ? nc : 1) * sizeof(*cowner));
    towner = malloc((nt ? nt : 1) * sizeof(*towner));
    if (!cowner || !towner) goto err;
    if (balance(mlist, nm, prev, 0, citems, nc, cowner) != 0 ||
        balance(mlist, nm, prev, 1, titems, nt, towner) != 0 ||
        fill(out, mlist, citems, nc, cowner, "connectors") != 0 ||
        fill(out, mlist, titems, nt, towner, "tasks") != 0)
        goto err;
done:
    free(mlist);
    free(citems);
    free(titems);
    free(cowner);
    free(towner);
    return out;
err:
    json_decref(out);
    out = NULL;
    goto done;
}

/* Appends to list[key] of worker's entry in out (created on first use) every item of
 * held[key] that is not in keep[key]. 0, or -1 on OOM. */
static int revoked(json_t *out, const char *worker, json_t *held, json_t *keep, int tasks)
{
    const char *key = tasks ? "tasks" : "connectors";
    item_t *h = NULL, *k = NULL;
    size_t nh = 0, nk = 0;
    int rc = -1;
    if (parse_list(json_object_get(held, key), tasks, &h, &nh) != 0 ||
        parse_list(json_object_get(keep, key), tasks, &k, &nk) != 0)
        goto out;
    for (size_t i = 0; i < nh; i++) {
        if (nk && bsearch(&h[i], k, nk, sizeof(*k), item_cmp)) continue;
        json_t *entry = json_object_get(out, worker);
        if (!entry) {
            entry = json_pack("{s:[],s:[]}", "connectors", "tasks");
            if (json_object_set_new(out, worker, entry) != 0) goto out;
        }
        if (json_array_append_new(json_object_get(entry, key), item_json(&h[i])) != 0) goto out;
    }
    rc = 0;
out:
    free(h);
    free(k);
    return rc;
}

json_t *lc_assign_revocations(json_t *prev, json_t *next, json_t *members)
{
    size_t nm = 0;
    const char **mlist = member_list(members, &nm);
    json_t *out = json_object();
    if (!out || (json_array_size(members) > 0 && !mlist)) goto err;
    for (size_t m = 0; m < nm; m++) {
        json_t *held = json_object_get(prev, mlist[m]);
        if (!held) continue;
        json_t *keep = json_object_get(next, mlist[m]);
        if (revoked(out, mlist[m], held, keep, 0) != 0 ||
            revoked(out, mlist[m], held, keep, 1) != 0)
            goto err;
    }
    free(mlist);
    return out;
err:
    free(mlist);
    json_decref(out);
    return NULL;
}

json_t *lc_assign_without(json_t *prev, json_t *revoked)
{
    json_t *out = json_deep_copy(prev);
    const char *wid;
    json_t *r;
    json_object_foreach(revoked, wid, r)
    {
        json_t *a = json_object_get(out, wid);
        if (!a) continue;
        const char *kinds[] = {"connectors", "tasks"};
        for (int k = 0; k < 2; k++) {
            json_t *list = json_object_get(a, kinds[k]), *keep = json_array();
            size_t i, j;
            json_t *e, *x;
            json_array_foreach(list, i, e)
            {
                int drop = 0;
                json_array_foreach(json_object_get(r, kinds[k]), j, x) if (json_equal(e, x)) drop =
                    1;
                if (!drop) json_array_append(keep, e);
            }
            json_object_set_new(a, kinds[k], keep);
        }
    }
    return out;
}
