/* worker: see worker.h. Connector configs are validated in a scratch lua_State (the
 * script's own config definitions) before any task thread starts. */
#include "worker.h"
#include "worker_impl.h"
#include "bridge.h"
#include "log.h"
#include "plugins.h"
#include "store.h"
#include "task.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <jansson.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>



const char *lc_worker_sdk_dir(lc_worker_t *w)
{
    (void)w;
    return lc_sdk_dir();
}
const char *lc_worker_plugin_path(lc_worker_t *w)
{
    return w->plugin_path;
}
const char *lc_worker_id(lc_worker_t *w)
{
    return w->worker_id;
}
lc_store_t *lc_worker_store(lc_worker_t *w)
{
    return w->store;
}
long lc_worker_flush_interval_ms(lc_worker_t *w)
{
    return w->flush_ms;
}
long lc_worker_shutdown_timeout_ms(lc_worker_t *w)
{
    return w->shutdown_ms;
}
const char *lc_worker_bootstrap(const lc_worker_t *w)
{
    return w->bootstrap;
}
const lc_props_t *lc_worker_props(const lc_worker_t *w)
{
    return w->props;
}
void lc_worker_set_ready(lc_worker_t *w)
{
    w->ready = 1;
}
int lc_worker_ready(const lc_worker_t *w)
{
    return w->ready;
}
void lc_worker_set_id(lc_worker_t *w, const char *id)
{
    snprintf(w->worker_id, sizeof(w->worker_id), "%s", id);
}

static int parse_long(const char *label, const char *key, const char *s, long min, long *out,
                      char *errstr, size_t errsz)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    while (*end == ' ') end++;
    if (errno || end == s || *end || v < min) {
        snprintf(errstr, errsz, "%s: key '%s': expected an integer >= %ld, got '%s'", label, key,
                 min, s);
        return -1;
    }
    *out = v;
    return 0;
}

void lc_worker_ensure_topic(lc_worker_t *w, const char *topic)
{
    if (!w->mock) return;
    pthread_mutex_lock(&w->topics_lock);
    for (int i = 0; i < w->ntopics; i++)
        if (strcmp(w->topics[i], topic) == 0) {
            pthread_mutex_unlock(&w->topics_lock);
            return;
        }
    /* A fresh Kafka auto-creates topics with num.partitions=1; the mock would use more. */
    rd_kafka_mock_topic_create(w->mock, topic, 1, 1);
    w->topics = realloc(w->topics, (size_t)(w->ntopics + 1) * sizeof(char *));
    w->topics[w->ntopics++] = strdup(topic);
    pthread_mutex_unlock(&w->topics_lock);
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, const char *origin,
                    char *errstr, size_t errsz)
{
    char err[512];
    rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, key, value, err, sizeof(err));
    if (r == RD_KAFKA_CONF_OK) return 0;
    if (r == RD_KAFKA_CONF_UNKNOWN) {
        /* Java-client settings (buffer.memory, max.block.ms...) have no librdkafka twin. */
        lc_warn(NULL, "%s '%s': not a librdkafka setting; ignored", origin, key);
        return 0;
    }
    snprintf(errstr, errsz, "%s '%s': %s", origin, key, err);
    return -1;
}

static int apply_prefixed(rd_kafka_conf_t *conf, const lc_props_t *p, const char *prefix,
                          const char *origin, char *errstr, size_t errsz)
{
    size_t pl = strlen(prefix);
    for (size_t i = 0; p && i < lc_props_count(p); i++) {
        const char *k = lc_props_key(p, i);
        if (strncmp(k, prefix, pl) != 0 || !k[pl]) continue;
        char o[256];
        snprintf(o, sizeof(o), "%s key", origin);
        if (conf_set(conf, k + pl, lc_props_value(p, i), o, errstr, errsz) != 0) return -1;
    }
    return 0;
}

rd_kafka_conf_t *lc_worker_kafka_conf(lc_worker_t *w, lc_connector_t *c, int producer,
                                      char *errstr, size_t errsz)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char client_id[512], group[512];
    int id = 0;
    snprintf(client_id, sizeof(client_id), "connector-%s-%s-%d", producer ? "producer" : "consumer",
             c->name, id);
    if (conf_set(conf, "bootstrap.servers", w->bootstrap, "bootstrap.servers", errstr, errsz) ||
        conf_set(conf, "client.id", client_id, "client.id", errstr, errsz))
        goto err;
    if (producer) {
        /* Kafka Connect's producer defaults: acks=all and no give-up on delivery, so a
         * broker outage delays records instead of losing them. Idempotence keeps the order
         * of a partition across retries. */
        if (conf_set(conf, "acks", "all", "acks", errstr, errsz) ||
            conf_set(conf, "enable.idempotence", "true", "enable.idempotence", errstr, errsz) ||
            conf_set(conf, "message.timeout.ms", "0", "message.timeout.ms", errstr, errsz))
            goto err;
        if (apply_prefixed(conf, w->props, "producer.", "worker config", errstr, errsz) ||
            apply_prefixed(conf, c->props, "producer.override.", "connector config", errstr,
                           errsz))
            goto err;
    } else {
        snprintf(group, sizeof(group), "connect-%s", c->name);
        if (conf_set(conf, "group.id", group, "group.id", errstr, errsz) ||
            conf_set(conf, "enable.auto.commit", "false", "enable.auto.commit", errstr, errsz) ||
            conf_set(conf, "enable.auto.offset.store", "false", "enable.auto.offset.store", errstr,
                     errsz) ||
            conf_set(conf, "auto.offset.reset", "earliest", "auto.offset.reset", errstr, errsz) ||
            /* A sink should see a new record promptly; librdkafka's 500 ms default wait
             * makes an idle pipeline lag by up to half a second. */
            conf_set(conf, "fetch.wait.max.ms", "100", "fetch.wait.max.ms", errstr, errsz) ||
            /* librdkafka < 2.1 stops fetching for a fixed 1 s whenever the prefetch queue
             * passes queued.min.messages (librdkafka #2879): a sink catching up on a backlog
             * at ~400k records/s stalled every 100,000 records (default), i.e. ran at a third
             * of its speed. 300,000 keeps the stalls rare for ~90 MB more RSS at most. */
            conf_set(conf, "queued.min.messages", "300000", "queued.min.messages", errstr,
                     errsz))
            goto err;
        if (apply_prefixed(conf, w->props, "consumer.", "worker config", errstr, errsz) ||
            apply_prefixed(conf, c->props, "consumer.override.", "connector config", errstr,
                           errsz))
            goto err;
    }
    return conf;
err:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static int start_embedded(lc_worker_t *w, char *errstr, size_t errsz)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    w->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!w->mock_rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(errstr, errsz, "embedded Kafka: %s", err);
        return -1;
    }
    w->mock = rd_kafka_mock_cluster_new(w->mock_rk, 1);
    if (!w->mock) {
        snprintf(errstr, errsz, "embedded Kafka: cannot start the in-process broker");
        return -1;
    }
    free(w->bootstrap);
    w->bootstrap = strdup(rd_kafka_mock_cluster_bootstraps(w->mock));
    printf("embedded Kafka at %s\n", w->bootstrap);
    fflush(stdout);
    return 0;
}

