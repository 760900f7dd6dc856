/* worker: the standalone worker — owns the store, the Kafka connection settings, the
 * optional embedded broker, and the connectors with their task threads. Connectors can be
 * created, changed, paused, stopped, restarted and deleted while it runs (the REST API);
 * every change is persisted in the store and comes back after a restart.
 *
 * The run-time calls return an HTTP status (200, 201, 202, 204, 400, 404, 409, 500), the
 * same one Kafka Connect's REST API answers with, and fill errstr on errors.
 * Depends on props, store, plugins, task, jansson. */
#ifndef LC_WORKER_H
#define LC_WORKER_H

#include <jansson.h>
#include <stddef.h>
#include "props.h"

typedef struct lc_worker lc_worker_t;

/** What the user asked a connector to be (Kafka Connect's TargetState). */
typedef enum { LC_TARGET_STARTED = 0, LC_TARGET_PAUSED, LC_TARGET_STOPPED } lc_target_t;

/** Creates a worker from worker properties (copied). embedded_kafka starts an in-process
 * broker and overrides bootstrap.servers. NULL with errstr naming the key on failure. */
lc_worker_t *lc_worker_new(const lc_props_t *worker_props, int embedded_kafka, char *errstr,
                           size_t errstr_size);
/** Starts the connectors kept in the store with their last target state. A stored config
 * that no longer validates leaves its connector FAILED (with the errors as trace). */
void lc_worker_restore(lc_worker_t *w);
/** Creates or replaces a connector from a .properties file given on the command line: the
 * config applies, a stored target state (paused, stopped) is kept. Every error (unknown
 * class, missing/unknown/mistyped key, script load error) is returned in errstr, one per
 * line, before any task starts. Returns 0 or -1. */
int lc_worker_add_connector(lc_worker_t *w, const lc_props_t *connector_props, char *errstr,
                            size_t errstr_size);

/* Run-time changes (REST). */
enum { LC_PUT_ANY = 0, LC_PUT_CREATE, LC_PUT_UPDATE };
/** Creates (mode CREATE: 409 if it exists) or replaces (UPDATE: 404 if missing) connector
 * name with config; target < 0 keeps the current target (STARTED for a new one).
 * Returns 201 when created, 200 when replaced, 400/404/409/500. */
int lc_worker_put_connector(lc_worker_t *w, const char *name, const lc_props_t *config,
                            int mode, int target, char *errstr, size_t errstr_size);
/** Stops and forgets a connector (its offsets stay). 204 or 404. */
int lc_worker_delete_connector(lc_worker_t *w, const char *name, char *errstr,
                               size_t errstr_size);
/** Pause, resume (also restarts a STOPPED connector) or stop. 202/204 or 404/400. */
int lc_worker_set_target(lc_worker_t *w, const char *name, lc_target_t target, char *errstr,
                         size_t errstr_size);
/** Kafka Connect's restart: the connector instance and, with include_tasks, its tasks;
 * only_failed limits it to FAILED ones. When status is not NULL it receives the status
 * as it was when the restart began, RESTARTING marking what is restarted (202).
 * Returns 204, 202, 404 or 400. */
int lc_worker_restart(lc_worker_t *w, const char *name, int include_tasks, int only_failed,
                      json_t **status, char *errstr, size_t errstr_size);
/** Restarts one task. 204 or 404. */
int lc_worker_restart_task(lc_worker_t *w, const char *name, int task, char *errstr,
                           size_t errstr_size);

/* Hot reload. */
/** Reloads one connector: its .properties file (when it came from one) and its scripts
 * are validated in a fresh lua_State; on success the new code takes over at a batch
 * boundary (transforms only: the chain is swapped; otherwise each task makes its work
 * durable, closes the old script and opens the new one; a changed task layout restarts the
 * tasks). On failure the old code keeps running and errstr/status say "reload failed: ...".
 * force reloads even when nothing changed. 200 reloaded, 204 unchanged, 400, 404. */
int lc_worker_reload(lc_worker_t *w, const char *name, int force, char *errstr,
                     size_t errstr_size);
