/* config_topic: see config_topic.h. */
#include "config_topic.h"
#include "connector.h"

#include <stdlib.h>
#include <string.h>

/* Per connector: {"config":{}, "target":n, "tasks":[committed], "deferred":{"n":{}},
 * "inconsistent":bool, "generation":n}. A connector removed keeps nothing. */
struct lc_cfgtopic {
    json_t *conns;    /* name -> entry */
    json_t *restarts; /* pending restart requests */
    char *session_key, *session_alg;
    int64_t session_created;
    int64_t offset;
};

lc_cfgtopic_t *lc_cfgtopic_new(void)
{
    lc_cfgtopic_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->conns = json_object();
    s->restarts = json_array();
    return s;
}

void lc_cfgtopic_free(lc_cfgtopic_t *s)
{
    if (!s) return;
    json_decref(s->conns);
    json_decref(s->restarts);
    free(s->session_key);
    free(s->session_alg);
    free(s);
}

/* The entry of name, created when create is set. */
static json_t *entry(lc_cfgtopic_t *s, const char *name, int create)
{
    json_t *e = json_object_get(s->conns, name);
    if (!e && create) {
        e = json_pack("{s:n,s:i,s:n,s:{},s:b,s:i}", "config", "target", LC_TARGET_STARTED, "tasks",
                      "deferred", "inconsistent", 0, "generation", -1);
        json_object_set_new(s->conns, name, e);
    }
    return e;
}

/* A map of string values (Connect's Map<String,String>; a null value stays null). */
static int string_map(const json_t *o)
{
    const char *k;
    json_t *v;
    if (!json_is_object(o)) return 0;
    json_object_foreach((json_t *)o, k, v) if (!json_is_string(v) && !json_is_null(v)) return 0;
    return 1;
}

static int apply_connector(lc_cfgtopic_t *s, const char *name, json_t *v)
{
    if (!v) { /* removal: config, task configs and counts go (its target-state tombstone
                 follows) */
        json_object_del(s->conns, name);
        return LC_CFGT_CONNECTOR;
    }
    json_t *props = json_object_get(v, "properties");
    if (!string_map(props)) return 0;
    json_t *e = entry(s, name, 1);
    json_object_set(e, "config", props);
    return LC_CFGT_CONNECTOR;
}

static int target_of(const char *state)
{
    for (int i = 0; i <= LC_TARGET_STOPPED; i++)
        if (strcmp(state, lc_target_names[i]) == 0) return i;
    return -1;
}

static int apply_target(lc_cfgtopic_t *s, const char *name, json_t *v)
{
    json_t *e = entry(s, name, 0);
    if (!v) { /* written with the connector's removal; a connector still there is STARTED */
        if (e) json_object_set_new(e, "target", json_integer(LC_TARGET_STARTED));
        return 0;
    }
    const char *state = json_string_value(json_object_get(v, "state.v2"));
    if (!state) state = json_string_value(json_object_get(v, "state"));
    int t = state ? target_of(state) : -1;
    if (t < 0) return 0;
    /* A target state may come before the connector's config (an initial state given at
     * creation): keep it for the config that follows. */
    if (!e) {
        e = entry(s, name, 1);
        json_object_set_new(e, "config", json_null());
    }
    int old = (int)json_integer_value(json_object_get(e, "target"));
    json_object_set_new(e, "target", json_integer(t));
    return old != t ? LC_CFGT_TARGET : 0;
}

/* "task-<connector>-<n>": the connector is everything between the first and the last '-'. */
static int parse_task_key(const char *key, char *name, size_t namesz, int *n)
{
    const char *rest = key + strlen("task-");
    const char *dash = strrchr(rest, '-');
    if (!dash || dash == rest || !dash[1]) return -1;
    char *end;
    long v = strtol(dash + 1, &end, 10);
    if (*end || v < 0 || v > 1000000) return -1;
    size_t len = (size_t)(dash - rest);
    if (len >= namesz) return -1;
    memcpy(name, rest, len);
    name[len] = 0;
    *n = (int)v;
    return 0;
}