lc_worker_t *lc_worker_new(const lc_props_t *props, int embedded_kafka, char *errstr, size_t errsz)
{
    lc_worker_t *w = calloc(1, sizeof(*w));
    const char *label = "worker config";
    char label_buf[1024];
    if (!w) {
        snprintf(errstr, errsz, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->topics_lock, NULL);
    pthread_mutex_init(&w->op, NULL);
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->admin_lock, NULL);
    w->props = lc_props_copy(props);
    if (*lc_props_source(props)) {
        snprintf(label_buf, sizeof(label_buf), "worker config %s", lc_props_source(props));
        label = label_buf;
    }
    w->bootstrap = strdup(lc_props_get_or(props, "bootstrap.servers", "localhost:9092"));
    const char *off_file = lc_props_get(props, "offset.storage.file.filename");
    if (!off_file || !*off_file) {
        snprintf(errstr, errsz, "%s: missing required key 'offset.storage.file.filename' (the "
                 "SQLite file that keeps source offsets, connector configs and statuses)", label);
        goto err;
    }
    if (parse_long(label, "offset.flush.interval.ms",
                   lc_props_get_or(props, "offset.flush.interval.ms", "60000"), 1, &w->flush_ms,
                   errstr, errsz) ||
        parse_long(label, "task.shutdown.graceful.timeout.ms",
                   lc_props_get_or(props, "task.shutdown.graceful.timeout.ms", "5000"), 0,
                   &w->shutdown_ms, errstr, errsz))
        goto err;
    char cerr[1024];
    if (lc_converter_init(&w->key_conv,
                          lc_props_get_or(props, "key.converter",
                                          "org.apache.kafka.connect.json.JsonConverter"),
                          lc_props_get(props, "key.converter.schemas.enable"), cerr,
                          sizeof(cerr)) != 0) {
        snprintf(errstr, errsz, "%s: key 'key.converter': %s", label, cerr);
        goto err;
    }
    if (lc_converter_init(&w->value_conv,
                          lc_props_get_or(props, "value.converter",
                                          "org.apache.kafka.connect.json.JsonConverter"),
                          lc_props_get(props, "value.converter.schemas.enable"), cerr,
                          sizeof(cerr)) != 0) {
        snprintf(errstr, errsz, "%s: key 'value.converter': %s", label, cerr);
        goto err;
    }
    w->plugin_path = lc_plugin_path(lc_props_get(props, "plugin.path"));
    const char *listeners = lc_props_get_or(props, "listeners", "http://127.0.0.1:8083");
    const char *hp = strstr(listeners, "://");
    snprintf(w->worker_id, sizeof(w->worker_id), "%s", hp ? hp + 3 : listeners);
    w->store = lc_store_open(off_file, errstr, errsz);
    if (!w->store) goto err;
    if (embedded_kafka && start_embedded(w, errstr, errsz) != 0) goto err;
    return w;
err:
    lc_worker_destroy(w);
    return NULL;
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

/* Frees n tasks whose threads are not running, and the array; NULL is a no-op. */
static void tasks_free(lc_task_t **tasks, int n)
{
    for (int i = 0; i < n; i++) {
        free(tasks[i]->config_json);
        free(tasks[i]->swap_config);
        free(tasks[i]->trace);
        pthread_mutex_destroy(&tasks[i]->trace_lock);
        free(tasks[i]);
    }
    free(tasks);
}

/* Validates the config in a scratch state and fills the task configs. */
static int plan_tasks(lc_worker_t *w, lc_connector_t *c, const char *label, int max_tasks,
                      char *errs, size_t errsz, size_t *elen)
{
    char err[8192];
    int rc = -1;
    lua_State *L = lc_lua_new(lc_sdk_dir(), w->plugin_path, NULL, err, sizeof(err));
    if (!L) {
        lc_appendf(errs, errsz, elen, "%s: %s\n", label, err);
        return -1;
    }
    lua_pushstring(L, c->script_path);
    lua_pushstring(L, label);
    lua_createtable(L, 0, (int)lc_props_count(c->props));
    for (size_t i = 0; i < lc_props_count(c->props); i++) {
        lua_pushstring(L, lc_props_value(c->props, i));
        lua_setfield(L, -2, lc_props_key(c->props, i));
    }
    lua_pushinteger(L, max_tasks);
    if (lc_lua_call_sdk(L, "_plan", 4, 4, err, sizeof(err)) != 0) {
        lc_appendf(errs, errsz, elen, "%s: %s\n", label, err);
        goto out;
    }
    if (lua_istable(L, -1)) {
        int ns = (int)lua_objlen(L, -1);
        c->secrets = calloc((size_t)ns + 1, sizeof(char *));
        for (int i = 1; i <= ns; i++) {
            lua_rawgeti(L, -1, i);
            c->secrets[c->nsecrets++] = strdup(lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    int nerr = (int)lua_objlen(L, -1);
    for (int i = 1; i <= nerr; i++) {
        lua_rawgeti(L, -1, i);
        lc_appendf(errs, errsz, elen, "%s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    if (nerr) goto out;
    c->is_source = strcmp(lua_tostring(L, -3), "source") == 0;
    int n = (int)lua_objlen(L, -2);
    if (n < 1) {
        lc_appendf(errs, errsz, elen, "%s: task_configs() returned no task configs\n", label);
        goto out;
    }
    c->tasks = calloc((size_t)n, sizeof(*c->tasks));
    for (int i = 0; i < n; i++) {
        lc_buf_t b = {0};
        lua_rawgeti(L, -2, i + 1);
        if (lc_json_encode_sorted(L, -1, &b, err, sizeof(err)) != 0 ||
            lc_buf_append(&b, "", 1) != 0) {
            lc_appendf(errs, errsz, elen, "%s: task config %d: %s\n", label, i, err);
            lc_buf_free(&b);
            goto out;
        }
        lua_pop(L, 1);
        c->tasks[c->ntasks++] = task_new(c, i, b.data);
    }
    /* Transforms are validated here too, so a bad one is an error before anything runs. */
    if (c->chain_unchecked) goto out; /* their config did not parse; errors are listed */
    lua_pushstring(L, label);
    lc_chain_push(L, c->chain, c->chain_len);
    if (lc_lua_call_sdk(L, "_chain", 2, 0, err, sizeof(err)) != 0) {
        lc_appendf(errs, errsz, elen, "%s\n", err);
        goto out;
    }
    if (lc_lua_call_sdk(L, "_script_files", 0, 1, err, sizeof(err)) == 0) {
        int nf = (int)lua_objlen(L, -1);
        c->files = calloc((size_t)nf + 1, sizeof(char *));
        c->hashes = calloc((size_t)nf + 1, sizeof(*c->hashes));
        for (int i = 1; i <= nf; i++) {
            lua_rawgeti(L, -1, i);
            const char *f = lua_tostring(L, -1);
            if (f && lc_file_hash(f, &c->hashes[c->nfiles]) == 0) c->files[c->nfiles++] = strdup(f);
            lua_pop(L, 1);
        }
    }
    c->loaded_at_ms = lc_wall_ms();
    rc = 0;
out:
    lc_lua_close(L);
    return rc;
}

static char *props_to_json(const lc_props_t *p)
{
    json_t *o = json_object();
    for (size_t i = 0; i < lc_props_count(p); i++)
        json_object_set_new(o, lc_props_key(p, i), json_string(lc_props_value(p, i)));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}


void lc_worker_connector_free(lc_connector_t *c)
{
    if (!c) return;
    tasks_free(c->tasks, c->ntasks);
    for (int i = 0; i < c->ntopics; i++) free(c->topics[i]);
    free(c->topics);
    for (int i = 0; i < c->nsecrets; i++) free(c->secrets[i]);
    free(c->secrets);
    for (int i = 0; i < c->nfiles; i++) free(c->files[i]);
    free(c->files);
    free(c->hashes);
    free(c->props_path);
    free(c->reload_error);
    lc_chain_free(c->chain, c->chain_len);
    lc_errors_free(&c->errors);
    lc_props_destroy(c->props);
    free(c->name);
    free(c->script_path);
    free(c->trace);
    free(c);
}

int lc_connector_is_secret(const lc_connector_t *c, const char *key)
{
    for (int i = 0; c && i < c->nsecrets; i++)
        if (strcmp(c->secrets[i], key) == 0) return 1;
    /* Kafka client secrets pass through producer.override.* and friends undeclared. */
    static const char *const suffixes[] = {"password", "secret", "sasl.jaas.config",
                                           "credentials", "token"};
    size_t kl = strlen(key);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
        size_t sl = strlen(suffixes[i]);
        if (kl >= sl && strcasecmp(key + kl - sl, suffixes[i]) == 0) return 1;
    }
    return 0;
}

int lc_worker_find(lc_worker_t *w, const char *name)
{
    for (int i = 0; i < w->nconns; i++)
        if (strcmp(w->conns[i]->name, name) == 0) return i;
    return -1;
}

static int sink_topics(lc_connector_t *c, const char *label, char *errs, size_t errsz,
                       size_t *elen)
{
    const char *topics = lc_props_get(c->props, "topics");
    const char *regex = lc_props_get(c->props, "topics.regex");
    if ((topics && *topics) == (regex && *regex)) {
        lc_appendf(errs, errsz, elen, "%s: must configure exactly one of 'topics' or 'topics.regex'",
                   label);
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

lc_connector_t *lc_worker_plan(lc_worker_t *w, const lc_props_t *props, char *errs, size_t errsz)
{
    char label[1024], path[4096], err[4096];
    size_t elen = 0;
    int bad = 0;
    errs[0] = 0;
    lc_connector_t *c = calloc(1, sizeof(*c));
    c->worker = w;
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
    if (lc_plugins_resolve(w->plugin_path, cls, "connector", path, sizeof(path), err,
                           sizeof(err)) != 0) {
        lc_appendf(errs, errsz, &elen, "%s: key 'connector.class': %s", label, err);
        goto err;
    }
    c->script_path = strdup(path);
    long max_tasks = 1;
    if (parse_long(label, "tasks.max", lc_props_get_or(props, "tasks.max", "1"), 1, &max_tasks,
                   err, sizeof(err)) != 0) {
        lc_appendf(errs, errsz, &elen, "%s\n", err);
        bad = 1;
    }
    bad |= init_converter(&c->key_conv, &w->key_conv, props, "key", label, errs, errsz, &elen);
    bad |= init_converter(&c->value_conv, &w->value_conv, props, "value", label, errs, errsz,
                          &elen);
    c->key_conv_class = converter_class(&c->key_conv);
    c->value_conv_class = converter_class(&c->value_conv);
    bad |= lc_errors_parse(&c->errors, props, label, errs, errsz, &elen) != 0;
    int bad_chain = lc_chain_parse(w->plugin_path, c->props, label, &c->chain, &c->chain_len,
                                   errs, errsz, &elen) != 0;
    /* The script's own checks run too, so one answer lists every error. */
    c->chain_unchecked = bad_chain;
    if (plan_tasks(w, c, label, (int)max_tasks, errs, errsz, &elen) != 0 || bad || bad_chain)
        goto err;
    if (!c->is_source && sink_topics(c, label, errs, errsz, &elen) != 0) goto err;
    return c;
err:
    while (elen && errs[elen - 1] == '\n') errs[--elen] = 0;
    lc_worker_connector_free(c);
    return NULL;
}

static const char *const target_names[] = {"STARTED", "PAUSED", "STOPPED"};

static int persist(lc_worker_t *w, const char *name, const lc_props_t *props, int target,
                   char *errs, size_t errsz)
{
    char *json = props_to_json(props);
    lc_config_store_t *cs = lc_store_configs(w->store);
    int rc = cs->put(cs, name, json, target_names[target], errs, errsz);
    free(json);
    return rc;
}

static void set_connector_state(lc_worker_t *w, lc_connector_t *c, int state, const char *trace)
{
    char err[512];
    pthread_mutex_lock(&w->mu);
    c->state = state;
    free(c->trace);
    c->trace = trace ? strdup(trace) : NULL;
    pthread_mutex_unlock(&w->mu);
    lc_status_store_t *ss = lc_store_statuses(w->store);
    if (ss->put(ss, c->name, -1, lc_task_state_names[state], trace, w->worker_id, err,
                sizeof(err)) != 0)
        lc_warn(c->name, "cannot record status: %s", err);
}

static void start_task(lc_task_t *t)
{
    lc_connector_t *c = t->conn;
    t->stop = t->abort = 0;
    t->pause = c->target == LC_TARGET_PAUSED;
    t->state = LC_TASK_UNASSIGNED;
    if (pthread_create(&t->thread, NULL, c->is_source ? lc_source_task_main : lc_sink_task_main,
                       t) == 0)
        t->started = 1;
    else
        lc_task_set_state(t, LC_TASK_FAILED, "cannot create the task thread");
}

static int join_until(lc_task_t *t, long long deadline_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long left = deadline_ms - lc_now_ms();
    if (left < 0) left = 0;
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    return pthread_timedjoin_np(t->thread, NULL, &ts);
}

/* Stops tasks (all of c's when only < 0, else task `only`) and waits for their threads:
 * tasks flush within task.shutdown.graceful.timeout.ms, get the same again for close(),
 * then their scripts are interrupted. A thread that still runs is abandoned (its memory
 * is never freed). Caller holds op, not mu. */
static void stop_tasks(lc_worker_t *w, lc_connector_t *c, int only)
{
    for (int j = 0; j < c->ntasks; j++)
        if (only < 0 || j == only) c->tasks[j]->stop = 1;
    long long deadline = lc_now_ms() + 2 * w->shutdown_ms + 1000;
    for (int j = 0; j < c->ntasks; j++) {
        lc_task_t *t = c->tasks[j];
        if ((only >= 0 && j != only) || t->started != 1) continue;
        if (join_until(t, deadline) == 0) {
            t->started = 0;
            continue;
        }
        t->abort = 1;
        if (join_until(t, lc_now_ms() + 2000) == 0) {
            t->started = 0;
            continue;
        }
        lc_error(t->ctx, "task did not stop within task.shutdown.graceful.timeout.ms=%ld; "
                 "abandoned", w->shutdown_ms);
        pthread_detach(t->thread);
        t->started = -1;
        c->abandoned = 1;
    }
}

/* Stops task i of c and starts it again (unless it had to be abandoned). Caller holds op. */
static void restart_one(lc_worker_t *w, lc_connector_t *c, int i)
{
    lc_task_t *t = c->tasks[i];
    stop_tasks(w, c, i);
    if (t->started == -1) return;
    lc_task_set_state(t, LC_TASK_RESTARTING, NULL);
    start_task(t);
}

/* Drops the planned tasks of a stopped connector (status then lists none). Caller holds op. */
static void drop_tasks(lc_worker_t *w, lc_connector_t *c)
{
    if (c->abandoned) return;
    pthread_mutex_lock(&w->mu);
    lc_task_t **tasks = c->tasks;
    int n = c->ntasks;
    c->tasks = NULL;
    c->ntasks = 0;
    pthread_mutex_unlock(&w->mu);
    tasks_free(tasks, n);
}

/* Brings a planned connector to its target: tasks running, running paused, or none. */
static void activate(lc_worker_t *w, lc_connector_t *c)
{
    if (c->target == LC_TARGET_STOPPED) {
        drop_tasks(w, c);
        set_connector_state(w, c, LC_TASK_STOPPED, NULL);
        lc_info(c->name, "connector STOPPED (no tasks)");
        return;
    }
    set_connector_state(w, c, c->target == LC_TARGET_PAUSED ? LC_TASK_PAUSED : LC_TASK_RUNNING,
                        NULL);
    lc_info(NULL, "connector '%s': starting %d %s task%s%s (%s)", c->name, c->ntasks,
            c->is_source ? "source" : "sink", c->ntasks == 1 ? "" : "s",
            c->target == LC_TARGET_PAUSED ? " paused" : "", c->script_path);
    for (int i = 0; i < c->ntasks; i++) start_task(c->tasks[i]);
}

/* Puts c in place of the connector at idx (or appends it when idx < 0) after stopping the
 * old one's tasks, then activates c. Caller holds op. */
static void install(lc_worker_t *w, int idx, lc_connector_t *c)
{
    lc_connector_t *old = NULL;
    if (idx >= 0) {
        pthread_mutex_lock(&w->mu);
        old = w->conns[idx];
        pthread_mutex_unlock(&w->mu);
        stop_tasks(w, old, -1);
    }
    lc_status_store_t *ss = lc_store_statuses(w->store);
    ss->clear(ss, c->name);
    pthread_mutex_lock(&w->mu);
    if (idx >= 0) {
        w->conns[idx] = c;
    } else {
        w->conns = realloc(w->conns, (size_t)(w->nconns + 1) * sizeof(*w->conns));
        w->conns[w->nconns++] = c;
    }
    pthread_mutex_unlock(&w->mu);
    if (old && !old->abandoned) lc_worker_connector_free(old);
    activate(w, c);
}

/* A connector whose stored config no longer validates: kept, FAILED, no tasks. */
static lc_connector_t *failed_connector(lc_worker_t *w, const char *name, const lc_props_t *props,
                                        int target)
{
    lc_connector_t *c = calloc(1, sizeof(*c));
    c->worker = w;
    c->name = strdup(name);
    c->props = lc_props_copy(props);
    c->target = target;
    return c;
}

static int valid_name(const char *name, char *errs, size_t errsz)
{
    if (!name || !*name) {
        snprintf(errs, errsz, "Connector name is required");
        return 0;
    }
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/') {
            snprintf(errs, errsz, "Connector name '%s' must not contain '/' or control characters",
                     name);
            return 0;
        }
    return 1;
}

static int props_equal(const lc_props_t *a, const lc_props_t *b, int skip_chain);

int lc_worker_put_connector(lc_worker_t *w, const char *name, const lc_props_t *config, int mode,
                            int target, char *errs, size_t errsz)
{
    int rc;
    errs[0] = 0;
    if (!valid_name(name, errs, errsz)) return 400;
    lc_props_t *props = lc_props_copy(config);
    lc_props_set(props, "name", name);
    pthread_mutex_lock(&w->op);
    pthread_mutex_lock(&w->mu);
    int idx = lc_worker_find(w, name);
    int old_target = idx >= 0 ? w->conns[idx]->target : LC_TARGET_STARTED;
    /* A masked value sent back unchanged (GET then PUT) keeps the real one. */
    for (size_t i = 0; idx >= 0 && i < lc_props_count(props); i++) {
        const char *old = lc_props_get(w->conns[idx]->props, lc_props_key(props, i));
        if (old && strcmp(lc_props_value(props, i), "[hidden]") == 0)
            lc_props_set(props, lc_props_key(props, i), old);
    }
    pthread_mutex_unlock(&w->mu);
    if (w->stopped) {
        snprintf(errs, errsz, "the worker is shutting down");
        rc = 409;
        goto out;
    }
    if (mode == LC_PUT_CREATE && idx >= 0) {
        snprintf(errs, errsz, "Connector %s already exists", name);
        rc = 409;
        goto out;
    }
    if (mode == LC_PUT_UPDATE && idx < 0) {
        snprintf(errs, errsz, "Connector %s not found", name);
        rc = 404;
        goto out;
    }
    if (idx >= 0 && (target < 0 || target == old_target)) {
        /* The same config again (a restart's command-line file, a repeated PUT): the
         * connector keeps running untouched. */
        pthread_mutex_lock(&w->mu);
        lc_connector_t *old = w->conns[idx];
        int same = old->state != LC_TASK_FAILED && old->script_path &&
                   props_equal(old->props, props, 0);
        pthread_mutex_unlock(&w->mu);
        if (same) {
            rc = 200;
            goto out;
        }
    }
    lc_connector_t *c = lc_worker_plan(w, props, errs, errsz);
    if (!c) {
        rc = 400;
        goto out;
    }
    c->target = target >= 0 ? target : old_target;
    if (persist(w, name, props, c->target, errs, errsz) != 0) {
        lc_worker_connector_free(c);
        rc = 500;
        goto out;
    }
    lc_info(NULL, "connector '%s': %s (target state %s)", name, idx >= 0 ? "config updated" : "created",
            target_names[c->target]);
    install(w, idx, c);
    rc = idx >= 0 ? 200 : 201;
out:
    pthread_mutex_unlock(&w->op);
    lc_props_destroy(props);
    return rc;
}

static void set_cli_path(lc_worker_t *w, const char *name, const char *path);

int lc_worker_add_connector(lc_worker_t *w, const lc_props_t *props, char *errs, size_t errsz)
{
    const char *name = lc_props_get(props, "name");
    const char *src = lc_props_source(props);
    if (!name || !*name) {
        snprintf(errs, errsz, "connector config%s%s: missing required key 'name'", *src ? " " : "",
                 src);
        return -1;
    }
    int rc = lc_worker_put_connector(w, name, props, LC_PUT_ANY, -1, errs, errsz);
    if (rc != 200 && rc != 201) return -1;
    if (*src) {
        char real[PATH_MAX];
        set_cli_path(w, name, realpath(src, real) ? real : src);
    }
    return 0;
}

struct restore_ctx {
    lc_worker_t *w;
    int n;
};

static void restore_one(void *arg, const char *name, const char *config_json, const char *target)
{
    struct restore_ctx *r = arg;
    lc_worker_t *w = r->w;
    char errs[16384];
    int tgt = LC_TARGET_STARTED;
    for (int i = 0; i < 3; i++)
        if (strcmp(target, target_names[i]) == 0) tgt = i;
    json_error_t jerr;
    json_t *o = json_loads(config_json, 0, &jerr);
    lc_props_t *props = lc_props_new();
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) if (json_is_string(v)) lc_props_set(props, k, json_string_value(v));
    json_decref(o);
    lc_connector_t *c = lc_worker_plan(w, props, errs, sizeof(errs));
    if (!c) {
        lc_error(NULL, "connector '%s' (restored from the store): %s", name, errs);
        c = failed_connector(w, name, props, tgt);
        install(w, -1, c);
        set_connector_state(w, c, LC_TASK_FAILED, errs);
    } else {
        c->target = tgt;
        install(w, -1, c);
    }
    lc_props_destroy(props);
    r->n++;
}

void lc_worker_restore(lc_worker_t *w)
{
    char err[512];
    struct restore_ctx r = {w, 0};
    lc_config_store_t *cs = lc_store_configs(w->store);
    pthread_mutex_lock(&w->op);
    if (cs->each(cs, restore_one, &r, err, sizeof(err)) != 0)
        lc_error(NULL, "cannot read the stored connector configs: %s", err);
    pthread_mutex_unlock(&w->op);
    if (r.n) lc_info(NULL, "restored %d connector%s from the store", r.n, r.n == 1 ? "" : "s");
}

/* Looks a connector up under op; 404 text in errs when missing. */
static lc_connector_t *find_locked(lc_worker_t *w, const char *name, char *errs, size_t errsz)
{
    pthread_mutex_lock(&w->mu);
    int idx = lc_worker_find(w, name);
    lc_connector_t *c = idx >= 0 ? w->conns[idx] : NULL;
    pthread_mutex_unlock(&w->mu);
    if (!c) snprintf(errs, errsz, "Connector %s not found", name);
    return c;
}

/* Takes op and looks the connector up; on a miss releases op and returns NULL (404). */
static lc_connector_t *op_find(lc_worker_t *w, const char *name, char *errs, size_t errsz)
{
    pthread_mutex_lock(&w->op);
    lc_connector_t *c = find_locked(w, name, errs, errsz);
    if (!c) pthread_mutex_unlock(&w->op);
    return c;
}

int lc_worker_delete_connector(lc_worker_t *w, const char *name, char *errs, size_t errsz)
{
    lc_connector_t *c = op_find(w, name, errs, errsz);
    if (!c) return 404;
    stop_tasks(w, c, -1);
    pthread_mutex_lock(&w->mu);
    int idx = lc_worker_find(w, name);
    memmove(&w->conns[idx], &w->conns[idx + 1], (size_t)(w->nconns - idx - 1) * sizeof(*w->conns));
    w->nconns--;
    pthread_mutex_unlock(&w->mu);
    lc_config_store_t *cs = lc_store_configs(w->store);
    if (cs->del(cs, name, errs, errsz) != 0) lc_warn(name, "cannot delete the stored config: %s", errs);
    lc_status_store_t *ss = lc_store_statuses(w->store);
    ss->clear(ss, name);
    lc_info(NULL, "connector '%s' deleted", name);
    if (!c->abandoned) lc_worker_connector_free(c);
    pthread_mutex_unlock(&w->op);
    errs[0] = 0;
    return 204;
}

/* Plans c's config anew and installs it in c's place with target; on a validation error
 * the connector stays in place, FAILED, without tasks. Caller holds op. */
static void replan(lc_worker_t *w, lc_connector_t *c, int target)
{
    char errs[16384];
    pthread_mutex_lock(&w->mu);
    int idx = lc_worker_find(w, c->name);
    pthread_mutex_unlock(&w->mu);
    lc_connector_t *n = lc_worker_plan(w, c->props, errs, sizeof(errs));
    if (!n) n = failed_connector(w, c->name, c->props, target);
    n->target = target;
    install(w, idx, n);
    if (!n->script_path) set_connector_state(w, n, LC_TASK_FAILED, errs);
}

int lc_worker_set_target(lc_worker_t *w, const char *name, lc_target_t target, char *errs,
                         size_t errsz)
{
    lc_connector_t *c = op_find(w, name, errs, errsz);
    if (!c) return 404;
    if (persist(w, name, c->props, target, errs, errsz) != 0) {
        pthread_mutex_unlock(&w->op);
        return 500;
    }
    int has_tasks = c->ntasks > 0 && c->script_path;
    lc_info(NULL, "connector '%s': target state %s", name, target_names[target]);
    if (target == LC_TARGET_STOPPED) {
        stop_tasks(w, c, -1);
        pthread_mutex_lock(&w->mu);
        c->target = target;
        pthread_mutex_unlock(&w->mu);
        activate(w, c);
    } else if (!has_tasks || c->state == LC_TASK_STOPPED || c->state == LC_TASK_FAILED) {
        replan(w, c, target);
    } else {
        pthread_mutex_lock(&w->mu);
        c->target = target;
        for (int i = 0; i < c->ntasks; i++) c->tasks[i]->pause = target == LC_TARGET_PAUSED;
        pthread_mutex_unlock(&w->mu);
        set_connector_state(w, c, target == LC_TARGET_PAUSED ? LC_TASK_PAUSED : LC_TASK_RUNNING,
                            NULL);
    }
    pthread_mutex_unlock(&w->op);
    errs[0] = 0;
    return target == LC_TARGET_STOPPED ? 204 : 202;
}

static int same_task_configs(const lc_connector_t *a, const lc_connector_t *b)
{
    if (a->ntasks != b->ntasks) return 0;
    for (int i = 0; i < a->ntasks; i++)
        if (strcmp(a->tasks[i]->config_json, b->tasks[i]->config_json) != 0) return 0;
    return 1;
}

int lc_worker_restart(lc_worker_t *w, const char *name, int include_tasks, int only_failed,
                      json_t **status, char *errs, size_t errsz)
{
    lc_connector_t *c = op_find(w, name, errs, errsz);
    if (!c) return 404;
    errs[0] = 0;
    int restart_conn = !only_failed || c->state == LC_TASK_FAILED;
    int *restart_task = calloc((size_t)c->ntasks + 1, sizeof(int));
    for (int i = 0; i < c->ntasks; i++)
        restart_task[i] = include_tasks && (!only_failed || c->tasks[i]->state == LC_TASK_FAILED);
    if (status) {
        *status = lc_worker_connector_status(w, name);
        if (restart_conn && c->target != LC_TARGET_STOPPED)
            json_object_set_new(json_object_get(*status, "connector"), "state",
                                json_string("RESTARTING"));
        json_t *tasks = json_object_get(*status, "tasks");
        for (int i = 0; i < c->ntasks && i < (int)json_array_size(tasks); i++)
            if (restart_task[i])
                json_object_set_new(json_array_get(tasks, i), "state", json_string("RESTARTING"));
    }
    if (c->target == LC_TARGET_STOPPED) goto out; /* nothing runs; nothing to restart */
    if (restart_conn) {
        lc_info(NULL, "connector '%s': restarting", name);
        char perr[16384];
        lc_connector_t *n = lc_worker_plan(w, c->props, perr, sizeof(perr));
        if (!n) {
            /* The connector fails; its running tasks go on, as in Kafka Connect. */
            set_connector_state(w, c, LC_TASK_FAILED, perr);
            if (!c->script_path || c->ntasks == 0) goto out;
        } else if (!c->script_path || c->state == LC_TASK_FAILED || !same_task_configs(c, n)) {
            /* New task configs (or none ran): every task starts from the new plan. */
            n->target = c->target;
            pthread_mutex_lock(&w->mu);
            int idx = lc_worker_find(w, name);
            pthread_mutex_unlock(&w->mu);
            install(w, idx, n);
            goto out;
        } else {
            lc_worker_connector_free(n);
            set_connector_state(w, c,
                                c->target == LC_TARGET_PAUSED ? LC_TASK_PAUSED : LC_TASK_RUNNING,
                                NULL);
        }
    }
    for (int i = 0; i < c->ntasks; i++)
        if (restart_task[i]) restart_one(w, c, i);
out:
    free(restart_task);
    pthread_mutex_unlock(&w->op);
    return status ? 202 : 204;
}

int lc_worker_restart_task(lc_worker_t *w, const char *name, int task, char *errs, size_t errsz)
{
    pthread_mutex_lock(&w->op);
    lc_connector_t *c = find_locked(w, name, errs, errsz);
    int rc = 404;
    if (!c) goto out;
    if (task < 0 || task >= c->ntasks) {
        snprintf(errs, errsz, "Task %s-%d not found", name, task);
        goto out;
    }
    lc_info(c->tasks[task]->ctx, "restarting");
    restart_one(w, c, task);
    errs[0] = 0;
    rc = 204;
out:
    pthread_mutex_unlock(&w->op);
    return rc;
}

int lc_worker_running_tasks(lc_worker_t *w)
{
    int n = 0;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->nconns; i++)
        for (int j = 0; j < w->conns[i]->ntasks; j++)
            n += w->conns[i]->tasks[j]->state == LC_TASK_RUNNING;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void lc_worker_stop(lc_worker_t *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->op);
    if (!w->stopped) {
        w->stopped = 1;
        for (int i = 0; i < w->nconns; i++)
            for (int j = 0; j < w->conns[i]->ntasks; j++) w->conns[i]->tasks[j]->stop = 1;
        for (int i = 0; i < w->nconns; i++) stop_tasks(w, w->conns[i], -1);
    }
    pthread_mutex_unlock(&w->op);
}

void lc_worker_destroy(lc_worker_t *w)
{
    if (!w) return;
    lc_worker_stop(w);
    for (int i = 0; i < w->nconns; i++)
        if (!w->conns[i]->abandoned) lc_worker_connector_free(w->conns[i]);
    free(w->conns);
    lc_free_list(w->cli_names, w->ncli);
    lc_free_list(w->cli_paths, w->ncli);
    if (w->admin) rd_kafka_destroy(w->admin);
    free(w->cluster_id);
    if (w->mock) rd_kafka_mock_cluster_destroy(w->mock);
    if (w->mock_rk) rd_kafka_destroy(w->mock_rk);
    for (int i = 0; i < w->ntopics; i++) free(w->topics[i]);
    free(w->topics);
    lc_store_close(w->store);
    lc_props_destroy(w->props);
    free(w->bootstrap);
    free(w->plugin_path);
    pthread_mutex_destroy(&w->topics_lock);
    pthread_mutex_destroy(&w->op);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->admin_lock);
    free(w);
}

/* Hot reload --------------------------------------------------------------------------- */

static const char *cli_path(lc_worker_t *w, const char *name)
{
    for (int i = 0; i < w->ncli; i++)
        if (strcmp(w->cli_names[i], name) == 0) return w->cli_paths[i];
    return NULL;
}

static void set_cli_path(lc_worker_t *w, const char *name, const char *path)
{
    pthread_mutex_lock(&w->mu);
    int i = 0;
    while (i < w->ncli && strcmp(w->cli_names[i], name) != 0) i++;
    if (i == w->ncli) {
        w->cli_names = realloc(w->cli_names, (size_t)(w->ncli + 1) * sizeof(char *));
        w->cli_paths = realloc(w->cli_paths, (size_t)(w->ncli + 1) * sizeof(char *));
        w->cli_names[i] = strdup(name);
        w->cli_paths[i] = NULL;
        w->ncli++;
    }
    free(w->cli_paths[i]);
    w->cli_paths[i] = strdup(path);
    pthread_mutex_unlock(&w->mu);
}

/* transforms, predicates and their transforms.* / predicates.* settings. */
static int is_chain_key(const char *k)
{
    return strcmp(k, "transforms") == 0 || strcmp(k, "predicates") == 0 ||
           strncmp(k, "transforms.", 11) == 0 || strncmp(k, "predicates.", 11) == 0;
}

/* 1 when a and b hold the same keys and values (the chain's keys left out if skip_chain). */
static int props_equal(const lc_props_t *a, const lc_props_t *b, int skip_chain)
{
    size_t n[2] = {0, 0};
    for (int pass = 0; pass < 2; pass++) {
        const lc_props_t *x = pass ? b : a, *y = pass ? a : b;
        for (size_t i = 0; i < lc_props_count(x); i++) {
            const char *k = lc_props_key(x, i);
            if (skip_chain && is_chain_key(k)) continue;
            const char *v = lc_props_get(y, k);
            if (!v || strcmp(v, lc_props_value(x, i)) != 0) return 0;
            n[pass]++;
        }
    }
    return n[0] == n[1];
}

/* Keys whose change needs new Kafka clients or a new task layout: the tasks restart. */
static int restart_keys_differ(const lc_props_t *a, const lc_props_t *b)
{
    static const char *const prefixes[] = {"topics", "key.converter", "value.converter",
                                           "producer.override.", "consumer.override.",
                                           "errors.deadletterqueue.", "tasks.max"};
    for (int pass = 0; pass < 2; pass++) {
        const lc_props_t *x = pass ? b : a, *y = pass ? a : b;
        for (size_t i = 0; i < lc_props_count(x); i++) {
            const char *k = lc_props_key(x, i);
            for (size_t j = 0; j < sizeof(prefixes) / sizeof(*prefixes); j++)
                if (strncmp(k, prefixes[j], strlen(prefixes[j])) == 0) {
                    const char *v = lc_props_get(y, k);
                    if (!v || strcmp(v, lc_props_value(x, i)) != 0) return 1;
                }
        }
    }
    return 0;
}

static int is_chain_file(const lc_connector_t *c, const char *path)
{
    for (int i = 0; i < c->chain_len; i++)
        if ((c->chain[i].path && strcmp(c->chain[i].path, path) == 0) ||
            (c->chain[i].pred_path && strcmp(c->chain[i].pred_path, path) == 0))
            return 1;
    return 0;
}

/* 1 when a file of c changed since it was validated; *only_chain tells whether every
 * changed file is a transform or predicate script. */
static int files_changed(const lc_connector_t *c, int *only_chain)
{
    int changed = 0;
    *only_chain = 1;
    for (int i = 0; i < c->nfiles; i++) {
        unsigned long long h;
        if (lc_file_hash(c->files[i], &h) == 0 && h == c->hashes[i]) continue;
        changed = 1;
        if (!is_chain_file(c, c->files[i])) *only_chain = 0;
    }
    return changed;
}

/* Prefixes each error line that names a key of the .properties file with FILE:LINE. */
static void locate_errors(const lc_props_t *props, const char *file, char *errs, size_t errsz)
{
    char out[16384];
    size_t len = 0;
    out[0] = 0;
    for (char *line = errs; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        const char *k = strstr(line, "key '");
        int at = 0;
        if (k) {
            char key[512];
            const char *q = strchr(k + 5, '\'');
            snprintf(key, sizeof(key), "%.*s", q ? (int)(q - k - 5) : 0, k + 5);
            at = lc_props_line(props, key);
        }
        if (at)
            lc_appendf(out, sizeof(out), &len, "%s%s:%d: %s", len ? "\n" : "", file, at, line);
        else
            lc_appendf(out, sizeof(out), &len, "%s%s", len ? "\n" : "", line);
        line = nl ? nl + 1 : NULL;
    }
    snprintf(errs, errsz, "%s", out);
}

/* An error as a user reads it after a save: "<file>:<line>: <message>", without the
 * connector prefix and the SDK's stack traceback. Edits errs in place. */
static char *strip_error(char *errs, const char *name)
{
    char prefix[1024];
    snprintf(prefix, sizeof(prefix), "connector '%s': ", name);
    char *tb = strstr(errs, "\nstack traceback:");
    if (tb) *tb = 0;
    size_t pl = strlen(prefix);
    for (char *p = strstr(errs, prefix); p; p = strstr(p, prefix)) memmove(p, p + pl, strlen(p + pl) + 1);
    return errs;
}

static void set_reload_error(lc_worker_t *w, lc_connector_t *c, char *errs)
{
    char msg[16384];
    snprintf(msg, sizeof(msg), "reload failed: %s", strip_error(errs, c->name));
    lc_error(NULL, "connector '%s': %s (the running code stays)", c->name, msg);
    pthread_mutex_lock(&w->mu);
    free(c->reload_error);
    c->reload_error = strdup(msg);
    pthread_mutex_unlock(&w->mu);
}

/* Hands n to every task of c and waits until each has taken it at a batch boundary.
 * Returns 1 when all did. Caller holds op. */
static int hand_over(lc_worker_t *w, lc_connector_t *c, lc_connector_t *n, int mode)
{
    for (int i = 0; i < c->ntasks; i++) {
        lc_task_t *t = c->tasks[i];
        t->swap_config = strdup(n->tasks[i]->config_json);
        t->swap_mode = mode;
        __atomic_store_n(&t->swap_conn, n, __ATOMIC_RELEASE);
    }
    long long deadline = lc_now_ms() + 4 * w->shutdown_ms + 10000;
    for (;;) {
        int pending = 0, dead = 0;
        for (int i = 0; i < c->ntasks; i++) {
            lc_task_t *t = c->tasks[i];
            if (!__atomic_load_n(&t->swap_conn, __ATOMIC_ACQUIRE)) continue;
            pending++;
            dead |= t->started != 1 || t->state == LC_TASK_FAILED || t->state == LC_TASK_STOPPED;
        }
        if (!pending) return 1;
        if (dead || lc_now_ms() > deadline) return 0;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* 1 when every task of c runs (or is paused): they can take new code in place. */
static int running_tasks_of(const lc_connector_t *c)
{
    int running = c->script_path && c->ntasks > 0 &&
                  (c->state == LC_TASK_RUNNING || c->state == LC_TASK_PAUSED);
    for (int i = 0; running && i < c->ntasks; i++)
        running = c->tasks[i]->started == 1 && (c->tasks[i]->state == LC_TASK_RUNNING ||
                                                 c->tasks[i]->state == LC_TASK_PAUSED);
    return running;
}

/* After every task took n's code: n takes over c's task threads and c goes. */
static void adopt_tasks(lc_worker_t *w, int idx, lc_connector_t *c, lc_connector_t *n)
{
    pthread_mutex_lock(&w->mu);
    tasks_free(n->tasks, n->ntasks);
    n->tasks = c->tasks;
    n->ntasks = c->ntasks;
    n->state = c->state;
    c->tasks = NULL;
    c->ntasks = 0;
    w->conns[idx] = n;
    pthread_mutex_unlock(&w->mu);
    lc_worker_connector_free(c);
}

/* 1 when a transform or predicate script of c changed, or the transforms config did. */
static int chain_changed(const lc_connector_t *c, const lc_props_t *props)
{
    if (!props_equal(c->props, props, 0)) return 1;
    for (int i = 0; i < c->nfiles; i++) {
        unsigned long long h;
        if (is_chain_file(c, c->files[i]) &&
            (lc_file_hash(c->files[i], &h) != 0 || h != c->hashes[i]))
            return 1;
    }
    return 0;
}

/* c with the transforms of props (validated in a scratch state) and everything else as it
 * runs now: the connector script's last good version keeps running. */
static lc_connector_t *chain_variant(lc_worker_t *w, const lc_connector_t *c,
                                     const lc_props_t *props, char *errs, size_t errsz)
{
    char label[1024];
    size_t elen = 0;
    errs[0] = 0;
    snprintf(label, sizeof(label), "connector '%s'", c->name);
    lc_connector_t *n = calloc(1, sizeof(*n));
    n->worker = w;
    n->name = strdup(c->name);
    n->script_path = strdup(c->script_path);
    n->is_source = c->is_source;
    n->props = lc_props_copy(props);
    n->key_conv = c->key_conv;
    n->value_conv = c->value_conv;
    n->key_conv_class = c->key_conv_class;
    n->value_conv_class = c->value_conv_class;
    n->secrets = calloc((size_t)c->nsecrets + 1, sizeof(char *));
    for (int i = 0; i < c->nsecrets; i++) n->secrets[n->nsecrets++] = strdup(c->secrets[i]);
    n->topics = calloc((size_t)c->ntopics + 1, sizeof(char *));
    for (int i = 0; i < c->ntopics; i++) n->topics[n->ntopics++] = strdup(c->topics[i]);
    if (lc_errors_parse(&n->errors, props, label, errs, errsz, &elen) != 0 ||
        lc_chain_parse(w->plugin_path, n->props, label, &n->chain, &n->chain_len, errs, errsz,
                       &elen) != 0)
        goto err;
    lua_State *L = lc_lua_new(lc_sdk_dir(), w->plugin_path, NULL, errs, errsz);
    if (!L) goto err;
    lua_pushstring(L, label);
    lc_chain_push(L, n->chain, n->chain_len);
    int bad = lc_lua_call_sdk(L, "_chain", 2, 0, errs, errsz) != 0;
    lc_lua_close(L);
    if (bad) goto err;
    n->tasks = calloc((size_t)c->ntasks + 1, sizeof(*n->tasks));
    for (int i = 0; i < c->ntasks; i++)
        n->tasks[n->ntasks++] = task_new(n, i, strdup(c->tasks[i]->config_json));
    /* Chain scripts get their new hashes; the others keep the ones that run. */
    n->files = calloc((size_t)c->nfiles + (size_t)n->chain_len * 2 + 1, sizeof(char *));
    n->hashes = calloc((size_t)c->nfiles + (size_t)n->chain_len * 2 + 1, sizeof(*n->hashes));
    for (int i = 0; i < c->nfiles; i++) {
        if (is_chain_file(c, c->files[i])) continue;
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
    lc_worker_connector_free(n);
    return NULL;
}

int lc_worker_reload(lc_worker_t *w, const char *name, int force, char *errs, size_t errsz)
{
    int rc;
    long long t0 = lc_now_ms();
    lc_connector_t *c = op_find(w, name, errs, errsz);
    if (!c) return 404;
    errs[0] = 0;
    lc_props_t *props = NULL;
    const char *file = cli_path(w, name);
    if (file) {
        char perr[4096];
        props = lc_props_new();
        if (lc_props_parse_file(props, file, perr, sizeof(perr)) != 0) {
            set_reload_error(w, c, perr);
            snprintf(errs, errsz, "reload failed: %s", perr);
            rc = 400;
            goto out;
        }
        const char *fname = lc_props_get(props, "name");
        if (!fname || strcmp(fname, name) != 0) {
            snprintf(perr, sizeof(perr), "%s: key 'name' must stay '%s' (got '%s')", file, name,
                     fname ? fname : "");
            set_reload_error(w, c, perr);
            snprintf(errs, errsz, "reload failed: %s", perr);
            rc = 400;
            goto out;
        }
    } else {
        props = lc_props_copy(c->props);
    }
    int only_chain_files;
    int props_changed = !props_equal(c->props, props, 0);
    int changed = files_changed(c, &only_chain_files) || props_changed;
    if (!changed && !force && !c->reload_error) {
        rc = 204;
        goto out;
    }
    char perr[16384];
    lc_connector_t *n = lc_worker_plan(w, props, perr, sizeof(perr));
    if (!n) {
        if (file) locate_errors(props, file, perr, sizeof(perr));
        set_reload_error(w, c, perr);
        snprintf(errs, errsz, "%s", c->reload_error);
        rc = 400;
        /* The transforms may still change on their own: the connector keeps its last good
         * script, the chain takes the new transforms if they are valid. */
        if (!props_equal(c->props, props, 1) || !chain_changed(c, props))
            goto out;
        char cerr[16384];
        n = chain_variant(w, c, props, cerr, sizeof(cerr));
        if (!n) {
            lc_error(NULL, "connector '%s': reload failed: %s", name, strip_error(cerr, name));
            goto out;
        }
        n->reload_error = strdup(c->reload_error);
        if (!running_tasks_of(c) || n->ntasks != c->ntasks) {
            lc_worker_connector_free(n);
            goto out;
        }
        if (props_changed && persist(w, name, props, c->target, cerr, sizeof(cerr)) != 0)
            lc_warn(name, "cannot persist the reloaded config: %s", cerr);
        pthread_mutex_lock(&w->mu);
        int idx = lc_worker_find(w, name);
        pthread_mutex_unlock(&w->mu);
        n->target = c->target;
        if (hand_over(w, c, n, LC_SWAP_CHAIN)) {
            adopt_tasks(w, idx, c, n);
            lc_info(NULL, "connector '%s': reloaded, transforms swapped, in %lld ms (the connector "
                    "script stays at its last good version)", name, lc_now_ms() - t0);
        } else {
            install(w, idx, n);
        }
        goto out;
    }
    n->target = c->target;
    if (props_changed && persist(w, name, props, n->target, errs, errsz) != 0)
        lc_warn(name, "cannot persist the reloaded config: %s", errs);
    int running = running_tasks_of(c);
    pthread_mutex_lock(&w->mu);
    int idx = lc_worker_find(w, name);
    pthread_mutex_unlock(&w->mu);
    const char *how;
    if (!running || n->ntasks != c->ntasks || n->is_source != c->is_source ||
        restart_keys_differ(c->props, n->props)) {
        how = "tasks restarted";
        install(w, idx, n);
    } else {
        int chain_only = only_chain_files && props_equal(c->props, n->props, 1) &&
                         same_task_configs(c, n);
        how = chain_only ? "transforms swapped" : "scripts swapped";
        if (hand_over(w, c, n, chain_only ? LC_SWAP_CHAIN : LC_SWAP_FULL)) {
            adopt_tasks(w, idx, c, n);
        } else {
            how = "tasks restarted (a task could not take the new code in place)";
            install(w, idx, n);
        }
    }
    lc_info(NULL, "connector '%s': reloaded, %s, in %lld ms", name, how, lc_now_ms() - t0);
    rc = 200;
out:
    lc_props_destroy(props);
    pthread_mutex_unlock(&w->op);
    return rc;
}

void lc_worker_reload_changed(lc_worker_t *w)
{
    char err[16384];
    json_t *names = lc_worker_connector_names(w);
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) lc_worker_reload(w, json_string_value(n), 0, err, sizeof(err));
    json_decref(names);
}

static void add_unique(char ***list, int *n, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*list)[i], s) == 0) return;
    *list = realloc(*list, (size_t)(*n + 1) * sizeof(char *));
    (*list)[(*n)++] = strdup(s);
}

char **lc_worker_watched_files(lc_worker_t *w, int *n)
{
    char **out = NULL;
    *n = 0;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->nconns; i++)
        for (int j = 0; j < w->conns[i]->nfiles; j++) add_unique(&out, n, w->conns[i]->files[j]);
    for (int i = 0; i < w->ncli; i++) add_unique(&out, n, w->cli_paths[i]);
    pthread_mutex_unlock(&w->mu);
    return out;
}

char **lc_worker_connectors_using(lc_worker_t *w, const char *path, int *n)
{
    char **out = NULL;
    *n = 0;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->nconns; i++) {
        lc_connector_t *c = w->conns[i];
        int uses = 0;
        for (int j = 0; j < c->nfiles && !uses; j++) uses = strcmp(c->files[j], path) == 0;
        const char *cp = cli_path(w, c->name);
        uses |= cp && strcmp(cp, path) == 0;
        if (uses) add_unique(&out, n, c->name);
    }
    pthread_mutex_unlock(&w->mu);
    return out;
}
