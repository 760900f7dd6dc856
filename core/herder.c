/* herder: the REST API's side of the worker — the JSON views of connectors and tasks in
 * Kafka Connect's shapes, connector offsets (source offsets in the store, sink offsets in
 * the connect-<name> consumer group through the admin API), and plugin listing,
 * definitions and config validation. Changes of state live in worker.c.
 * Depends on worker_impl, plugins, bridge (a scratch lua_State for plugin definitions),
 * librdkafka's admin API and jansson. */
#include "bridge.h"
#include "codec.h"
#include "lc_build.h"
#include "log.h"
#include "plugins.h"
#include "worker_impl.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ADMIN_TIMEOUT_MS 15000

/* Views -------------------------------------------------------------------------------- */

static json_t *masked_config(const lc_connector_t *c)
{
    json_t *o = json_object();
    for (size_t i = 0; i < lc_props_count(c->props); i++) {
        const char *k = lc_props_key(c->props, i);
        json_object_set_new(o, k, json_string(lc_connector_is_secret(c, k)
                                                  ? "[hidden]"
                                                  : lc_props_value(c->props, i)));
    }
    return o;
}

static const char *type_of(const lc_connector_t *c)
{
    return !c->script_path ? "unknown" : c->is_source ? "source" : "sink";
}

static lc_connector_t *find(lc_worker_t *w, const char *name)
{
    int i = lc_worker_find(w, name);
    return i >= 0 ? w->conns[i] : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *lc_worker_connector_names(lc_worker_t *w)
{
    pthread_mutex_lock(&w->mu);
    int n = w->nconns;
    char **names = calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++)
        names[i] = strdup(w->conns[i]->name);
    pthread_mutex_unlock(&w->mu);
    /* Sorted, as worker.h promises: creation order would leak through otherwise. */
    qsort(names, (size_t)n, sizeof(char *), cmp_str);
    json_t *a = json_array();
    for (int i = 0; i < n; i++) {
        json_array_append_new(a, json_string(names[i]));
        free(names[i]);
    }
    free(names);
    return a;
}

/* Which version of each script runs: [{path, hash, loaded_at}] (hot reload). */
static json_t *scripts_json(const lc_connector_t *c)
{
    json_t *a = json_array();
    char hash[32], when[64];
    time_t secs = (time_t)(c->loaded_at_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03dZ",
             (int)(c->loaded_at_ms % 1000));
    for (int i = 0; i < c->nfiles; i++) {
        snprintf(hash, sizeof(hash), "%016llx", c->hashes[i]);
        json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "path", c->files[i], "hash", hash,
                                           "loaded_at", when));
    }
    return a;
}

static json_t *info_locked(const lc_connector_t *c)
{
    json_t *tasks = json_array();
    for (int i = 0; i < c->ntasks; i++)
        json_array_append_new(tasks, json_pack("{s:s,s:i}", "connector", c->name, "task", i));
    return json_pack("{s:s,s:o,s:o,s:s,s:o}", "name", c->name, "config", masked_config(c),
                     "tasks", tasks, "type", type_of(c), "scripts", scripts_json(c));
}

json_t *lc_worker_connector_info(lc_worker_t *w, const char *name)
{
    pthread_mutex_lock(&w->mu);
    lc_connector_t *c = find(w, name);
    json_t *o = c ? info_locked(c) : NULL;
    pthread_mutex_unlock(&w->mu);
    return o;
}

lc_props_t *lc_worker_connector_props(lc_worker_t *w, const char *name)
{
    pthread_mutex_lock(&w->mu);
    lc_connector_t *c = find(w, name);
    lc_props_t *p = c ? lc_props_copy(c->props) : NULL;
    pthread_mutex_unlock(&w->mu);
    return p;
}

json_t *lc_worker_connector_config(lc_worker_t *w, const char *name)
{
    pthread_mutex_lock(&w->mu);
    lc_connector_t *c = find(w, name);
    json_t *o = c ? masked_config(c) : NULL;
    pthread_mutex_unlock(&w->mu);
    return o;
}

