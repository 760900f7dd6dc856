/* connector: see connector.h. Connector configs are validated in a scratch Lua state (the
 * script's own config definitions, lua/plan_api.c) before any task thread starts. */
#include "connector.h"
#include "config.h"
#include "plan_api.h"
#include "plugins.h"
#include "util.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const lc_target_names[] = {"STARTED", "PAUSED", "STOPPED"};
const char *const lc_task_state_names[] = {"UNASSIGNED", "RUNNING", "PAUSED",
                                           "FAILED",     "STOPPED", "RESTARTING"};

/* A task of c, not started, with config_json (taken over). */
static lc_task_t *task_new(lc_connector_t *c, int id, char *config_json)
{
    lc_task_t *t = calloc(1, sizeof(*t));
    pthread_mutex_init(&t->trace_lock, NULL);
    t->config_json = config_json;
    t->conn = c;
    t->id = id;
    snprintf(t->ctx, sizeof(t->ctx), "%s|task-%d", c->name, id);
    return t;
}

void lc_connector_tasks_free(lc_task_t **tasks, int n)
{
    for (int i = 0; i < n; i++) {
        lc_task_metrics_unregister(&tasks[i]->metrics);
        free(tasks[i]->config_json);
        free(tasks[i]->swap_config);
        free(tasks[i]->trace);
        pthread_mutex_destroy(&tasks[i]->trace_lock);
        free(tasks[i]);
    }
    free(tasks);
}

static const char *converter_class(const lc_converter_t *c)
{
    switch (c->kind) {
    case LC_CONV_STRING:
        return "org.apache.kafka.connect.storage.StringConverter";
    case LC_CONV_BYTES:
        return "org.apache.kafka.connect.converters.ByteArrayConverter";
    default:
        return "org.apache.kafka.connect.json.JsonConverter";
    }
}

static int init_converter(lc_converter_t *conv, const lc_converter_t *worker_default,
                          const lc_props_t *p, const char *which, const char *label, char *errs,
                          size_t errsz, size_t *elen)
{
    char key[64], err[1024];
    snprintf(key, sizeof(key), "%s.converter", which);
    const char *cls = lc_props_get(p, key);
    if (!cls) {
        *conv = *worker_default;
        return 0;
    }
    snprintf(key, sizeof(key), "%s.converter.schemas.enable", which);
    if (lc_converter_init(conv, cls, lc_props_get(p, key), err, sizeof(err)) != 0) {
        lc_appendf(errs, errsz, elen, "%s: key '%s.converter': %s\n", label, which, err);
        return -1;
    }
    return 0;
}

/* Validates the config in a scratch state and fills the task configs. */
static int plan_tasks(const lc_worker_t *w, lc_connector_t *c, const char *label, int max_tasks,
                      char *errs, size_t errsz, size_t *elen)
{
    lc_plan_t plan;
    lc_chain_step_t *steps = lc_chain_steps(c->chain, c->chain_len);
    lc_plan_in_t in = {.sdk_dir = lc_sdk_dir(),
                       .plugin_path = lc_worker_plugin_path(w),
                       .script_path = c->script_path,
                       .label = label,
                       .config = lc_chain_kv(c->props),
                       .max_tasks = max_tasks,
                       .chain = steps,
                       .chain_len = c->chain_len,
                       .check_chain = !c->chain_unchecked};
    int rc = lc_plan_run(&in, &plan, errs, errsz, elen);
    lc_chain_kv_free(&in.config);
    lc_chain_steps_free(steps, c->chain_len);
    if (rc != 0) goto out;
    /* The connector takes over what was planned. */
    c->is_source = plan.is_source;
    c->version = plan.version;
    plan.version = NULL;
    c->secrets = plan.secrets;
    c->nsecrets = plan.nsecrets;
    plan.secrets = NULL;
    plan.nsecrets = 0;
    c->tasks = calloc((size_t)plan.ntasks, sizeof(*c->tasks));
    for (int i = 0; i < plan.ntasks; i++) {
        c->tasks[c->ntasks++] = task_new(c, i, plan.task_configs[i]);
        plan.task_configs[i] = NULL;
    }
    c->files = calloc((size_t)plan.nfiles + 1, sizeof(char *));
    c->hashes = calloc((size_t)plan.nfiles + 1, sizeof(*c->hashes));
    for (int i = 0; i < plan.nfiles; i++)
        if (lc_file_hash(plan.files[i], &c->hashes[c->nfiles]) == 0) {
            c->files[c->nfiles++] = plan.files[i];
            plan.files[i] = NULL;
        }
    c->loaded_at_ms = lc_wall_ms();
    rc = c->chain_unchecked ? -1 : 0; /* the chain's errors are listed already */
out:
    lc_plan_free(&plan);
    return rc;
}

