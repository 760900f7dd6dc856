/* worker: the standalone worker — owns the store, the Kafka connection settings, the
 * optional embedded broker, and the connectors with their task threads.
 * Depends on props, store, plugins, task. */
#ifndef LC_WORKER_H
#define LC_WORKER_H

#include <stddef.h>
#include "props.h"

typedef struct lc_worker lc_worker_t;

/** Creates a worker from worker properties (copied). embedded_kafka starts an in-process
 * broker and overrides bootstrap.servers. NULL with errstr naming the key on failure. */
lc_worker_t *lc_worker_new(const lc_props_t *worker_props, int embedded_kafka, char *errstr,
                           size_t errstr_size);
/** Validates a connector config against its script and starts its tasks. Every error
 * (unknown class, missing/unknown/mistyped key, script load error) is returned in errstr,
 * one per line, before any task starts. Returns 0 or -1. */
int lc_worker_add_connector(lc_worker_t *w, const lc_props_t *connector_props, char *errstr,
                            size_t errstr_size);
/** bootstrap.servers in use (the embedded broker's when there is one). */
const char *lc_worker_bootstrap(const lc_worker_t *w);
/** Stops every task: stop polling, flush producers, commit offsets, close scripts. */
void lc_worker_stop(lc_worker_t *w);
/** Number of tasks still running (not stopped or failed). */
int lc_worker_running_tasks(lc_worker_t *w);
/** Frees the worker (stops it first if needed); NULL is a no-op. */
void lc_worker_destroy(lc_worker_t *w);

#endif
