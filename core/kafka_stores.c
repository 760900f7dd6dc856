/* kafka_stores: see kafka_stores.h. */
#include "kafka_stores.h"
#include "log.h"
#include "task_metrics.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNC_MS 30000

struct lc_kstores {
    lc_offset_store_t offsets;
    lc_status_store_t statuses;
    lc_klog_t *olog, *slog;
    char worker_id[256];
    pthread_mutex_t mu; /* guards the maps and generation */
    json_t *offs;       /* normalized key -> value text (absent: deleted) */
    json_t *raws;       /* normalized key -> the key's bytes as first seen (Connect's order) */
    json_t *stats;      /* status key -> value object */
    int generation;
};

char *lc_kstores_normalize(const void *key, size_t len)
{
    json_t *k = json_loadb(key, len, JSON_DECODE_ANY, NULL);
    if (!k) return NULL;
    char *s = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(k);
    return s;
}

static void on_offset(void *arg, int32_t partition, int64_t offset, const void *key, size_t keylen,
                      const void *value, size_t vallen)
{
    lc_kstores_t *s = arg;
    (void)partition;
    (void)offset;
    if (!key) return;
    char *norm = lc_kstores_normalize(key, keylen);
    if (!norm) return;
    pthread_mutex_lock(&s->mu);
    if (!json_object_get(s->raws, norm))
        json_object_set_new(s->raws, norm, json_stringn((const char *)key, keylen));
    if (value)
        json_object_set_new(s->offs, norm, json_stringn((const char *)value, vallen));
    else
        json_object_del(s->offs, norm);
    pthread_mutex_unlock(&s->mu);
    free(norm);
}

static void on_status(void *arg, int32_t partition, int64_t offset, const void *key, size_t keylen,
                      const void *value, size_t vallen)
{
    lc_kstores_t *s = arg;
    (void)partition;
    (void)offset;
    if (!key) return;
    char *k = strndup((const char *)key, keylen);
    pthread_mutex_lock(&s->mu);
    json_t *v = value ? json_loadb(value, vallen, 0, NULL) : NULL;
    if (!value)
        json_object_del(s->stats, k);
    else if (json_is_object(v))
        json_object_set(s->stats, k, v);
    json_decref(v);
    pthread_mutex_unlock(&s->mu);
    free(k);
}

/* Offsets ------------------------------------------------------------------------------------- */

static void offsets_note(lc_offset_store_t *os, const char *const *keys, const char *const *values,
                         size_t n);

static int offsets_put(lc_offset_store_t *os, const char *const *keys, const char *const *values,
                       size_t n, char *errstr, size_t errsz)
{
    lc_kstores_t *s = (lc_kstores_t *)os->impl;
    for (size_t i = 0; i < n; i++) {
        char *norm = lc_kstores_normalize(keys[i], strlen(keys[i]));
        pthread_mutex_lock(&s->mu);
        const char *raw = norm ? json_string_value(json_object_get(s->raws, norm)) : NULL;
        char *bytes = strdup(raw ? raw : keys[i]);
        pthread_mutex_unlock(&s->mu);
        int rc = lc_klog_send(s->olog, bytes, strlen(bytes), values[i],
                              values[i] ? strlen(values[i]) : 0, -1, errstr, errsz);
        free(bytes);
        free(norm);
        if (rc != 0) {
            char ignored[256];
            lc_klog_flush(s->olog, SYNC_MS, ignored, sizeof(ignored));
            return -1;
        }
    }
    if (lc_klog_flush(s->olog, SYNC_MS, errstr, errsz) != 0) return -1;
    offsets_note(os, keys, values, n);
    return 0;
}

/* Records written (acknowledged, or committed in a task's transaction) are visible to get()
 * at once; the reader applies the same records later. */