/** Reloads every connector whose files or .properties file changed (SIGHUP). */
void lc_worker_reload_changed(lc_worker_t *w);
/** The files the connectors' code and .properties come from (caller frees with
 * lc_free_list). */
char **lc_worker_watched_files(lc_worker_t *w, int *n);
/** Names of the connectors that use path (caller frees with lc_free_list). */
char **lc_worker_connectors_using(lc_worker_t *w, const char *path, int *n);

/* Views (REST); each returns a new reference, or NULL when the connector is unknown. */
/** Sorted list of connector names. */
json_t *lc_worker_connector_names(lc_worker_t *w);
/** {name, config, tasks:[{connector,task}], type}; secrets masked. */
json_t *lc_worker_connector_info(lc_worker_t *w, const char *name);
/** A copy of the connector's config, unmasked (caller destroys), or NULL. */
lc_props_t *lc_worker_connector_props(lc_worker_t *w, const char *name);
/** The connector's config, secrets masked. */
json_t *lc_worker_connector_config(lc_worker_t *w, const char *name);
/** {name, connector:{state,worker_id[,trace]}, tasks:[{id,state,worker_id[,trace]}], type}. */
json_t *lc_worker_connector_status(lc_worker_t *w, const char *name);
/** [{id:{connector,task}, config:{...}}], secrets masked. */
json_t *lc_worker_task_configs(lc_worker_t *w, const char *name);
/** {id, state, worker_id[, trace]}; NULL also when the task is unknown. */
json_t *lc_worker_task_status(lc_worker_t *w, const char *name, int task);
/** The Kafka cluster id (asked once), or NULL when the broker cannot be reached. */
const char *lc_worker_cluster_id(lc_worker_t *w);

/* Offsets (REST): Kafka Connect's {"offsets":[{"partition":{},"offset":{}|null}]}. */
/** 200 with *out, 404, 500. */
int lc_worker_offsets_get(lc_worker_t *w, const char *name, json_t **out, char *errstr,
                          size_t errstr_size);
/** Alters (body given) or resets (body NULL) the offsets of a STOPPED connector.
 * 200, 400 (not stopped, bad body), 404, 500. */
int lc_worker_offsets_alter(lc_worker_t *w, const char *name, json_t *body, char *errstr,
                            size_t errstr_size);

/* Plugins (REST). */
/** [{class, type, version}]; transforms, predicates and converters too unless
 * connectors_only. */
json_t *lc_worker_plugins(lc_worker_t *w, int connectors_only);
/** The config definitions of a plugin: 200 with *out, 404. */
int lc_worker_plugin_config(lc_worker_t *w, const char *plugin, json_t **out, char *errstr,
                            size_t errstr_size);
/** Kafka Connect's validate: 200 with {name, error_count, groups, configs}, 400, 404. */
int lc_worker_validate(lc_worker_t *w, const char *plugin, json_t *config, json_t **out,
                       char *errstr, size_t errstr_size);

/** Marks startup complete (stored and command-line connectors applied). */
void lc_worker_set_ready(lc_worker_t *w);
/** 1 once startup is complete: GET /health answers 200, before that 503. */
int lc_worker_ready(const lc_worker_t *w);
/** The worker id ("host:port" of the REST listener). */
const char *lc_worker_id(lc_worker_t *w);
/** Sets the worker id once the REST listener knows its port. */
void lc_worker_set_id(lc_worker_t *w, const char *id);
/** bootstrap.servers in use (the embedded broker's when there is one). */
const char *lc_worker_bootstrap(const lc_worker_t *w);
/** The worker's properties. */
const lc_props_t *lc_worker_props(const lc_worker_t *w);
/** Stops every task: stop polling, flush producers, commit offsets, close scripts. */
void lc_worker_stop(lc_worker_t *w);
/** Number of tasks still running (not stopped or failed). */
int lc_worker_running_tasks(lc_worker_t *w);
/** Frees the worker (stops it first if needed); NULL is a no-op. */
void lc_worker_destroy(lc_worker_t *w);

#endif
