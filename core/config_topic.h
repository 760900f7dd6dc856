/* config_topic: Kafka Connect's config topic, read and written byte for byte as its
 * KafkaConfigBackingStore does — records `connector-<c>` {"properties":{...}},
 * `task-<c>-<n>` {"properties":{...}}, `commit-<c>` {"tasks":N} (task configs apply only
 * when tasks 0..N-1 were seen since the last commit), `target-state-<c>` {"state",
 * "state.v2"}, `restart-connector-<c>` {"include-tasks","only-failed"}, `session-key`,
 * `tasks-fencing-<c>` {"task-count"}; values are JsonConverter without schemas, a deletion
 * is a null value. This module is the state those records build (a pure state machine, no
 * Kafka) and the values to write; the distributed herder reads and writes the topic.
 * Not thread-safe: the caller locks. Depends on connector (target names), jansson. */
#ifndef LC_CONFIG_TOPIC_H
#define LC_CONFIG_TOPIC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lc_cfgtopic lc_cfgtopic_t;

/** What a record changed (lc_cfgtopic_apply's result, a bit set). */
enum {
    LC_CFGT_CONNECTOR = 1,   /* a connector's config was created, changed or removed */
    LC_CFGT_TARGET = 2,      /* a target state changed */
    LC_CFGT_TASKS = 4,       /* a connector's task configs were committed */
    LC_CFGT_RESTART = 8,     /* a restart request arrived */
    LC_CFGT_SESSION_KEY = 16 /* a new session key */
};

/** An empty state. */
lc_cfgtopic_t *lc_cfgtopic_new(void);
/** Frees s; NULL is a no-op. */
void lc_cfgtopic_free(lc_cfgtopic_t *s);
/** Applies the record at offset (value NULL: a deletion); returns what changed (0 for a
 * record that is ignored, as Connect ignores it: unknown key, bad format). */
int lc_cfgtopic_apply(lc_cfgtopic_t *s, const char *key, size_t keylen, const char *value,
                      size_t vallen, int64_t offset);
/** The offset after the last record applied (0 before any). */
int64_t lc_cfgtopic_offset(const lc_cfgtopic_t *s);

/** Sorted names of the connectors that have a config. */
json_t *lc_cfgtopic_connectors(const lc_cfgtopic_t *s);
/** A copy of the connector's config (object of strings), or NULL. */
json_t *lc_cfgtopic_config(const lc_cfgtopic_t *s, const char *name);
/** The connector's target state (lc_target_t), or -1 when it has no config. */
int lc_cfgtopic_target(const lc_cfgtopic_t *s, const char *name);
/** The committed task count, or -1 when no task configs were committed. */
int lc_cfgtopic_task_count(const lc_cfgtopic_t *s, const char *name);
/** A copy of task n's committed config, or NULL. */
json_t *lc_cfgtopic_task_config(const lc_cfgtopic_t *s, const char *name, int n);
/** 1 when the last commit of the connector's tasks was incomplete (compaction, a leader that
 * died mid-write): its tasks must be written again. */
int lc_cfgtopic_inconsistent(const lc_cfgtopic_t *s, const char *name);
/** How many times the connector's task configs were committed (Connect's task config
 * generation), -1 before the first. */
int lc_cfgtopic_task_generation(const lc_cfgtopic_t *s, const char *name);
/** The restart requests read since the last call, in order:
 * [{"connector","include_tasks","only_failed"}] (new reference). */
json_t *lc_cfgtopic_take_restarts(lc_cfgtopic_t *s);
/** The session key (base64) and its algorithm and creation time, or NULL. */
const char *lc_cfgtopic_session_key(const lc_cfgtopic_t *s, const char **algorithm,
                                    int64_t *created_ms);

/** Record values, as Connect writes them (caller frees). */
/** {"properties":{...}} of an object of string values (connector and task configs). */
char *lc_cfgtopic_config_value(const json_t *props);
/** {"state":...,"state.v2":...} (STOPPED is written as PAUSED in "state" for old workers). */
char *lc_cfgtopic_target_value(int target);
/** {"tasks":n}. */
char *lc_cfgtopic_commit_value(int n);
/** {"include-tasks":...,"only-failed":...}. */
char *lc_cfgtopic_restart_value(int include_tasks, int only_failed);
/** {"task-count":n} (tasks-fencing-<c>: the task generation fenced). */
char *lc_cfgtopic_fencing_value(int n);
/** {"key":...,"algorithm":...,"creation-timestamp":...}. */
char *lc_cfgtopic_session_key_value(const char *key_b64, const char *algorithm, int64_t created_ms);

#endif