void lc_connector_free(lc_connector_t *c)
{
    if (!c) return;
    lc_connector_tasks_free(c->tasks, c->ntasks);
    for (int i = 0; i < c->ntopics; i++)
        free(c->topics[i]);
    free(c->topics);
    for (int i = 0; i < c->nsecrets; i++)
        free(c->secrets[i]);
    free(c->secrets);
    for (int i = 0; i < c->nfiles; i++)
        free(c->files[i]);
    free(c->files);
    free(c->hashes);
    free(c->reload_error);
    free(c->detached_from);
    lc_chain_free(c->chain, c->chain_len);
    lc_errors_free(&c->errors);
    lc_props_destroy(c->props);
    free(c->name);
    free(c->script_path);
    free(c->version);
    free(c->trace);
    free(c);
}

int lc_connector_is_secret(const lc_connector_t *c, const char *key)
{
    for (int i = 0; c && i < c->nsecrets; i++)
        if (strcmp(c->secrets[i], key) == 0) return 1;
    /* Kafka client secrets pass through producer.override.* and friends undeclared. */
    static const char *const suffixes[] = {"password", "secret", "sasl.jaas.config", "credentials",
                                           "token"};
    size_t kl = strlen(key);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
        size_t sl = strlen(suffixes[i]);
        if (kl >= sl && strcasecmp(key + kl - sl, suffixes[i]) == 0) return 1;
    }
    return 0;
}

static int sink_topics(lc_connector_t *c, const char *label, char *errs, size_t errsz, size_t *elen)
{
    const char *topics = lc_props_get(c->props, "topics");
    const char *regex = lc_props_get(c->props, "topics.regex");
    if ((topics && *topics) == (regex && *regex)) {
        lc_appendf(errs, errsz, elen,
                   "%s: must configure exactly one of 'topics' or 'topics.regex'", label);
        return -1;
    }
    if (topics && *topics) {
        c->topics = lc_split_list(topics, &c->ntopics);
    } else {
        c->topics = malloc(sizeof(char *));
        size_t l = strlen(regex) + 2;
        c->topics[0] = malloc(l);
        snprintf(c->topics[0], l, "%s%s", regex[0] == '^' ? "" : "^", regex);
        c->ntopics = 1;
    }
    return 0;
}

/* Kafka Connect's exactly-once connector keys (KIP-618): their values, and
 * exactly.once.support=required only where the worker runs sources exactly-once. */
static int exactly_once_keys(lc_connector_t *c, const lc_props_t *props, const char *label,
                             char *errs, size_t errsz, size_t *elen)
{
    int support, boundary, bad = 0;
    long interval;
    bad |= lc_config_choice(props, "exactly.once.support", label, &support, errs, errsz, elen) != 0;
    bad |=
        lc_config_choice(props, "transaction.boundary", label, &boundary, errs, errsz, elen) != 0;
    bad |= lc_config_long(props, "transaction.boundary.interval.ms", label, &interval, errs, errsz,
                          elen) != 0;
    if (!bad && support == 1 && !c->env->exactly_once) {
        lc_appendf(errs, errsz, elen,
                   "%s: key 'exactly.once.support': 'required', but this worker does not run "
                   "source tasks exactly-once (worker key 'exactly.once.source.support' is not "
                   "'enabled')\n",
                   label);
        bad = 1;
    }
    return bad ? -1 : 0;
}

