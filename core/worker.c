/* worker: see worker.h. */
#include "worker.h"
#include "bridge.h"
#include "config.h"
#include "internal_topics.h"
#include "kafka_stores.h"
#include "plugins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lc_worker {
    char *plugin_path;
    char worker_id[128];
    lc_store_t *store;
    lc_kafka_t *kafka;
    lc_converter_t key_conv, value_conv;
    lc_task_env_t env;
    lc_props_t *props;
    lc_kstores_t *eos_offsets; /* standalone exactly-once: offsets in a Kafka topic */
};

void lc_worker_set_stores(lc_worker_t *w, lc_offset_store_t *offsets, lc_status_store_t *statuses)
{
    w->env.offsets = offsets;
    w->env.statuses = statuses;
}
const lc_props_t *lc_worker_props(const lc_worker_t *w)
{
    return w->props;
}

lc_store_t *lc_worker_store(const lc_worker_t *w)
{
    return w->store;
}
lc_kafka_t *lc_worker_kafka(const lc_worker_t *w)
{
    return w->kafka;
}
const char *lc_worker_plugin_path(const lc_worker_t *w)
{
    return w->plugin_path;
}
const lc_converter_t *lc_worker_converter(const lc_worker_t *w, int is_key)
{
    return is_key ? &w->key_conv : &w->value_conv;
}
const lc_task_env_t *lc_worker_task_env(const lc_worker_t *w)
{
    return &w->env;
}
const char *lc_worker_id(const lc_worker_t *w)
{
    return w->worker_id;
}
void lc_worker_set_id(lc_worker_t *w, const char *id)
{
    snprintf(w->worker_id, sizeof(w->worker_id), "%s", id);
}

static lc_worker_t *worker_new(const lc_props_t *props, int embedded_kafka, int distributed,
                               char *errstr, size_t errsz)
{
    lc_worker_t *w = calloc(1, sizeof(*w));
    const char *label = "worker config";
    char label_buf[1024];
    if (!w) {
        snprintf(errstr, errsz, "out of memory");
        return NULL;
    }
    if (*lc_props_source(props)) {
        snprintf(label_buf, sizeof(label_buf), "worker config %s", lc_props_source(props));
        label = label_buf;
    }
    w->props = lc_props_copy(props);
    const char *off_file = lc_props_get(props, "offset.storage.file.filename");
    if (!distributed && (!off_file || !*off_file)) {
        snprintf(errstr, errsz,
                 "%s: missing required key 'offset.storage.file.filename' (the "
                 "SQLite file that keeps source offsets, connector configs and statuses)",
                 label);
        goto err;
    }
    size_t elen = 0;
    errstr[0] = 0;
    if (lc_config_long(props, "offset.flush.interval.ms", label, &w->env.flush_ms, errstr, errsz,
                       &elen) ||
        lc_config_long(props, "task.shutdown.graceful.timeout.ms", label, &w->env.shutdown_ms,
                       errstr, errsz, &elen) ||
        lc_config_bool(props, "topic.tracking.enable", label, &w->env.topic_tracking, errstr, errsz,
                       &elen) ||
        lc_config_bool(props, "topic.tracking.allow.reset", label, &w->env.topic_tracking_reset,
                       errstr, errsz, &elen)) {
        if (elen && errstr[elen - 1] == '\n') errstr[elen - 1] = 0;
        goto err;
    }
    for (int i = 0; i < 2; i++) {
        const char *which = i ? "value" : "key";
        char key[64], flag[64], cerr[1024];
        snprintf(key, sizeof(key), "%s.converter", which);
        snprintf(flag, sizeof(flag), "%s.converter.schemas.enable", which);
        if (lc_converter_init(i ? &w->value_conv : &w->key_conv, lc_config_string(props, key),
                              lc_props_get(props, flag), cerr, sizeof(cerr)) != 0) {
            snprintf(errstr, errsz, "%s: key '%s': %s", label, key, cerr);
            goto err;
        }
    }
    w->plugin_path = lc_plugin_path(lc_props_get(props, "plugin.path"));
    const char *listeners = lc_config_string(props, "listeners");
    const char *hp = strstr(listeners, "://");
    snprintf(w->worker_id, sizeof(w->worker_id), "%s", hp ? hp + 3 : listeners);
    if (!distributed) {
        w->store = lc_store_open(off_file, errstr, errsz);
        if (!w->store) goto err;
        w->env.offsets = lc_store_offsets(w->store);
        w->env.statuses = lc_store_statuses(w->store);
    }
    w->kafka = lc_kafka_new(props, embedded_kafka, errstr, errsz);
    if (!w->kafka) goto err;
    int eos;
    if (lc_config_choice(props, "exactly.once.source.support", label, &eos, errstr, errsz, &elen) !=
        0) {
        if (elen && errstr[elen - 1] == '\n') errstr[elen - 1] = 0;
        goto err;
    }
    w->env.exactly_once = eos == 2;
    const char *group = lc_props_get(w->props, "group.id");
    w->env.txn_prefix = group && *group ? group : "luaconnect-standalone";
    w->env.offsets_topic = lc_props_get_or(w->props, "offset.storage.topic", "connect-offsets");
    if (w->env.exactly_once && !distributed) {
        /* Standalone exactly-once: source offsets live in a Kafka topic, written in each task's
         * transaction; the SQLite store keeps connector configs and statuses. */
        if (lc_internal_topic_ensure(w->kafka, w->env.offsets_topic, "offset.storage.topic",
                                     "source connector offsets", 25, -1, errstr, errsz) != 0)
            goto err;
        w->eos_offsets = lc_kstores_start_offsets(w->kafka, props, w->env.offsets_topic,
                                                  w->worker_id, errstr, errsz);
        if (!w->eos_offsets) goto err;
        w->env.offsets = lc_kstores_offsets(w->eos_offsets);
    }
    w->env.kafka = w->kafka;
    w->env.sdk_dir = lc_sdk_dir();
    w->env.plugin_path = w->plugin_path;
    w->env.worker_id = w->worker_id;
    return w;
err:
    lc_worker_destroy(w);
    return NULL;
}

lc_worker_t *lc_worker_new(const lc_props_t *props, int embedded_kafka, char *errstr, size_t errsz)
{
    return worker_new(props, embedded_kafka, 0, errstr, errsz);
}

lc_worker_t *lc_worker_new_distributed(const lc_props_t *props, char *errstr, size_t errsz)
{
    return worker_new(props, 0, 1, errstr, errsz);
}

void lc_worker_destroy(lc_worker_t *w)
{
    if (!w) return;
    lc_kstores_stop(w->eos_offsets);
    lc_props_destroy(w->props);
    lc_kafka_destroy(w->kafka);
    lc_store_close(w->store);
    free(w->plugin_path);
    free(w);
}