static json_t *task_status_locked(lc_worker_t *w, lc_task_t *t)
{
    json_t *o = json_pack("{s:i,s:s,s:s}", "id", t->id, "state", lc_task_state_names[t->state],
                          "worker_id", w->worker_id);
    char *trace = t->state == LC_TASK_FAILED ? lc_task_trace(t) : NULL;
    if (trace) json_object_set_new(o, "trace", json_string(trace));
    free(trace);
    return o;
}

static json_t *status_locked(lc_worker_t *w, lc_connector_t *c)
{
    json_t *conn = json_pack("{s:s,s:s}", "state", lc_task_state_names[c->state], "worker_id",
                             w->worker_id);
    if (c->state == LC_TASK_FAILED && c->trace)
        json_object_set_new(conn, "trace", json_string(c->trace));
    json_t *tasks = json_array();
    for (int i = 0; i < c->ntasks; i++)
        json_array_append_new(tasks, task_status_locked(w, c->tasks[i]));
    if (c->reload_error) json_object_set_new(conn, "reload_error", json_string(c->reload_error));
    return json_pack("{s:s,s:o,s:o,s:s,s:o}", "name", c->name, "connector", conn, "tasks", tasks,
                     "type", type_of(c), "scripts", scripts_json(c));
}

json_t *lc_worker_connector_status(lc_worker_t *w, const char *name)
{
    pthread_mutex_lock(&w->mu);
    lc_connector_t *c = find(w, name);
    json_t *o = c ? status_locked(w, c) : NULL;
    pthread_mutex_unlock(&w->mu);
    return o;
}

json_t *lc_worker_task_status(lc_worker_t *w, const char *name, int task)
{
    pthread_mutex_lock(&w->mu);
    lc_connector_t *c = find(w, name);
    json_t *o = c && task >= 0 && task < c->ntasks ? task_status_locked(w, c->tasks[task]) : NULL;
    pthread_mutex_unlock(&w->mu);
    return o;
}

json_t *lc_worker_task_configs(lc_worker_t *w, const char *name)
{
    pthread_mutex_lock(&w->mu);
    lc_connector_t *c = find(w, name);
    json_t *out = c ? json_array() : NULL;
    for (int i = 0; c && i < c->ntasks; i++) {
        json_t *cfg = json_loads(c->tasks[i]->config_json, JSON_DECODE_ANY, NULL);
        json_t *flat = json_object();
        const char *k;
        json_t *v;
        /* Kafka Connect's task configs are string maps. */
        json_object_foreach(cfg, k, v)
        {
            if (lc_connector_is_secret(c, k)) {
                json_object_set_new(flat, k, json_string("[hidden]"));
            } else if (json_is_string(v)) {
                json_object_set(flat, k, v);
            } else {
                char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                json_object_set_new(flat, k, json_string(s ? s : ""));
                free(s);
            }
        }
        json_decref(cfg);
        json_array_append_new(out, json_pack("{s:{s:s,s:i},s:o}", "id", "connector", c->name,
                                             "task", i, "config", flat));
    }
    pthread_mutex_unlock(&w->mu);
    return out;
}

/* Admin client ------------------------------------------------------------------------- */

rd_kafka_t *lc_worker_admin(lc_worker_t *w, char *errstr, size_t errsz)
{
    pthread_mutex_lock(&w->admin_lock);
    if (!w->admin) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char err[512];
        int bad = rd_kafka_conf_set(conf, "bootstrap.servers", w->bootstrap, err, sizeof(err)) ||
                  rd_kafka_conf_set(conf, "client.id", "luaconnect-admin", err, sizeof(err));
        for (size_t i = 0; !bad && i < lc_props_count(w->props); i++) {
            const char *k = lc_props_key(w->props, i);
            if (strncmp(k, "admin.", 6) == 0 && k[6])
                bad = rd_kafka_conf_set(conf, k + 6, lc_props_value(w->props, i), err,
                                        sizeof(err)) == RD_KAFKA_CONF_INVALID;
        }
        if (!bad) w->admin = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!w->admin) {
            rd_kafka_conf_destroy(conf);
            snprintf(errstr, errsz, "admin client: %s", err);
        }
    }
    rd_kafka_t *rk = w->admin;
    pthread_mutex_unlock(&w->admin_lock);
    return rk;
}

