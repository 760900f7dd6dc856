/* connector_json: see connector_json.h. */
#include "connector_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

json_t *lc_connector_json_config(const lc_connector_t *c)
{
    json_t *o = json_object();
    for (size_t i = 0; i < lc_props_count(c->props); i++) {
        const char *k = lc_props_key(c->props, i);
        json_object_set_new(
            o, k,
            json_string(lc_connector_is_secret(c, k) ? "[hidden]" : lc_props_value(c->props, i)));
    }
    return o;
}

static const char *type_of(const lc_connector_t *c)
{
    return !c->script_path ? "unknown" : c->is_source ? "source" : "sink";
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
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:s}", "path", c->files[i], "hash", hash, "loaded_at", when));
    }
    return a;
}

json_t *lc_connector_json_info(const lc_connector_t *c)
{
    json_t *tasks = json_array();
    for (int i = 0; i < c->ntasks; i++)
        json_array_append_new(tasks, json_pack("{s:s,s:i}", "connector", c->name, "task", i));
    return json_pack("{s:s,s:o,s:o,s:s,s:o}", "name", c->name, "config",
                     lc_connector_json_config(c), "tasks", tasks, "type", type_of(c), "scripts",
                     scripts_json(c));
}

json_t *lc_connector_json_task_status(lc_task_t *t, const char *worker_id)
{
    json_t *o = json_pack("{s:i,s:s,s:s,s:s?}", "id", t->id, "state", lc_task_state_names[t->state],
                          "worker_id", worker_id, "version", t->conn->version);
    char *trace = t->state == LC_TASK_FAILED ? lc_task_trace(t) : NULL;
    if (trace) json_object_set_new(o, "trace", json_string(trace));
    free(trace);
    return o;
}

json_t *lc_connector_json_status(const lc_connector_t *c, const char *worker_id)
{
    json_t *conn = json_pack("{s:s,s:s,s:s?}", "state", lc_task_state_names[c->state], "worker_id",
                             worker_id, "version", c->version);
    if (c->state == LC_TASK_FAILED && c->trace)
        json_object_set_new(conn, "trace", json_string(c->trace));
    json_t *tasks = json_array();
    for (int i = 0; i < c->ntasks; i++)
        json_array_append_new(tasks, lc_connector_json_task_status(c->tasks[i], worker_id));
    if (c->reload_error) json_object_set_new(conn, "reload_error", json_string(c->reload_error));
    if (c->detached_from) json_object_set_new(conn, "detached_from", json_string(c->detached_from));
    return json_pack("{s:s,s:o,s:o,s:s,s:o}", "name", c->name, "connector", conn, "tasks", tasks,
                     "type", type_of(c), "scripts", scripts_json(c));
}

json_t *lc_connector_json_task_configs(const lc_connector_t *c)
{
    json_t *out = json_array();
    for (int i = 0; i < c->ntasks; i++) {
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
    return out;
}

json_t *lc_connector_json_strip_extras(json_t *o)
{
    if (!json_is_object(o)) return o;
    json_object_del(o, "scripts");
    json_t *conn = json_object_get(o, "connector");
    if (json_is_object(conn)) {
        json_object_del(conn, "reload_error");
        json_object_del(conn, "detached_from");
    }
    return o;
}
