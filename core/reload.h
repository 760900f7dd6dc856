/* reload: hot reload's decisions and hand-over, for any herder — what changed between a
 * running connector and its files or new config, how errors read after a save
 * ("<file>:<line>: <message>"), and handing new code to running task threads, which take
 * it at their next batch boundary (transforms only: the chain is swapped; otherwise each
 * task makes its work durable, closes the old script and opens the new one).
 * Depends on connector, task, props, util. */
#ifndef LC_RELOAD_H
#define LC_RELOAD_H

#include <stddef.h>

#include "connector.h"
#include "props.h"

/** 1 when a and b hold the same keys and values (the transform chain's keys left out when
 * skip_chain). */
int lc_reload_props_equal(const lc_props_t *a, const lc_props_t *b, int skip_chain);
/** 1 when a key differs whose change needs new Kafka clients or a new task layout
 * (topics, converters, client overrides, DLQ, tasks.max): the tasks restart. */
int lc_reload_restart_keys_differ(const lc_props_t *a, const lc_props_t *b);
/** 1 when a file of c changed since it was validated; *only_chain tells whether every
 * changed file is a transform or predicate script. */
int lc_reload_files_changed(const lc_connector_t *c, int *only_chain);
/** 1 when a transform or predicate script of c changed, or props' config differs. */
int lc_reload_chain_changed(const lc_connector_t *c, const lc_props_t *props);
/** Prefixes each error line that names a key of the .properties file with FILE:LINE. */
void lc_reload_locate_errors(const lc_props_t *props, const char *file, char *errs,
                             size_t errs_size);
/** An error as a user reads it after a save: without the "connector '<name>': " prefix and
 * the SDK's stack traceback. Edits errs in place and returns it. */
char *lc_reload_strip_error(char *errs, const char *name);
/** 1 when every task of c runs (or is paused), so it can take new code in place. */
int lc_reload_tasks_running(const lc_connector_t *c);
/** Hands n (same task layout) to every task of c (mode LC_SWAP_CHAIN or LC_SWAP_FULL) and
 * waits until each took it at a batch boundary. 1 when all did; 0 when a task died or the
 * wait passed 4 x task.shutdown.graceful.timeout.ms + 10 s. */
int lc_reload_hand_over(lc_connector_t *c, lc_connector_t *n, int mode);
/** After a hand-over: n takes c's running task threads (and its state); c keeps none.
 * The caller holds the lock that guards both. */
void lc_reload_move_tasks(lc_connector_t *c, lc_connector_t *n);

#endif