const char *lc_worker_cluster_id(lc_worker_t *w)
{
    char err[512];
    rd_kafka_t *rk = lc_worker_admin(w, err, sizeof(err));
    if (!rk) return NULL;
    pthread_mutex_lock(&w->admin_lock);
    if (!w->cluster_id) w->cluster_id = rd_kafka_clusterid(rk, 5000);
    const char *id = w->cluster_id;
    pthread_mutex_unlock(&w->admin_lock);
    return id;
}

/* Waits for an admin result on q; returns the event or NULL with errstr. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, const char *what, char *errstr,
                                    size_t errsz)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 2000);
    if (!ev) {
        snprintf(errstr, errsz, "%s: no answer from Kafka within %d ms", what, ADMIN_TIMEOUT_MS);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errsz, "%s: %s", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

/* Checks one group result and its partitions; copies the partitions to *parts if asked. */
static int group_result(const rd_kafka_group_result_t **groups, size_t n, const char *what,
                        rd_kafka_topic_partition_list_t **parts, char *errstr, size_t errsz)
{
    if (n < 1) {
        snprintf(errstr, errsz, "%s: empty answer from Kafka", what);
        return -1;
    }
    const rd_kafka_error_t *e = rd_kafka_group_result_error(groups[0]);
    if (e && rd_kafka_error_code(e) != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
        snprintf(errstr, errsz, "%s: %s", what, rd_kafka_error_string(e));
        return -1;
    }
    const rd_kafka_topic_partition_list_t *p = rd_kafka_group_result_partitions(groups[0]);
    for (int i = 0; p && i < p->cnt; i++)
        if (p->elems[i].err && p->elems[i].err != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
            snprintf(errstr, errsz, "%s: partition %s-%d: %s", what, p->elems[i].topic,
                     p->elems[i].partition, rd_kafka_err2str(p->elems[i].err));
            return -1;
        }
    if (parts) *parts = p ? rd_kafka_topic_partition_list_copy(p) : NULL;
    return 0;
}

