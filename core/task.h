/* task: one task thread with its own lua_State and Kafka client (internal to the worker).
 * Source and sink loops live in source_task.c and sink_task.c; this header holds what they
 * share with worker.c. */
#ifndef LC_TASK_H
#define LC_TASK_H

#include <librdkafka/rdkafka.h>
#include <lua.h>
#include <pthread.h>

#include "chain.h"
#include "codec.h"
#include "errors.h"
#include "props.h"
#include "store.h"

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

/** Settings shared by a connector's tasks (owned by the worker). */
typedef struct lc_connector {
    char *name;
    char *script_path;
    int is_source;
    lc_props_t *props;           /* the connector's config as given */
    char **secrets;              /* keys whose definition is a password: masked on output */
    int nsecrets;
    lc_converter_t key_conv, value_conv;
    const char *key_conv_class, *value_conv_class; /* full class names, for error reports */
    lc_errors_t errors;          /* errors.* */
    lc_chain_spec_t *chain;
    int chain_len;
    char **topics;               /* sink: topic names or a single "^regex" */
    int ntopics;
    struct lc_task **tasks;
    int ntasks;
    lc_worker_t *worker;
    /* Owned by the worker, under its lock (see worker.c). */
    int target;                  /* lc_target_t: what the user asked for */
    int state;                   /* lc_task_state_t of the connector itself */
    char *trace;                 /* why the connector FAILED, or NULL */
    int abandoned;               /* a task thread outlived its stop: never free */
    int chain_unchecked;         /* planning: the chain config had errors already */
    /* Hot reload: the files the code came from, as validated. */
    char **files;
    unsigned long long *hashes;  /* FNV-1a 64 of each file's content */
    int nfiles;
    long long loaded_at_ms;      /* wall clock */
    char *props_path;            /* the .properties file it came from (command line), or NULL */
    char *reload_error;          /* "reload failed: ..." until the next good reload */
} lc_connector_t;

/** How a task takes a reload at its next batch boundary. */
enum { LC_SWAP_NONE = 0, LC_SWAP_CHAIN, LC_SWAP_FULL };

typedef struct lc_task {
    lc_connector_t *conn;
    int id;
    char ctx[256];               /* "name|task-0" for logs */
    char *config_json;           /* this task's config from task_configs() */
    pthread_t thread;
    int started;
    volatile int stop;           /* finish the current batch, then stop */
    volatile int abort;          /* interrupt a script that overran the shutdown timeout */
    volatile int pause;          /* stop handing records to the script until cleared */
    volatile int state;          /* lc_task_state_t */
    pthread_mutex_t trace_lock;  /* guards trace */
    char *trace;                 /* the FAILED trace, or NULL */
    /* Hot reload hand-over (worker.c sets, the task thread takes and clears swap_conn). */
    lc_connector_t *volatile swap_conn;
    char *swap_config;
    int swap_mode;
} lc_task_t;

/* Worker facts tasks need (implemented in worker.c). */
const char *lc_worker_sdk_dir(lc_worker_t *w);
const char *lc_worker_plugin_path(lc_worker_t *w);
const char *lc_worker_id(lc_worker_t *w);
lc_store_t *lc_worker_store(lc_worker_t *w);
long lc_worker_flush_interval_ms(lc_worker_t *w);
long lc_worker_shutdown_timeout_ms(lc_worker_t *w);
/** Builds a librdkafka config for a task: bootstrap, the worker's producer.* or consumer.*
 * pass-through, then the connector's producer.override.* / consumer.override.*.
 * NULL with errstr on a bad setting. Caller owns the result. */
rd_kafka_conf_t *lc_worker_kafka_conf(lc_worker_t *w, lc_connector_t *c, int producer,
                                      char *errstr, size_t errstr_size);
/** With the embedded broker, creates topic with one partition before first use. */
void lc_worker_ensure_topic(lc_worker_t *w, const char *topic);

/** Thread entry points. */
void *lc_source_task_main(void *task);
void *lc_sink_task_main(void *task);

/* Shared by both loops (task.c). */
/** Records a state change in the status store and the log; trace may be NULL. */
void lc_task_set_state(lc_task_t *t, lc_task_state_t state, const char *trace);
/** Takes a pending reload in the task's thread: LC_SWAP_CHAIN rebuilds the chain in L;
 * LC_SWAP_FULL closes the script, switches t->conn and its config, and opens the new
 * script in a fresh state (*L replaced). The caller has made its work durable first.
 * Returns 0, or -1 with errstr (the task fails). */
int lc_task_take_swap(lc_task_t *t, lua_State **L, char *errstr, size_t errstr_size);
/** Copy of the task's FAILED trace (caller frees), or NULL. */
char *lc_task_trace(lc_task_t *t);
/** Creates the task's lua_State and runs the script's open(); pushes nothing, leaves the
 * task table in the registry (see lc_task_push). NULL with errstr on failure. */
lua_State *lc_task_open_lua(lc_task_t *t, char *errstr, size_t errstr_size);
/** Pushes the task table created by lc_task_open_lua. */
void lc_task_push(lua_State *L);
/** Runs the script's close() and closes L; errors are logged. */
void lc_task_close_lua(lc_task_t *t, lua_State *L);
/** Milliseconds on a monotonic clock. */
long long lc_now_ms(void);

#endif
