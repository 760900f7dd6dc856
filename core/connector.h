/* connector: the connector data model (a connector and its tasks) and its planning. Planning
 * validates a connector's config exactly as a create does — the worker-level keys, converters,
 * errors.*, the transform chain, and the script's own definitions and task_configs() in a scratch
 * lua_State — and yields a connector whose tasks are laid out but not started.
 * Depends on worker (defaults), config, chain, errors, plugins, plan_api, codec. */
#ifndef LC_CONNECTOR_H
#define LC_CONNECTOR_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "chain.h"
#include "codec.h"
#include "errors.h"
#include "props.h"
#include "task_metrics.h"
#include "task_env.h"

typedef struct lc_worker lc_worker_t;

typedef enum {
    LC_TASK_UNASSIGNED = 0,
    LC_TASK_RUNNING,
    LC_TASK_PAUSED,
    LC_TASK_FAILED,
    LC_TASK_STOPPED,
    LC_TASK_RESTARTING
} lc_task_state_t;

/** Kafka Connect's state names, indexed by lc_task_state_t. */
extern const char *const lc_task_state_names[];

/** How a task takes a reload at its next batch boundary. */
enum { LC_SWAP_NONE = 0, LC_SWAP_CHAIN, LC_SWAP_FULL };

/** One task of a connector: its config, its thread and its state. */
typedef struct lc_task {
    struct lc_connector *conn;
    int id;
    char ctx[256];     /* "name|task-0" for logs */
    char *config_json; /* this task's config from task_configs() */
    /* KIP-558 (the task thread's own): the last topic recorded, at which topics_epoch. */
    char tracked_topic[256];
    int tracked_epoch;
    pthread_t thread;
    int started;
    /* Flags shared between the herder's threads and the task thread: C11 atomics. */
    atomic_int stop;            /* finish the current batch, then stop */
    atomic_int abort;           /* interrupt a script that overran the shutdown timeout */
    atomic_int pause;           /* stop handing records to the script until cleared */
    atomic_int state;           /* lc_task_state_t */
    pthread_mutex_t trace_lock; /* guards trace */
    char *trace;                /* the FAILED trace, or NULL */
    /* Hot reload hand-over: reload.c fills swap_config/swap_mode, then publishes swap_conn
     * (release); the task thread reads it (acquire), takes it and clears it (release). */
    _Atomic(struct lc_connector *) swap_conn;
    char *swap_config;
    int swap_mode;
    lc_task_metrics_t metrics; /* written by the task thread only (task_metrics.h) */
} lc_task_t;

/** What the user asked a connector to be (Kafka Connect's TargetState). */
typedef enum { LC_TARGET_STARTED = 0, LC_TARGET_PAUSED, LC_TARGET_STOPPED } lc_target_t;

/** Kafka Connect's target state names, indexed by lc_target_t. */
extern const char *const lc_target_names[];

/** A connector: its config as planned, and its tasks (owned by a herder). */
typedef struct lc_connector {
    char *name;
    char *script_path; /* NULL: the config did not plan (a FAILED placeholder) */
    char *version;     /* the script's version, in statuses (Connect 4.x); NULL if none */
    int is_source;
    lc_props_t *props; /* the connector's config as given */
    char **secrets;    /* keys whose definition is a password: masked on output */
    int nsecrets;
    lc_converter_t key_conv, value_conv;
    const char *key_conv_class, *value_conv_class; /* full class names, for error reports */
    lc_errors_t errors;                            /* errors.* */
    lc_chain_spec_t *chain;
    int chain_len;
    char **topics; /* sink: topic names or a single "^regex" */
    int ntopics;
    lc_task_t **tasks;
    int ntasks;
    const lc_task_env_t *env; /* what its task threads get */
    /* Owned by the herder, under its lock. */
    int target;          /* lc_target_t: what the user asked for */
    int state;           /* lc_task_state_t of the connector itself */
    char *trace;         /* why the connector FAILED, or NULL */
    int abandoned;       /* a task thread outlived its stop: never free */
    int chain_unchecked; /* planning: the chain config had errors already */
    /* Hot reload: the files the code came from, as validated. */
    char **files;
    unsigned long long *hashes; /* FNV-1a 64 of each file's content */
    int nfiles;
    long long loaded_at_ms; /* wall clock */
    char *reload_error;     /* "reload failed: ..." until the next good reload */
    char *detached_from;    /* standalone: the .properties file a REST change detached it from */
} lc_connector_t;

/** Validates props exactly as a create would, without starting anything: returns the
 * connector planned (free with lc_connector_free), or NULL with errs filled, one error per
 * line, every error at once. */
lc_connector_t *lc_connector_plan(const lc_worker_t *w, const lc_props_t *props, char *errs,
                                  size_t errs_size);
/** lc_connector_plan of a config as the config topic holds it (a JSON object of strings;
 * other values are ignored). */
lc_connector_t *lc_connector_plan_json(const lc_worker_t *w, json_t *config, char *errs,
                                       size_t errs_size);
/** The task configs (as lc_connector_task_strings) a config of the config topic plans to,
 * planned aside and freed; NULL with errs when it does not plan. */
json_t *lc_connector_plan_task_strings(const lc_worker_t *w, json_t *config, char *errs,
                                       size_t errs_size);
/** A connector whose config does not plan: kept with its config, no tasks (FAILED). */
lc_connector_t *lc_connector_placeholder(const lc_worker_t *w, const char *name,
                                         const lc_props_t *props, int target);
/** c with the transform chain of props (validated in a scratch state) and everything else
 * as c runs now; NULL with errs. Used by hot reload when only the transforms are good. */
lc_connector_t *lc_connector_chain_variant(const lc_worker_t *w, const lc_connector_t *c,
                                           const lc_props_t *props, char *errs, size_t errs_size);
/** 1 when path is one of c's transform or predicate scripts. */
int lc_connector_is_chain_file(const lc_connector_t *c, const char *path);
/** 1 when a and b have the same task layout and task configs. */
int lc_connector_same_tasks(const lc_connector_t *a, const lc_connector_t *b);
/** 1 when key's value must be masked: a password definition or a secret-looking name. */
int lc_connector_is_secret(const lc_connector_t *c, const char *key);
/** Replaces the (not started) tasks of c with one task per config of configs (an array of
 * objects, e.g. read from Kafka Connect's config topic). */
void lc_connector_set_tasks(lc_connector_t *c, json_t *configs);
/** The planned task configs of c as Kafka Connect's string maps (an array of objects of
 * strings: numbers and booleans as text, lists comma-joined, other values as JSON). */
json_t *lc_connector_task_strings(const lc_connector_t *c);
/** 1 when name can name a connector (not empty, no '/' or control characters); else 0 with
 * the error in errs. */
int lc_connector_valid_name(const char *name, char *errs, size_t errs_size);
/** Frees n tasks whose threads are not running, and the array; NULL is a no-op. */
void lc_connector_tasks_free(lc_task_t **tasks, int n);
/** Frees a connector whose tasks are not running; NULL is a no-op. */
void lc_connector_free(lc_connector_t *c);

#endif
