/* store: the worker's durable state behind three small interfaces — source offsets,
 * connector configs and connector/task statuses. This file implements them on one
 * SQLite database in WAL mode (standalone mode); a Kafka-topic implementation can
 * provide the same function tables later. Offsets use Kafka Connect's format: key
 * ["<connector>",{partition}] and value {offset} as JSON text.
 * Thread-safe: one connection guarded by a mutex. Depends on SQLite. */
#ifndef LC_STORE_H
#define LC_STORE_H

#include <stddef.h>

typedef struct lc_store lc_store_t;

/** Source offsets: key/value JSON texts. */
typedef struct lc_offset_store {
    /** Writes n key/value pairs in one transaction (value NULL deletes). 0 or -1 (errstr). */
    int (*put)(struct lc_offset_store *s, const char *const *keys, const char *const *values,
               size_t n, char *errstr, size_t errstr_size);
    /** Returns the value for key (caller frees) or NULL when absent. */
    char *(*get)(struct lc_offset_store *s, const char *key);
    /** Calls fn for every key/value pair whose key starts with prefix (under the store's
     * lock: fn must not use the store). 0 or -1 (errstr). */
    int (*each)(struct lc_offset_store *s, const char *prefix,
                void (*fn)(void *arg, const char *key, const char *value), void *arg, char *errstr,
                size_t errstr_size);
    /** Optional (Kafka stores): reads the offsets written elsewhere to the end before a task
     * opens. 0 or -1 (errstr). */
    int (*sync)(struct lc_offset_store *s, char *errstr, size_t errstr_size);
    /** Optional (Kafka stores): the key bytes to write for key — Kafka Connect's own when it
     * wrote the partition first (another field order) — caller frees. */
    char *(*key_bytes)(struct lc_offset_store *s, const char *key);
    /** Optional (Kafka stores): offsets a task committed in its own transaction, for get(). */
    void (*note)(struct lc_offset_store *s, const char *const *keys, const char *const *values,
                 size_t n);
    lc_store_t *impl;
} lc_offset_store_t;

/** Connector configs as JSON objects of string values, by connector name. */
typedef struct lc_config_store {
    /** Creates or replaces a connector's config (and target state). 0 or -1 (errstr). */
    int (*put)(struct lc_config_store *s, const char *name, const char *config_json,
               const char *target_state, char *errstr, size_t errstr_size);
    /** Removes a connector's config. 0 or -1. */
    int (*del)(struct lc_config_store *s, const char *name, char *errstr, size_t errstr_size);
    /** Calls fn for every stored connector, by name (after reading them all, so fn may
     * use the store). 0 or -1 (errstr). */
    int (*each)(struct lc_config_store *s,
                void (*fn)(void *arg, const char *name, const char *config_json,
                           const char *target_state),
                void *arg, char *errstr, size_t errstr_size);
    lc_store_t *impl;
} lc_config_store_t;

/** Statuses: task -1 is the connector itself. */
typedef struct lc_status_store {
    /** Records a state (RUNNING, FAILED, ...) with an optional trace; the Kafka-backed store
     * also takes DESTROYED, Connect's tombstone; version: the plugin's (Connect 4.x), or NULL.
     * 0 or -1 (errstr). */
    int (*put)(struct lc_status_store *s, const char *connector, int task, const char *state,
               const char *trace, const char *worker_id, const char *version, char *errstr,
               size_t errstr_size);
    /** Forgets every status of a connector (before it starts anew); the Kafka-backed store
     * (a distributed connector deleted) its topics too. */
    int (*clear)(struct lc_status_store *s, const char *connector);
    /** KIP-558: records that task of connector used topic (nothing when already known). */
    int (*topic_put)(struct lc_status_store *s, const char *connector, const char *topic, int task,
                     char *errstr, size_t errstr_size);
    /** The topics connector used, sorted, NULL-terminated (caller frees each and the array). */
    char **(*topics)(struct lc_status_store *s, const char *connector);
    /** Forgets the topics connector used. 0 or -1 (errstr). */
    int (*topics_reset)(struct lc_status_store *s, const char *connector, char *errstr,
                        size_t errstr_size);
    int topics_epoch; /* bumped (atomically) when topics are forgotten: tasks record anew */
    lc_store_t *impl;
} lc_status_store_t;

/** Opens (creating if needed) the SQLite store at path. NULL with errstr on failure. */
lc_store_t *lc_store_open(const char *path, char *errstr, size_t errstr_size);
/** Closes the store; NULL is a no-op. */
void lc_store_close(lc_store_t *st);
/** The interfaces; they live as long as the store. */
lc_offset_store_t *lc_store_offsets(lc_store_t *st);
lc_config_store_t *lc_store_configs(lc_store_t *st);
lc_status_store_t *lc_store_statuses(lc_store_t *st);

#endif
