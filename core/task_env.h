/* task_env: the fixed environment a task thread gets when it starts — everything it needs
 * from the worker (stores, Kafka settings, directories, ids, timeouts), so that task
 * threads never call back into a worker or a herder. Header only.
 * Depends on store (its interfaces), kafka. */
#ifndef LC_TASK_ENV_H
#define LC_TASK_ENV_H

#include "kafka.h"
#include "store.h"

typedef struct lc_task_env {
    lc_offset_store_t *offsets;  /* source offsets (SQLite, or the offsets topic) */
    lc_status_store_t *statuses; /* statuses (SQLite, or the status topic) */
    lc_kafka_t *kafka;           /* client configs, embedded broker topics */
    const char *sdk_dir;         /* where require "luaconnect" is found */
    const char *plugin_path;     /* where scripts and their modules are found */
    const char *worker_id;       /* "host:port" of this worker, for statuses */
    long flush_ms;               /* offset.flush.interval.ms */
    int topic_tracking;          /* topic.tracking.enable: tasks record the topics they use */
    int topic_tracking_reset;    /* topic.tracking.allow.reset */
    long shutdown_ms;            /* task.shutdown.graceful.timeout.ms */
    /* Exactly-once sources (exactly.once.source.support=enabled): each source task writes its
     * records and their offsets to offsets_topic in one transaction, with transactional.id
     * <txn_prefix>-<connector>-<task>. */
    int exactly_once;
    const char *txn_prefix;
    const char *offsets_topic;
} lc_task_env_t;

#endif