lc_connector_t *lc_connector_plan(const lc_worker_t *w, const lc_props_t *props, char *errs,
                                  size_t errsz)
{
    char label[1024], path[4096], err[4096];
    size_t elen = 0;
    int bad = 0;
    errs[0] = 0;
    lc_connector_t *c = calloc(1, sizeof(*c));
    c->env = lc_worker_task_env(w);
    c->props = lc_props_copy(props);
    const char *name = lc_props_get(props, "name");
    const char *src = lc_props_source(props);
    if (!name || !*name) {
        lc_appendf(errs, errsz, &elen, "connector config%s%s: missing required key 'name'",
                   *src ? " " : "", src);
        goto err;
    }
    c->name = strdup(name);
    snprintf(label, sizeof(label), "connector '%s'", name);
    const char *cls = lc_props_get(props, "connector.class");
    if (!cls || !*cls) {
        lc_appendf(errs, errsz, &elen, "%s: missing required key 'connector.class'", label);
        goto err;
    }
    if (lc_plugins_resolve(lc_worker_plugin_path(w), cls, "connector", path, sizeof(path), err,
                           sizeof(err)) != 0) {
        lc_appendf(errs, errsz, &elen, "%s: key 'connector.class': %s", label, err);
        goto err;
    }
    c->script_path = strdup(path);
    long max_tasks = 1;
    bad |= lc_config_long(props, "tasks.max", label, &max_tasks, errs, errsz, &elen) != 0;
    bad |= init_converter(&c->key_conv, lc_worker_converter(w, 1), props, "key", label, errs, errsz,
                          &elen);
    bad |= init_converter(&c->value_conv, lc_worker_converter(w, 0), props, "value", label, errs,
                          errsz, &elen);
    c->key_conv_class = converter_class(&c->key_conv);
    c->value_conv_class = converter_class(&c->value_conv);
    bad |= lc_errors_parse(&c->errors, props, label, errs, errsz, &elen) != 0;
    bad |= exactly_once_keys(c, props, label, errs, errsz, &elen) != 0;
    int bad_chain = lc_chain_parse(lc_worker_plugin_path(w), c->props, label, &c->chain,
                                   &c->chain_len, errs, errsz, &elen) != 0;
    /* The script's own checks run too, so one answer lists every error. */
    c->chain_unchecked = bad_chain;
    if (plan_tasks(w, c, label, (int)max_tasks, errs, errsz, &elen) != 0 || bad || bad_chain)
        goto err;
    if (!c->is_source && sink_topics(c, label, errs, errsz, &elen) != 0) goto err;
    return c;
err:
    while (elen && errs[elen - 1] == '\n')
        errs[--elen] = 0;
    lc_connector_free(c);
    return NULL;
}

lc_connector_t *lc_connector_plan_json(const lc_worker_t *w, json_t *config, char *errs,
                                       size_t errsz)
{
    lc_props_t *p = lc_props_new();
    const char *k;
    json_t *v;
    json_object_foreach(config, k, v)
    {
        if (json_is_string(v)) lc_props_set(p, k, json_string_value(v));
    }
    lc_connector_t *c = lc_connector_plan(w, p, errs, errsz);
    lc_props_destroy(p);
    return c;
}

json_t *lc_connector_plan_task_strings(const lc_worker_t *w, json_t *config, char *errs,
                                       size_t errsz)
{
    lc_connector_t *c = lc_connector_plan_json(w, config, errs, errsz);
    if (!c) return NULL;
    json_t *tasks = lc_connector_task_strings(c);
    lc_connector_free(c);
    return tasks;
}

/* A connector whose stored config no longer validates: kept, FAILED, no tasks. */
lc_connector_t *lc_connector_placeholder(const lc_worker_t *w, const char *name,
                                         const lc_props_t *props, int target)
{
    lc_connector_t *c = calloc(1, sizeof(*c));
    c->env = lc_worker_task_env(w);
    c->name = strdup(name);
    c->props = lc_props_copy(props);
    c->target = target;
    return c;
}

int lc_connector_is_chain_file(const lc_connector_t *c, const char *path)
{
    for (int i = 0; i < c->chain_len; i++)
        if ((c->chain[i].path && strcmp(c->chain[i].path, path) == 0) ||
            (c->chain[i].pred_path && strcmp(c->chain[i].pred_path, path) == 0))
            return 1;
    return 0;
}

int lc_connector_same_tasks(const lc_connector_t *a, const lc_connector_t *b)
{
    if (a->ntasks != b->ntasks) return 0;
    for (int i = 0; i < a->ntasks; i++)
        if (strcmp(a->tasks[i]->config_json, b->tasks[i]->config_json) != 0) return 0;
    return 1;
}

/* c with the transforms of props (validated in a scratch state) and everything else as it
 * runs now: the connector script's last good version keeps running. */