static int apply_task(lc_cfgtopic_t *s, const char *key, json_t *v)
{
    char name[1024], idx[16];
    int n;
    if (parse_task_key(key, name, sizeof(name), &n) != 0 || !v) return 0;
    json_t *props = json_object_get(v, "properties");
    if (!string_map(props)) return 0;
    json_t *e = entry(s, name, 1); /* kept deferred until a commit, as Connect does */
    snprintf(idx, sizeof(idx), "%d", n);
    json_object_set(json_object_get(e, "deferred"), idx, props);
    return 0;
}

static int apply_commit(lc_cfgtopic_t *s, const char *name, json_t *v)
{
    json_t *e = entry(s, name, 0);
    if (!e || json_is_null(json_object_get(e, "config"))) {
        /* the connector was deleted before (and compaction removed the trace of it) */
        if (e) json_object_clear(json_object_get(e, "deferred"));
        return 0;
    }
    json_t *count = json_object_get(v, "tasks");
    if (!json_is_integer(count)) return 0;
    int n = (int)json_integer_value(count);
    json_t *deferred = json_object_get(e, "deferred");
    int complete = n >= 0;
    for (int i = 0; complete && i < n; i++) {
        char idx[16];
        snprintf(idx, sizeof(idx), "%d", i);
        if (!json_object_get(deferred, idx)) complete = 0;
    }
    int changed = 0;
    if (!complete) {
        json_object_set_new(e, "inconsistent", json_true());
    } else {
        json_t *tasks = json_array();
        for (int i = 0; i < n; i++) {
            char idx[16];
            snprintf(idx, sizeof(idx), "%d", i);
            json_array_append(tasks, json_object_get(deferred, idx));
        }
        json_object_set_new(e, "tasks", tasks);
        json_object_set_new(e, "inconsistent", json_false());
        json_object_set_new(e, "generation",
                            json_integer(json_integer_value(json_object_get(e, "generation")) + 1));
        changed = LC_CFGT_TASKS;
    }
    json_object_clear(deferred);
    return changed;
}

static int apply_restart(lc_cfgtopic_t *s, const char *name, json_t *v)
{
    if (!json_is_object(v)) return 0;
    json_t *tasks = json_object_get(v, "include-tasks"),
           *failed = json_object_get(v, "only-failed");
    json_array_append_new(s->restarts,
                          json_pack("{s:s,s:b,s:b}", "connector", name, "include_tasks",
                                    json_is_boolean(tasks) ? json_is_true(tasks) : 0, "only_failed",
                                    json_is_boolean(failed) ? json_is_true(failed) : 0));
    return LC_CFGT_RESTART;
}

