/* worker: the process a herder runs in — the worker config (Kafka Connect's worker keys),
 * the store, the Kafka settings and embedded broker, the default converters, and the
 * environment every task thread gets (task_env.h). It knows nothing of connectors: the
 * herders (standalone.h) own those.
 * Depends on props, config (definitions), store, kafka, plugins, codec, bridge. */
#ifndef LC_WORKER_H
#define LC_WORKER_H

#include <stddef.h>

#include "codec.h"
#include "kafka.h"
#include "props.h"
#include "store.h"
#include "task_env.h"

typedef struct lc_worker lc_worker_t;

/** Creates a worker from worker properties (copied): opens the store, reads the worker
 * keys, starts the embedded broker when embedded_kafka (it replaces bootstrap.servers).
 * NULL with errstr naming the file and key on failure. */
lc_worker_t *lc_worker_new(const lc_props_t *worker_props, int embedded_kafka, char *errstr,
                           size_t errstr_size);
/** The same for distributed mode: no SQLite store (offset.storage.file.filename is not
 * read); the herder gives the Kafka-topic stores with lc_worker_set_stores. */
lc_worker_t *lc_worker_new_distributed(const lc_props_t *worker_props, char *errstr,
                                       size_t errstr_size);
/** The SQLite store (offsets, connector configs, statuses); NULL in distributed mode. */
lc_store_t *lc_worker_store(const lc_worker_t *w);
/** Sets the offset and status stores task threads use (distributed mode), before any task
 * starts; they must outlive every task. */
void lc_worker_set_stores(lc_worker_t *w, lc_offset_store_t *offsets, lc_status_store_t *statuses);
/** The worker properties as given. */
const lc_props_t *lc_worker_props(const lc_worker_t *w);
/** The Kafka settings, embedded broker and admin client. */
lc_kafka_t *lc_worker_kafka(const lc_worker_t *w);
/** plugin.path as resolved (the bundled scripts and transforms included). */
const char *lc_worker_plugin_path(const lc_worker_t *w);
/** The worker's key.converter or value.converter (is_key selects), the default of every
 * connector that sets none. */
const lc_converter_t *lc_worker_converter(const lc_worker_t *w, int is_key);
/** What task threads get: stores, Kafka, directories, worker id, timeouts. Stays valid
 * until the worker is destroyed. */
const lc_task_env_t *lc_worker_task_env(const lc_worker_t *w);
/** The worker id ("host:port" of the REST listener). */
const char *lc_worker_id(const lc_worker_t *w);
/** Sets the worker id once the REST listener knows its port (before any task starts). */
void lc_worker_set_id(lc_worker_t *w, const char *id);
/** Frees the worker; its herder must have stopped every task first. NULL is a no-op. */
void lc_worker_destroy(lc_worker_t *w);

#endif