lc_connector_t *lc_connector_chain_variant(const lc_worker_t *w, const lc_connector_t *c,
                                           const lc_props_t *props, char *errs, size_t errsz)
{
    char label[1024];
    size_t elen = 0;
    errs[0] = 0;
    snprintf(label, sizeof(label), "connector '%s'", c->name);
    lc_connector_t *n = calloc(1, sizeof(*n));
    n->env = lc_worker_task_env(w);
    n->name = strdup(c->name);
    n->script_path = strdup(c->script_path);
    n->version = c->version ? strdup(c->version) : NULL;
    n->is_source = c->is_source;
    n->props = lc_props_copy(props);
    n->key_conv = c->key_conv;
    n->value_conv = c->value_conv;
    n->key_conv_class = c->key_conv_class;
    n->value_conv_class = c->value_conv_class;
    n->secrets = calloc((size_t)c->nsecrets + 1, sizeof(char *));
    for (int i = 0; i < c->nsecrets; i++)
        n->secrets[n->nsecrets++] = strdup(c->secrets[i]);
    n->topics = calloc((size_t)c->ntopics + 1, sizeof(char *));
    for (int i = 0; i < c->ntopics; i++)
        n->topics[n->ntopics++] = strdup(c->topics[i]);
    if (lc_errors_parse(&n->errors, props, label, errs, errsz, &elen) != 0 ||
        lc_chain_parse(lc_worker_plugin_path(w), n->props, label, &n->chain, &n->chain_len, errs,
                       errsz, &elen) != 0)
        goto err;
    lc_chain_step_t *steps = lc_chain_steps(n->chain, n->chain_len);
    int bad = lc_plan_check_chain(lc_sdk_dir(), lc_worker_plugin_path(w), label, steps,
                                  n->chain_len, errs, errsz) != 0;
    lc_chain_steps_free(steps, n->chain_len);
    if (bad) goto err;
    n->tasks = calloc((size_t)c->ntasks + 1, sizeof(*n->tasks));
    for (int i = 0; i < c->ntasks; i++)
        n->tasks[n->ntasks++] = task_new(n, i, strdup(c->tasks[i]->config_json));
    /* Chain scripts get their new hashes; the others keep the ones that run. */
    n->files = calloc((size_t)c->nfiles + (size_t)n->chain_len * 2 + 1, sizeof(char *));
    n->hashes = calloc((size_t)c->nfiles + (size_t)n->chain_len * 2 + 1, sizeof(*n->hashes));
    for (int i = 0; i < c->nfiles; i++) {
        if (lc_connector_is_chain_file(c, c->files[i])) continue;
        n->files[n->nfiles] = strdup(c->files[i]);
        n->hashes[n->nfiles++] = c->hashes[i];
    }
    for (int i = 0; i < n->chain_len; i++) {
        const char *paths[2] = {n->chain[i].path, n->chain[i].pred_path};
        for (int k = 0; k < 2; k++)
            if (paths[k] && lc_file_hash(paths[k], &n->hashes[n->nfiles]) == 0)
                n->files[n->nfiles++] = strdup(paths[k]);
    }
    n->loaded_at_ms = lc_wall_ms();
    return n;
err:
    lc_connector_free(n);
    return NULL;
}

void lc_connector_set_tasks(lc_connector_t *c, json_t *configs)
{
    lc_connector_tasks_free(c->tasks, c->ntasks);
    c->ntasks = 0;
    size_t n = json_array_size(configs);
    c->tasks = calloc(n + 1, sizeof(*c->tasks));
    for (size_t i = 0; i < n; i++)
        c->tasks[c->ntasks++] = task_new(
            c, (int)i, json_dumps(json_array_get(configs, i), JSON_COMPACT | JSON_PRESERVE_ORDER));
}

/* A task config value as Kafka Connect's string (NULL for null). */
static char *as_string(json_t *v)
{
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strdup(json_string_value(v));
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(buf);
    case JSON_REAL:
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        return strdup(buf);
    case JSON_TRUE:
        return strdup("true");
    case JSON_FALSE:
        return strdup("false");
    case JSON_NULL:
        return NULL;
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        int plain = 1;
        json_array_foreach(v, i, e) if (!json_is_string(e)) plain = 0;
        if (plain) {
            size_t len = 1;
            json_array_foreach(v, i, e) len += strlen(json_string_value(e)) + 1;
            char *out = calloc(1, len);
            json_array_foreach(v, i, e)
            {
                if (i) strcat(out, ",");
                strcat(out, json_string_value(e));
            }
            return out;
        }
        return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    default:
        return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
}

json_t *lc_connector_task_strings(const lc_connector_t *c)
{
    json_t *out = json_array();
    for (int i = 0; i < c->ntasks; i++) {
        json_t *cfg = json_loads(c->tasks[i]->config_json, 0, NULL), *m = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(cfg, k, v)
        {
            char *s = as_string(v);
            json_object_set_new(m, k, s ? json_string(s) : json_null());
            free(s);
        }
        json_decref(cfg);
        json_array_append_new(out, m);
    }
    return out;
}

int lc_connector_valid_name(const char *name, char *errs, size_t errsz)
{
    if (!name || !*name) {
        snprintf(errs, errsz, "Connector name is required");
        return 0;
    }
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/') {
            /* Control characters shown escaped: the message stays one line (one error). */
            char shown[256];
            size_t n = 0;
            for (const unsigned char *q = (const unsigned char *)name; *q && n + 5 < sizeof(shown);
                 q++)
                n += (size_t)snprintf(shown + n, sizeof(shown) - n,
                                      *q < 0x20 || *q == 0x7f ? "\\x%02x" : "%c", *q);
            snprintf(errs, errsz, "Connector name '%s' must not contain '/' or control characters",
                     shown);
            return 0;
        }
    return 1;
}
