/* standalone: the standalone herder — every connector and task runs in this process, and
 * every change is persisted in the worker's store (SQLite) and comes back after a restart.
 * It implements the herder interface (herder.h) for the REST API, plus what only the
 * command line and the file watcher need: connectors from .properties files, restore at
 * startup, and hot reload of changed files.
 *
 * Locking: `op` serializes changes (create, reconfigure, pause, restart, delete, reload:
 * one at a time, and it is held while task threads are joined); `mu` guards the connector
 * list and each connector's target/state/trace/task list for the short moments they are
 * read or swapped, so status reads never wait for a task to stop.
 * Depends on herder, worker, connector, connector_json, task, reload, offsets_admin,
 * validate, store, log. */
#ifndef LC_STANDALONE_H
#define LC_STANDALONE_H

#include <stddef.h>

#include "herder.h"
#include "props.h"
#include "worker.h"

typedef struct lc_standalone lc_standalone_t;

/** A standalone herder over worker w (not owned: destroy the herder first). */
lc_standalone_t *lc_standalone_new(lc_worker_t *w);
/** The herder interface of s, for the REST API. */
lc_herder_t *lc_standalone_herder(lc_standalone_t *s);
/** Starts the connectors kept in the store with their last target state. A stored config
 * that no longer validates leaves its connector FAILED (with the errors as trace). */
void lc_standalone_restore(lc_standalone_t *s);
/** Creates or replaces a connector from a .properties file given on the command line: the
 * config applies, a stored target state (paused, stopped) is kept, and the file is watched
 * for hot reload. Every error is returned in errstr, one per line, before any task starts.
 * Returns 0 or -1. */
int lc_standalone_add_connector(lc_standalone_t *s, const lc_props_t *connector_props, char *errstr,
                                size_t errstr_size);
/** Marks startup complete (stored and command-line connectors applied). */
void lc_standalone_set_ready(lc_standalone_t *s);
/** Reloads every connector whose files or .properties file changed (SIGHUP). */
void lc_standalone_reload_changed(lc_standalone_t *s);
/** The files the connectors' code and .properties come from (caller frees with
 * lc_free_list). */
char **lc_standalone_watched_files(lc_standalone_t *s, int *n);
/** Names of the connectors that use path (caller frees with lc_free_list). */
char **lc_standalone_connectors_using(lc_standalone_t *s, const char *path, int *n);
/** Stops every task: stop polling, flush producers, commit offsets, close scripts. */
void lc_standalone_stop(lc_standalone_t *s);
/** Stops (if needed) and frees the herder; NULL is a no-op. */
void lc_standalone_destroy(lc_standalone_t *s);

#endif