static rd_kafka_AdminOptions_t *admin_options(rd_kafka_t *rk)
{
    char err[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
    rd_kafka_AdminOptions_set_request_timeout(o, ADMIN_TIMEOUT_MS, err, sizeof(err));
    return o;
}

static int sink_offsets_get(lc_worker_t *w, const char *group, json_t *list, char *errstr,
                            size_t errsz)
{
    rd_kafka_t *rk = lc_worker_admin(w, errstr, errsz);
    if (!rk) return -1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_options(rk);
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, o, q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_topic_partition_list_t *parts = NULL;
    int rc = -1;
    rd_kafka_event_t *ev = admin_wait(q, "listing the consumer group offsets", errstr, errsz);
    if (ev) {
        size_t n;
        const rd_kafka_group_result_t **g = rd_kafka_ListConsumerGroupOffsets_result_groups(
            rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
        rc = group_result(g, n, "listing the consumer group offsets", &parts, errstr, errsz);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    for (int i = 0; parts && i < parts->cnt; i++) {
        if (parts->elems[i].offset < 0) continue;
        json_array_append_new(
            list, json_pack("{s:{s:s,s:i},s:{s:I}}", "partition", "kafka_topic",
                            parts->elems[i].topic, "kafka_partition", parts->elems[i].partition,
                            "offset", "kafka_offset", (json_int_t)parts->elems[i].offset));
    }
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

struct src_offsets {
    const char *name;
    json_t *list;
    char **keys; /* with list == NULL: collect keys (reset) */
    size_t nkeys;
};

static void collect_source_offset(void *arg, const char *key, const char *value)
{
    struct src_offsets *s = arg;
    json_t *k = json_loads(key, 0, NULL);
    if (json_is_array(k) && json_array_size(k) == 2 &&
        json_is_string(json_array_get(k, 0)) &&
        strcmp(json_string_value(json_array_get(k, 0)), s->name) == 0) {
        if (s->list) {
            json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
            json_array_append_new(s->list, json_pack("{s:O,s:o}", "partition", json_array_get(k, 1),
                                                     "offset", v ? v : json_null()));
        } else {
            s->keys = realloc(s->keys, (s->nkeys + 1) * sizeof(char *));
            s->keys[s->nkeys++] = strdup(key);
        }
    }
    json_decref(k);
}

/* Facts about a connector taken under mu, so no lock is held during broker calls. */
static int snapshot(lc_worker_t *w, const char *name, int *is_source, int *state, int *known_type,
                    char *errstr, size_t errsz)
{
    pthread_mutex_lock(&w->mu);
    lc_connector_t *c = find(w, name);
    if (c) {
        *is_source = c->is_source;
        *state = c->state;
        *known_type = c->script_path != NULL;
    }
    pthread_mutex_unlock(&w->mu);
    if (!c) snprintf(errstr, errsz, "Connector %s not found", name);
    return c ? 0 : -1;
}

int lc_worker_offsets_get(lc_worker_t *w, const char *name, json_t **out, char *errstr,
                          size_t errsz)
{
    int is_source, state, known;
    if (snapshot(w, name, &is_source, &state, &known, errstr, errsz) != 0) return 404;
    json_t *list = json_array();
    if (!known) {
        snprintf(errstr, errsz, "Connector %s is FAILED and its type is unknown: fix its config "
                 "first", name);
        json_decref(list);
        return 400;
    }
    int rc;
    if (is_source) {
        struct src_offsets s = {name, list, NULL, 0};
        lc_offset_store_t *os = lc_store_offsets(w->store);
        rc = os->each(os, "[", collect_source_offset, &s, errstr, errsz);
    } else {
        char group[1024];
        snprintf(group, sizeof(group), "connect-%s", name);
        rc = sink_offsets_get(w, group, list, errstr, errsz);
    }
    if (rc != 0) {
        json_decref(list);
        return 500;
    }
    *out = json_pack("{s:o}", "offsets", list);
    return 200;
}

/* Sink offsets: alter the non-null ones, delete the null ones; body NULL deletes the group. */
static int sink_offsets_alter(lc_worker_t *w, const char *group, json_t *offsets, char *errstr,
                              size_t errsz)
{
    rd_kafka_t *rk = lc_worker_admin(w, errstr, errsz);
    if (!rk) return 500;
    rd_kafka_topic_partition_list_t *set = rd_kafka_topic_partition_list_new(8);
    rd_kafka_topic_partition_list_t *del = rd_kafka_topic_partition_list_new(8);
    int rc = 400;
    size_t i;
    json_t *e;
    json_array_foreach(offsets, i, e)
    {
        json_t *p = json_object_get(e, "partition"), *o = json_object_get(e, "offset");
        json_t *topic = json_object_get(p, "kafka_topic"), *part = json_object_get(p, "kafka_partition");
        if (!json_is_string(topic) || !json_is_integer(part) || json_integer_value(part) < 0) {
            snprintf(errstr, errsz, "offsets[%zu]: Kafka partitions must be given as {\"kafka_topic\": "
                     "string, \"kafka_partition\": non-negative integer}", i);
            goto out;
        }
        if (!o || json_is_null(o)) {
            rd_kafka_topic_partition_list_add(del, json_string_value(topic),
                                              (int32_t)json_integer_value(part));
            continue;
        }
        json_t *off = json_object_get(o, "kafka_offset");
        if (!json_is_object(o) || !json_is_integer(off) || json_integer_value(off) < 0) {
            snprintf(errstr, errsz, "offsets[%zu]: a Kafka offset must be {\"kafka_offset\": "
                     "non-negative integer} or null", i);
            goto out;
        }
        rd_kafka_topic_partition_list_add(set, json_string_value(topic),
                                          (int32_t)json_integer_value(part))
            ->offset = json_integer_value(off);
    }
    rc = 500;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = admin_options(rk);
    int bad = 0;
    if (set->cnt) {
        rd_kafka_AlterConsumerGroupOffsets_t *req = rd_kafka_AlterConsumerGroupOffsets_new(group, set);
        rd_kafka_AlterConsumerGroupOffsets(rk, &req, 1, opt, q);
        rd_kafka_AlterConsumerGroupOffsets_destroy(req);
        rd_kafka_event_t *ev = admin_wait(q, "altering the consumer group offsets", errstr, errsz);
        /* The groups first: n must be set before it is passed (argument order is unspecified). */
        size_t n = 0;
        const rd_kafka_group_result_t **g =
            ev ? rd_kafka_AlterConsumerGroupOffsets_result_groups(
                     rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n)
               : NULL;
        bad = !ev || group_result(g, n, "altering the consumer group offsets", NULL, errstr, errsz);
        if (ev) rd_kafka_event_destroy(ev);
    }
    if (!bad && (del->cnt || !offsets)) {
        rd_kafka_event_t *ev;
        const rd_kafka_group_result_t **g = NULL;
        size_t n = 0;
        if (offsets) {
            rd_kafka_DeleteConsumerGroupOffsets_t *req =
                rd_kafka_DeleteConsumerGroupOffsets_new(group, del);
            rd_kafka_DeleteConsumerGroupOffsets(rk, &req, 1, opt, q);
            rd_kafka_DeleteConsumerGroupOffsets_destroy(req);
            ev = admin_wait(q, "deleting consumer group offsets", errstr, errsz);
            if (ev)
                g = rd_kafka_DeleteConsumerGroupOffsets_result_groups(
                    rd_kafka_event_DeleteConsumerGroupOffsets_result(ev), &n);
            bad = !ev || group_result(g, n, "deleting consumer group offsets", NULL, errstr, errsz);
        } else {
            rd_kafka_DeleteGroup_t *req = rd_kafka_DeleteGroup_new(group);
            rd_kafka_DeleteGroups(rk, &req, 1, opt, q);
            rd_kafka_DeleteGroup_destroy(req);
            ev = admin_wait(q, "deleting the consumer group", errstr, errsz);
            if (ev)
                g = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
            bad = !ev || group_result(g, n, "deleting the consumer group", NULL, errstr, errsz);
        }
        if (ev) rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    if (!bad) rc = 200;
out:
    rd_kafka_topic_partition_list_destroy(set);
    rd_kafka_topic_partition_list_destroy(del);
    return rc;
}

static int source_offsets_alter(lc_worker_t *w, const char *name, json_t *offsets, char *errstr,
                                size_t errsz)
{
    lc_offset_store_t *os = lc_store_offsets(w->store);
    struct src_offsets s = {name, NULL, NULL, 0};
    char **values = NULL;
    int rc = 400;
    if (!offsets) { /* reset: every key of this connector */
        if (os->each(os, "[", collect_source_offset, &s, errstr, errsz) != 0) return 500;
        values = calloc(s.nkeys + 1, sizeof(char *));
    } else {
        size_t i;
        json_t *e;
        values = calloc(json_array_size(offsets) + 1, sizeof(char *));
        s.keys = calloc(json_array_size(offsets) + 1, sizeof(char *));
        json_array_foreach(offsets, i, e)
        {
            json_t *p = json_object_get(e, "partition"), *o = json_object_get(e, "offset");
            if (!json_is_object(p)) {
                snprintf(errstr, errsz, "offsets[%zu]: 'partition' must be an object", i);
                goto out;
            }
            if (o && !json_is_null(o) && !json_is_object(o)) {
                snprintf(errstr, errsz, "offsets[%zu]: 'offset' must be an object or null", i);
                goto out;
            }
            /* The store's key format, exactly as tasks write it: sorted keys, compact. */
            json_t *key = json_pack("[s,O]", name, p);
            s.keys[s.nkeys] = json_dumps(key, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(key);
            values[s.nkeys++] =
                o && !json_is_null(o) ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        }
    }
    rc = os->put(os, (const char *const *)s.keys, (const char *const *)values, s.nkeys, errstr,
                 errsz) == 0
             ? 200
             : 500;
out:
    for (size_t i = 0; i < s.nkeys; i++) {
        free(s.keys[i]);
        free(values[i]);
    }
    free(s.keys);
    free(values);
    return rc;
}

int lc_worker_offsets_alter(lc_worker_t *w, const char *name, json_t *body, char *errstr,
                            size_t errsz)
{
    int is_source, state, known;
    if (snapshot(w, name, &is_source, &state, &known, errstr, errsz) != 0) return 404;
    if (state != LC_TASK_STOPPED) {
        snprintf(errstr, errsz,
                 "Connectors must be in the STOPPED state before their offsets can be modified. "
                 "This can be done for the specified connector by issuing a 'PUT' request to the "
                 "'/connectors/%s/stop' endpoint",
                 name);
        return 400;
    }
    json_t *offsets = NULL;
    if (body) {
        offsets = json_object_get(body, "offsets");
        if (!json_is_array(offsets) || json_array_size(offsets) == 0) {
            snprintf(errstr, errsz, "The offsets to be modified must not be null or empty");
            return 400;
        }
    }
    if (!known) {
        snprintf(errstr, errsz, "Connector %s is FAILED and its type is unknown", name);
        return 400;
    }
    char group[1024];
    snprintf(group, sizeof(group), "connect-%s", name);
    /* The connector is STOPPED: hold op so it cannot start while its offsets change. */
    pthread_mutex_lock(&w->op);
    int rc = is_source ? source_offsets_alter(w, name, offsets, errstr, errsz)
                       : sink_offsets_alter(w, group, offsets, errstr, errsz);
    pthread_mutex_unlock(&w->op);
    if (rc == 200) {
        lc_info(NULL, "connector '%s': offsets %s", name, body ? "altered" : "reset");
        snprintf(errstr, errsz, "The offsets for this connector have been %s successfully",
                 body ? "altered" : "reset");
    }
    return rc;
}

/* Plugins ------------------------------------------------------------------------------ */

static const char *plugin_type(const char *kind)
{
    if (strcmp(kind, "transform") == 0) return "transformation";
    return kind; /* source, sink, predicate */
}

/* The Kafka class name a plugin answers to (its first dotted alias), else its name. */
static void plugin_class(const lc_plugin_info_t *p, char *out, size_t outsz)
{
    const char *a = p->aliases;
    while (a && *a) {
        const char *end = strchr(a, ',');
        size_t l = end ? (size_t)(end - a) : strlen(a);
        if (memchr(a, '.', l)) {
            snprintf(out, outsz, "%.*s", (int)l, a);
            return;
        }
        a = end ? end + 1 : NULL;
    }
    snprintf(out, outsz, "%s", p->name);
}

json_t *lc_worker_plugins(lc_worker_t *w, int connectors_only)
{
    size_t n;
    lc_plugin_info_t *list = lc_plugins_scan(w->plugin_path, &n);
    json_t *out = json_array();
    static const char *const kinds[] = {"source", "sink", "transform", "predicate"};
    for (int k = 0; k < (connectors_only ? 2 : 4); k++)
        for (size_t i = 0; i < n; i++) {
            if (strcmp(list[i].kind, kinds[k]) != 0) continue;
            char cls[512];
            plugin_class(&list[i], cls, sizeof(cls));
            json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "class", cls, "type",
                                                 plugin_type(list[i].kind), "version",
                                                 list[i].version));
        }
    if (!connectors_only) {
        static const char *const converters[] = {
            "org.apache.kafka.connect.json.JsonConverter",
            "org.apache.kafka.connect.storage.StringConverter",
            "org.apache.kafka.connect.converters.ByteArrayConverter"};
        for (size_t i = 0; i < 3; i++)
            json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "class", converters[i], "type",
                                                 "converter", "version", LC_VERSION));
    }
    lc_plugins_free(list, n);
    return out;
}

/* Loads the definitions of the script at path: *kind and a JSON list of ConfigKeyInfo. */
static json_t *script_defs(lc_worker_t *w, const char *path, char *kind, size_t kindsz,
                           char *errstr, size_t errsz)
{
    lua_State *L = lc_lua_new(lc_sdk_dir(), w->plugin_path, NULL, errstr, errsz);
    json_t *out = NULL;
    if (!L) return NULL;
    lua_pushstring(L, path);
    if (lc_lua_call_sdk(L, "_plugin_config", 1, 2, errstr, errsz) == 0) {
        lc_buf_t b = {0};
        snprintf(kind, kindsz, "%s", lua_tostring(L, -2));
        if (lc_json_encode_sorted(L, -1, &b, errstr, errsz) == 0) {
            json_error_t je;
            out = json_loadb(b.data, b.len, 0, &je);
            if (!out) snprintf(errstr, errsz, "definitions: %s", je.text);
        }
        lc_buf_free(&b);
    }
    lc_lua_close(L);
    return out;
}

int lc_worker_plugin_config(lc_worker_t *w, const char *plugin, json_t **out, char *errstr,
                            size_t errsz)
{
    char path[4096], kind[32];
    if (lc_plugins_resolve(w->plugin_path, plugin, "any", path, sizeof(path), errstr, errsz) != 0)
        return 404;
    *out = script_defs(w, path, kind, sizeof(kind), errstr, errsz);
    return *out ? 200 : 500;
}

/* The worker's own connector keys, as Kafka Connect's ConnectorConfig defines them. */
static const struct common_def {
    const char *name, *type, *group, *def, *doc;
    int required, sink_only;
} common_defs[] = {
    {"name", "STRING", "Common", NULL, "Globally unique name to use for this connector.", 1, 0},
    {"connector.class", "STRING", "Common", NULL,
     "Name or alias of the connector script (a Kafka Connect class name works too).", 1, 0},
    {"tasks.max", "INT", "Common", "1", "Maximum number of tasks to use for this connector.", 0, 0},
    {"key.converter", "CLASS", "Common", NULL, "Converter for record keys.", 0, 0},
    {"value.converter", "CLASS", "Common", NULL, "Converter for record values.", 0, 0},
    {"topics", "LIST", "Common", "", "Sink: list of topics to consume.", 0, 1},
    {"topics.regex", "STRING", "Common", "", "Sink: regular expression of topics to consume.", 0, 1},
    {"transforms", "LIST", "Transforms", "", "Aliases for the transformations to apply.", 0, 0},
    {"predicates", "LIST", "Predicates", "", "Aliases for the predicates used by transforms.", 0, 0},
    {"errors.retry.timeout", "LONG", "Error Handling", "0",
     "Maximum duration in ms a failed operation is retried.", 0, 0},
    {"errors.retry.delay.max.ms", "LONG", "Error Handling", "60000",
     "Maximum delay in ms between retries.", 0, 0},
    {"errors.tolerance", "STRING", "Error Handling", "none",
     "none: an error fails the task; all: bad records are skipped.", 0, 0},
    {"errors.log.enable", "BOOLEAN", "Error Handling", "false", "Log each error.", 0, 0},
    {"errors.log.include.messages", "BOOLEAN", "Error Handling", "false",
     "Include the record in error logs.", 0, 0},
    {"errors.deadletterqueue.topic.name", "STRING", "Error Handling", "",
     "Topic that receives records that failed.", 0, 0},
    {"errors.deadletterqueue.topic.replication.factor", "SHORT", "Error Handling", "3",
     "Replication factor of the dead letter queue topic when it is created.", 0, 0},
    {"errors.deadletterqueue.context.headers.enable", "BOOLEAN", "Error Handling", "false",
     "Add __connect.errors.* headers to dead letter queue records.", 0, 0},
};

/* Which key an error line is about: "key 'k'", "unknown key 'k'", "required key 'k'". */
static void error_key(const char *line, char *out, size_t outsz)
{
    const char *p = strstr(line, "key '");
    if (!p) {
        snprintf(out, outsz, "connector.class");
        return;
    }
    p += 5;
    const char *q = strchr(p, '\'');
    snprintf(out, outsz, "%.*s", q ? (int)(q - p) : (int)strlen(p), p);
}

static json_t *config_value(const char *name, json_t *config, int secret)
{
    json_t *v = json_object_get(config, name);
    json_t *value = !json_is_string(v) ? json_null()
                    : secret           ? json_string("[hidden]")
                                       : json_string(json_string_value(v));
    return json_pack("{s:s,s:o,s:[],s:[],s:b}", "name", name, "value", value, "recommended_values",
                     "errors", "visible", 1);
}

int lc_worker_validate(lc_worker_t *w, const char *plugin, json_t *config, json_t **out,
                       char *errstr, size_t errsz)
{
    char path[4096], other[4096], kind[32];
    if (lc_plugins_resolve(w->plugin_path, plugin, "connector", path, sizeof(path), errstr,
                           errsz) != 0)
        return 404;
    const char *cls = json_string_value(json_object_get(config, "connector.class"));
    if (cls && (lc_plugins_resolve(w->plugin_path, cls, "connector", other, sizeof(other), errstr,
                                   errsz) != 0 ||
                strcmp(other, path) != 0)) {
        snprintf(errstr, errsz, "Included connector type %s does not match request type %s", cls,
                 plugin);
        return 400;
    }
    json_t *defs = script_defs(w, path, kind, sizeof(kind), errstr, errsz);
    if (!defs) return 500;
    int is_sink = strcmp(kind, "sink") == 0;

    lc_props_t *props = lc_props_new();
    const char *k;
    json_t *v;
    json_object_foreach(config, k, v) if (json_is_string(v)) lc_props_set(props, k,
                                                                           json_string_value(v));
    lc_props_set(props, "connector.class", cls ? cls : plugin);
    int named = lc_props_get(props, "name") && *lc_props_get(props, "name");
    if (!named) lc_props_set(props, "name", "(unnamed)");
    static char errs[65536]; /* guarded by op below */
    pthread_mutex_lock(&w->op);
    lc_connector_t *c = lc_worker_plan(w, props, errs, sizeof(errs));
    lc_worker_connector_free(c);

    json_t *configs = json_array(), *byname = json_object();
    for (size_t i = 0; i < sizeof(common_defs) / sizeof(*common_defs); i++) {
        const struct common_def *d = &common_defs[i];
        if (d->sink_only && !is_sink) continue;
        json_t *def = json_pack("{s:s,s:s,s:b,s:s?,s:s,s:s,s:s,s:s,s:s,s:[],s:i}", "name", d->name,
                                "type", d->type, "required", d->required, "default_value", d->def,
                                "importance", d->required ? "HIGH" : "MEDIUM", "documentation",
                                d->doc, "group", d->group, "width", "MEDIUM", "display_name",
                                d->name, "dependents", "order", (int)i + 1);
        json_t *entry = json_pack("{s:o,s:o}", "definition", def, "value",
                                  config_value(d->name, config, 0));
        json_array_append(configs, entry);
        json_object_set_new(byname, d->name, entry);
    }
    size_t i;
    json_t *d;
    json_array_foreach(defs, i, d)
    {
        const char *name = json_string_value(json_object_get(d, "name"));
        if (json_object_get(byname, name)) continue;
        if (json_is_null(json_object_get(d, "group")))
            json_object_set_new(d, "group", json_string("Connector"));
        int secret = strcmp(json_string_value(json_object_get(d, "type")), "PASSWORD") == 0;
        json_t *entry = json_pack("{s:O,s:o}", "definition", d, "value",
                                  config_value(name, config, secret));
        json_array_append(configs, entry);
        json_object_set_new(byname, name, entry);
    }
    int nerr = 0;
    if (!named) {
        json_array_append_new(json_object_get(json_object_get(json_object_get(byname, "name"), "value"),
                                              "errors"),
                              json_string("Missing required configuration \"name\" which has no "
                                          "default value."));
        nerr++;
    }
    for (char *line = c ? NULL : errs; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char key[512];
        error_key(line, key, sizeof(key));
        json_t *entry = json_object_get(byname, key);
        if (!entry) { /* an unknown key: listed so its error has a home */
            entry = json_pack("{s:{s:s,s:s,s:b,s:n,s:s,s:s,s:s,s:s,s:s,s:[],s:i},s:o}", "definition",
                              "name", key, "type", "STRING", "required", 0, "default_value",
                              "importance", "LOW", "documentation", "not a key of this connector",
                              "group", "Connector", "width", "NONE", "display_name", key,
                              "dependents", "order", -1, "value", config_value(key, config, 0));
            json_array_append(configs, entry);
            json_object_set_new(byname, key, entry);
        }
        json_array_append_new(json_object_get(json_object_get(entry, "value"), "errors"),
                              json_string(line));
        nerr++;
        line = nl ? nl + 1 : NULL;
    }
    pthread_mutex_unlock(&w->op);
    json_t *groups = json_array();
    json_array_foreach(configs, i, d)
    {
        json_t *g = json_object_get(json_object_get(d, "definition"), "group");
        size_t j;
        json_t *have;
        int seen = 0;
        json_array_foreach(groups, j, have) seen |= json_equal(have, g);
        if (!seen) json_array_append(groups, g);
    }
    char name_buf[512];
    snprintf(name_buf, sizeof(name_buf), "%s", cls ? cls : plugin);
    *out = json_pack("{s:s,s:i,s:o,s:o}", "name", name_buf, "error_count", nerr, "groups", groups,
                     "configs", configs);
    json_decref(byname);
    json_decref(defs);
    lc_props_destroy(props);
    return 200;
}