static int apply_session_key(lc_cfgtopic_t *s, json_t *v)
{
    const char *key = json_string_value(json_object_get(v, "key"));
    const char *alg = json_string_value(json_object_get(v, "algorithm"));
    json_t *ts = json_object_get(v, "creation-timestamp");
    if (!key || !alg || !json_is_integer(ts)) return 0;
    free(s->session_key);
    free(s->session_alg);
    s->session_key = strdup(key);
    s->session_alg = strdup(alg);
    s->session_created = json_integer_value(ts);
    return LC_CFGT_SESSION_KEY;
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int lc_cfgtopic_apply(lc_cfgtopic_t *s, const char *key, size_t keylen, const char *value,
                      size_t vallen, int64_t offset)
{
    s->offset = offset + 1;
    if (!key || keylen == 0 || memchr(key, 0, keylen)) return 0;
    char *k = strndup(key, keylen);
    json_t *v = NULL;
    if (value) {
        v = json_loadb(value, vallen, 0, NULL);
        if (!v) {
            free(k);
            return 0; /* Connect logs "Failed to convert config data" and goes on */
        }
    }
    int r = 0;
    if (starts(k, "target-state-"))
        r = apply_target(s, k + strlen("target-state-"), v);
    else if (starts(k, "connector-"))
        r = apply_connector(s, k + strlen("connector-"), v);
    else if (starts(k, "task-"))
        r = apply_task(s, k, v);
    else if (starts(k, "commit-"))
        r = v ? apply_commit(s, k + strlen("commit-"), v) : 0;
    else if (starts(k, "restart-connector-"))
        r = v ? apply_restart(s, k + strlen("restart-connector-"), v) : 0;
    else if (strcmp(k, "session-key") == 0)
        r = v ? apply_session_key(s, v) : 0;
    /* tasks-fencing-<c> (exactly-once sources) and logger-cluster-<ns> are not used yet */
    json_decref(v);
    free(k);
    return r;
}

int64_t lc_cfgtopic_offset(const lc_cfgtopic_t *s)
{
    return s->offset;
}

static json_t *live(const lc_cfgtopic_t *s, const char *name)
{
    json_t *e = json_object_get(s->conns, name);
    return e && json_is_object(json_object_get(e, "config")) ? e : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *lc_cfgtopic_connectors(const lc_cfgtopic_t *s)
{
    size_t n = json_object_size(s->conns), i = 0;
    const char **names = calloc(n ? n : 1, sizeof(*names));
    const char *k;
    json_t *v;
    json_object_foreach(s->conns, k, v) if (json_is_object(json_object_get(v, "config")))
        names[i++] = k;
    qsort(names, i, sizeof(*names), cmp_str);
    json_t *out = json_array();
    for (size_t j = 0; j < i; j++)
        json_array_append_new(out, json_string(names[j]));
    free(names);
    return out;
}

json_t *lc_cfgtopic_config(const lc_cfgtopic_t *s, const char *name)
{
    json_t *e = live(s, name);
    return e ? json_deep_copy(json_object_get(e, "config")) : NULL;
}

int lc_cfgtopic_target(const lc_cfgtopic_t *s, const char *name)
{
    json_t *e = live(s, name);
    return e ? (int)json_integer_value(json_object_get(e, "target")) : -1;
}

int lc_cfgtopic_task_count(const lc_cfgtopic_t *s, const char *name)
{
    json_t *e = live(s, name);
    json_t *tasks = e ? json_object_get(e, "tasks") : NULL;
    return json_is_array(tasks) ? (int)json_array_size(tasks) : -1;
}

json_t *lc_cfgtopic_task_config(const lc_cfgtopic_t *s, const char *name, int n)
{
    json_t *e = live(s, name);
    json_t *t = e && n >= 0 ? json_array_get(json_object_get(e, "tasks"), (size_t)n) : NULL;
    return t ? json_deep_copy(t) : NULL;
}

int lc_cfgtopic_inconsistent(const lc_cfgtopic_t *s, const char *name)
{
    json_t *e = live(s, name);
    return e && json_is_true(json_object_get(e, "inconsistent"));
}

int lc_cfgtopic_task_generation(const lc_cfgtopic_t *s, const char *name)
{
    json_t *e = live(s, name);
    return e ? (int)json_integer_value(json_object_get(e, "generation")) : -1;
}

json_t *lc_cfgtopic_take_restarts(lc_cfgtopic_t *s)
{
    json_t *out = s->restarts;
    s->restarts = json_array();
    return out;
}

const char *lc_cfgtopic_session_key(const lc_cfgtopic_t *s, const char **algorithm,
                                    int64_t *created_ms)
{
    if (algorithm) *algorithm = s->session_alg;
    if (created_ms) *created_ms = s->session_created;
    return s->session_key;
}

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

char *lc_cfgtopic_config_value(const json_t *props)
{
    return dump(json_pack("{s:O}", "properties", (json_t *)props));
}

char *lc_cfgtopic_target_value(int target)
{
    const char *v2 = lc_target_names[target];
    const char *legacy = target == LC_TARGET_STOPPED ? lc_target_names[LC_TARGET_PAUSED] : v2;
    return dump(json_pack("{s:s,s:s}", "state", legacy, "state.v2", v2));
}

char *lc_cfgtopic_commit_value(int n)
{
    return dump(json_pack("{s:i}", "tasks", n));
}

char *lc_cfgtopic_restart_value(int include_tasks, int only_failed)
{
    return dump(json_pack("{s:b,s:b}", "include-tasks", include_tasks, "only-failed", only_failed));
}

char *lc_cfgtopic_session_key_value(const char *key_b64, const char *algorithm, int64_t created_ms)
{
    return dump(json_pack("{s:s,s:s,s:I}", "key", key_b64, "algorithm", algorithm,
                          "creation-timestamp", (json_int_t)created_ms));
}

char *lc_cfgtopic_fencing_value(int n)
{
    return dump(json_pack("{s:i}", "task-count", n));
}