static void offsets_note(lc_offset_store_t *os, const char *const *keys, const char *const *values,
                         size_t n)
{
    lc_kstores_t *s = (lc_kstores_t *)os->impl;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++) {
        char *norm = lc_kstores_normalize(keys[i], strlen(keys[i]));
        if (!norm) continue;
        if (!json_object_get(s->raws, norm))
            json_object_set_new(s->raws, norm, json_string(keys[i]));
        if (values[i])
            json_object_set_new(s->offs, norm, json_string(values[i]));
        else
            json_object_del(s->offs, norm);
        free(norm);
    }
    pthread_mutex_unlock(&s->mu);
}

static char *offsets_get(lc_offset_store_t *os, const char *key)
{
    lc_kstores_t *s = (lc_kstores_t *)os->impl;
    char *norm = lc_kstores_normalize(key, strlen(key));
    if (!norm) return NULL;
    pthread_mutex_lock(&s->mu);
    const char *v = json_string_value(json_object_get(s->offs, norm));
    char *out = v ? strdup(v) : NULL;
    pthread_mutex_unlock(&s->mu);
    free(norm);
    return out;
}

static int offsets_each(lc_offset_store_t *os, const char *prefix,
                        void (*fn)(void *arg, const char *key, const char *value), void *arg,
                        char *errstr, size_t errsz)
{
    lc_kstores_t *s = (lc_kstores_t *)os->impl;
    (void)errstr;
    (void)errsz;
    size_t pl = strlen(prefix);
    pthread_mutex_lock(&s->mu);
    const char *k;
    json_t *v;
    json_object_foreach(s->offs, k, v)
    {
        if (strncmp(k, prefix, pl) == 0) fn(arg, k, json_string_value(v));
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Statuses ------------------------------------------------------------------------------------ */

static void status_key(char *buf, size_t sz, const char *connector, int task)
{
    if (task < 0)
        snprintf(buf, sz, "status-connector-%s", connector);
    else
        snprintf(buf, sz, "status-task-%s-%d", connector, task);
}

/* Writes the status record key = o (stolen) to the status topic, waits for it, and caches it. */
static int put_status(lc_kstores_t *s, const char *key, json_t *o, char *errstr, size_t errsz)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    int rc = lc_klog_send(s->slog, key, strlen(key), text, strlen(text), -1, errstr, errsz);
    if (rc == 0) rc = lc_klog_flush(s->slog, SYNC_MS, errstr, errsz);
    if (rc == 0) {
        pthread_mutex_lock(&s->mu);
        json_object_set(s->stats, key, o);
        pthread_mutex_unlock(&s->mu);
    }
    json_decref(o);
    free(text);
    return rc;
}

static int status_put(lc_status_store_t *ss, const char *connector, int task, const char *state,
                      const char *trace, const char *worker_id, const char *version, char *errstr,
                      size_t errsz)
{
    lc_kstores_t *s = (lc_kstores_t *)ss->impl;
    char key[1200];
    status_key(key, sizeof(key), connector, task);
    /* Connector startups (worker metrics): only the connector's owner writes its status. */
    if (task < 0) lc_task_metrics_connector_status(connector, state);
    /* Kafka Connect has no STOPPED task: a task that stopped cleanly is shut down, UNASSIGNED
     * (its onShutdown). DESTROYED is Connect's tombstone of a status (AbstractHerder's
     * onDeletion): a task that no longer exists. */
    if (task >= 0 && strcmp(state, "STOPPED") == 0) state = "UNASSIGNED";
    if (strcmp(state, "DESTROYED") == 0) {
        pthread_mutex_lock(&s->mu);
        json_object_del(s->stats, key);
        pthread_mutex_unlock(&s->mu);
        int rc = lc_klog_send(s->slog, key, strlen(key), NULL, 0, -1, errstr, errsz);
        return rc == 0 ? lc_klog_flush(s->slog, SYNC_MS, errstr, errsz) : rc;
    }
    pthread_mutex_lock(&s->mu);
    int gen = s->generation;
    json_t *cur = json_object_get(s->stats, key);
    /* The very status already recorded (a stop reported by the task, then by its worker):
     * written once. */
    const char *cur_trace = cur ? json_string_value(json_object_get(cur, "trace")) : NULL;
    int same = cur && strcmp(json_string_value(json_object_get(cur, "state")) ?: "", state) == 0 &&
               strcmp(json_string_value(json_object_get(cur, "worker_id")) ?: "", worker_id) == 0 &&
               json_integer_value(json_object_get(cur, "generation")) == gen &&
               ((!trace && !cur_trace) || (trace && cur_trace && strcmp(trace, cur_trace) == 0));
    if (same) {
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    /* Kafka Connect's putSafe for UNASSIGNED and FAILED (its onShutdown and onFailure): never
     * over a newer owner's status, so a task failing on a worker that lost its membership (a
     * fenced zombie) cannot hide the RUNNING of the instance that replaced it. */
    int safe = !cur || (strcmp(state, "UNASSIGNED") != 0 && strcmp(state, "FAILED") != 0) ||
               strcmp(json_string_value(json_object_get(cur, "worker_id")) ?: "", worker_id) == 0 ||
               json_integer_value(json_object_get(cur, "generation")) <= gen;
    pthread_mutex_unlock(&s->mu);
    if (!safe) return 0;
    json_t *v = json_pack("{s:s,s:s?,s:s,s:i}", "state", state, "trace", trace, "worker_id",
                          worker_id, "generation", gen);
    if (!trace) json_object_set_new(v, "trace", json_null());
    /* field order as Connect 4.x writes it: state, trace, worker_id, generation, version */
    json_t *o = json_object();
    json_object_set(o, "state", json_object_get(v, "state"));
    json_object_set(o, "trace", json_object_get(v, "trace"));
    json_object_set(o, "worker_id", json_object_get(v, "worker_id"));
    json_object_set(o, "generation", json_object_get(v, "generation"));
    json_object_set_new(o, "version", version ? json_string(version) : json_null());
    json_decref(v);
    return put_status(s, key, o, errstr, errsz);
}

/* KIP-558: status-topic-<topic>:connector-<c> (a topic name has no ':'), or NULL. */
static const char *topic_of_key(const char *k, const char *connector, size_t *len)
{
    static const char prefix[] = "status-topic-";
    if (strncmp(k, prefix, sizeof(prefix) - 1) != 0) return NULL;
    const char *t = k + sizeof(prefix) - 1, *colon = strchr(t, ':');
    if (!colon || strncmp(colon, ":connector-", 11) != 0 || strcmp(colon + 11, connector) != 0)
        return NULL;
    *len = (size_t)(colon - t);
    return t;
}

/* Tombstones the status-topic-* records of connector (and, with all, its statuses). */
static int status_forget(lc_status_store_t *ss, const char *connector, int all)
{
    lc_kstores_t *s = (lc_kstores_t *)ss->impl;
    char conn_key[1200], task_prefix[1200], err[512];
    status_key(conn_key, sizeof(conn_key), connector, -1);
    snprintf(task_prefix, sizeof(task_prefix), "status-task-%s-", connector);
    json_t *keys = json_array();
    pthread_mutex_lock(&s->mu);
    const char *k;
    json_t *v;
    size_t tlen;
    json_object_foreach(s->stats, k, v)
    {
        if (topic_of_key(k, connector, &tlen) ||
            (all &&
             (strcmp(k, conn_key) == 0 ||
              (strncmp(k, task_prefix, strlen(task_prefix)) == 0 &&
               strspn(k + strlen(task_prefix), "0123456789") == strlen(k + strlen(task_prefix))))))
            json_array_append_new(keys, json_string(k));
    }
    size_t i;
    json_array_foreach(keys, i, v) json_object_del(s->stats, json_string_value(v));
    pthread_mutex_unlock(&s->mu);
    int rc = 0;
    json_array_foreach(keys, i, v)
    {
        const char *key = json_string_value(v);
        if (lc_klog_send(s->slog, key, strlen(key), NULL, 0, -1, err, sizeof(err)) != 0) rc = -1;
    }
    if (lc_klog_flush(s->slog, SYNC_MS, err, sizeof(err)) != 0) rc = -1;
    json_decref(keys);
    __atomic_add_fetch(&ss->topics_epoch, 1, __ATOMIC_RELEASE);
    return rc;
}

static int status_clear(lc_status_store_t *ss, const char *connector)
{
    return status_forget(ss, connector, 1);
}

static int topics_reset(lc_status_store_t *ss, const char *connector, char *errstr, size_t errsz)
{
    if (status_forget(ss, connector, 0) == 0) return 0;
    snprintf(errstr, errsz, "cannot write to the status topic");
    return -1;
}

/* Connect's TopicStatus record: {"topic":{"name","connector","task","discoverTimestamp"}}. */
static int topic_put(lc_status_store_t *ss, const char *connector, const char *topic, int task,
                     char *errstr, size_t errsz)
{
    lc_kstores_t *s = (lc_kstores_t *)ss->impl;
    char key[1200];
    snprintf(key, sizeof(key), "status-topic-%s:connector-%s", topic, connector);
    pthread_mutex_lock(&s->mu);
    int known = json_object_get(s->stats, key) != NULL;
    pthread_mutex_unlock(&s->mu);
    if (known) return 0;
    json_t *o = json_pack("{s:{s:s,s:s,s:i,s:I}}", "topic", "name", topic, "connector", connector,
                          "task", task, "discoverTimestamp", (json_int_t)lc_wall_ms());
    return put_status(s, key, o, errstr, errsz);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **topics_of(lc_status_store_t *ss, const char *connector)
{
    lc_kstores_t *s = (lc_kstores_t *)ss->impl;
    pthread_mutex_lock(&s->mu);
    char **out = calloc(json_object_size(s->stats) + 1, sizeof(char *));
    size_t n = 0, tlen;
    const char *k, *t;
    json_t *v;
    json_object_foreach(s->stats, k, v) if ((t = topic_of_key(k, connector, &tlen))) out[n++] =
        strndup(t, tlen);
    pthread_mutex_unlock(&s->mu);
    qsort(out, n, sizeof(char *), cmp_str);
    return out;
}

/* Lifecycle ----------------------------------------------------------------------------------- */

static lc_kstores_t *start(lc_kafka_t *k, const lc_props_t *p, const char *offsets_topic,
                           const char *status_topic, const char *worker_id, char *errstr,
                           size_t errsz);

lc_kstores_t *lc_kstores_start(lc_kafka_t *k, const lc_props_t *p, const char *worker_id,
                               char *errstr, size_t errsz)
{
    return start(k, p, lc_props_get(p, "offset.storage.topic"),
                 lc_props_get(p, "status.storage.topic"), worker_id, errstr, errsz);
}

lc_kstores_t *lc_kstores_start_offsets(lc_kafka_t *k, const lc_props_t *p, const char *topic,
                                       const char *worker_id, char *errstr, size_t errsz)
{
    return start(k, p, topic, NULL, worker_id, errstr, errsz);
}

static char *offsets_key_bytes(lc_offset_store_t *os, const char *key)
{
    lc_kstores_t *s = (lc_kstores_t *)os->impl;
    char *norm = lc_kstores_normalize(key, strlen(key));
    pthread_mutex_lock(&s->mu);
    const char *raw = norm ? json_string_value(json_object_get(s->raws, norm)) : NULL;
    char *out = strdup(raw ? raw : key);
    pthread_mutex_unlock(&s->mu);
    free(norm);
    return out;
}

static int offsets_sync(lc_offset_store_t *os, char *errstr, size_t errsz)
{
    lc_kstores_t *s = (lc_kstores_t *)os->impl;
    return lc_klog_read_to_end(s->olog, SYNC_MS, errstr, errsz);
}

static lc_kstores_t *start(lc_kafka_t *k, const lc_props_t *p, const char *offsets_topic,
                           const char *status_topic, const char *worker_id, char *errstr,
                           size_t errsz)
{
    lc_kstores_t *s = calloc(1, sizeof(*s));
    snprintf(s->worker_id, sizeof(s->worker_id), "%s", worker_id);
    pthread_mutex_init(&s->mu, NULL);
    s->offs = json_object();
    s->raws = json_object();
    s->stats = json_object();
    s->offsets = (lc_offset_store_t){.put = offsets_put,
                                     .get = offsets_get,
                                     .each = offsets_each,
                                     .sync = offsets_sync,
                                     .key_bytes = offsets_key_bytes,
                                     .note = offsets_note,
                                     .impl = (lc_store_t *)s};
    s->statuses = (lc_status_store_t){.put = status_put,
                                      .clear = status_clear,
                                      .topic_put = topic_put,
                                      .topics = topics_of,
                                      .topics_reset = topics_reset,
                                      .impl = (lc_store_t *)s};
    char cid[512];
    snprintf(cid, sizeof(cid), "%s-offsets", worker_id);
    lc_klog_opts_t oo = {.topic = offsets_topic,
                         .client_id = cid,
                         .fn = on_offset,
                         .arg = s,
                         .producer = 1,
                         .worker_props = p,
                         .prefix = "offset.storage."};
    if (!(s->olog = lc_klog_start(k, &oo, errstr, errsz))) goto fail;
    char cid2[512];
    snprintf(cid2, sizeof(cid2), "%s-statuses", worker_id);
    lc_klog_opts_t so = {.topic = status_topic,
                         .client_id = cid2,
                         .fn = on_status,
                         .arg = s,
                         .producer = 1,
                         .worker_props = p,
                         .prefix = "status.storage."};
    if (status_topic && !(s->slog = lc_klog_start(k, &so, errstr, errsz))) goto fail;
    if (lc_kstores_read_to_end(s, SYNC_MS, errstr, errsz) != 0) goto fail;
    return s;
fail:
    lc_kstores_stop(s);
    return NULL;
}

lc_offset_store_t *lc_kstores_offsets(lc_kstores_t *s)
{
    return &s->offsets;
}

lc_status_store_t *lc_kstores_statuses(lc_kstores_t *s)
{
    return &s->statuses;
}

void lc_kstores_set_generation(lc_kstores_t *s, int generation)
{
    pthread_mutex_lock(&s->mu);
    s->generation = generation;
    pthread_mutex_unlock(&s->mu);
    lc_task_metrics_rebalanced(generation); /* the worker applied it: a completed rebalance */
}

json_t *lc_kstores_status(lc_kstores_t *s, const char *connector, int task)
{
    char key[1200];
    status_key(key, sizeof(key), connector, task);
    pthread_mutex_lock(&s->mu);
    json_t *v = json_object_get(s->stats, key);
    json_t *out = v ? json_deep_copy(v) : NULL;
    pthread_mutex_unlock(&s->mu);
    return out;
}

int lc_kstores_read_to_end(lc_kstores_t *s, int timeout_ms, char *errstr, size_t errsz)
{
    if (lc_klog_read_to_end(s->olog, timeout_ms, errstr, errsz) != 0) return -1;
    return s->slog ? lc_klog_read_to_end(s->slog, timeout_ms, errstr, errsz) : 0;
}

void lc_kstores_stop(lc_kstores_t *s)
{
    if (!s) return;
    lc_klog_stop(s->olog);
    lc_klog_stop(s->slog);
    json_decref(s->offs);
    json_decref(s->raws);
    json_decref(s->stats);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
