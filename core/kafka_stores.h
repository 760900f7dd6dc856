/* kafka_stores: the offset and status stores (store.h's interfaces) of a distributed worker,
 * on Kafka Connect's offsets and status topics in its formats: offsets keyed
 * ["<connector>",{partition}] (found whatever the field order Connect wrote), statuses
 * status-connector-<c> / status-task-<c>-<n> = {state, trace, worker_id, generation}.
 * Depends on klog, store, kafka, props, log, task_metrics, jansson. */
#ifndef LC_KAFKA_STORES_H
#define LC_KAFKA_STORES_H

#include <jansson.h>
#include <stddef.h>

#include "kafka.h"
#include "klog.h"
#include "props.h"
#include "store.h"

typedef struct lc_kstores lc_kstores_t;
/** Starts the offsets and status logs (topic names from offset.storage.topic and
 * status.storage.topic) and reads both to the end. NULL with errstr. */
lc_kstores_t *lc_kstores_start(lc_kafka_t *k, const lc_props_t *worker_props, const char *worker_id,
                               char *errstr, size_t errstr_size);
/** The offset store: put() produces every key/value (value NULL = tombstone) to the offsets
 * topic and waits for the acks (0 only when all were acknowledged); get()/each() answer from
 * memory. Keys are normalized (JSON re-dumped with JSON_COMPACT|JSON_SORT_KEYS, the format
 * callers use) so a Connect-written key with another field order is found; a put() for a key
 * first seen with Connect's bytes reuses those exact bytes, so Connect finds it too. */
lc_offset_store_t *lc_kstores_offsets(lc_kstores_t *s);
/** Offsets alone (a standalone worker's exactly-once sources): the offsets log of topic, read
 * to its end. NULL with errstr. */
lc_kstores_t *lc_kstores_start_offsets(lc_kafka_t *k, const lc_props_t *worker_props,
                                       const char *topic, const char *worker_id, char *errstr,
                                       size_t errstr_size);
/** The status store: put() writes status-connector-<c> (task -1) or status-task-<c>-<n> with
 * {"state","trace","worker_id","generation"} (JsonConverter, no schema); clear() writes
 * tombstones for every known status of the connector. */
lc_status_store_t *lc_kstores_statuses(lc_kstores_t *s);
/** The generation written in status values from now on. */
void lc_kstores_set_generation(lc_kstores_t *s, int generation);
/** The current status (Connect's overwrite rule applied when reading: a record replaces the
 * one kept when it comes from the same worker or has a generation >= the kept one) as
 * {"state","trace","worker_id","generation"} (new reference), or NULL. task -1: connector. */
json_t *lc_kstores_status(lc_kstores_t *s, const char *connector, int task);
/** Reads both topics to their end (see klog). */
int lc_kstores_read_to_end(lc_kstores_t *s, int timeout_ms, char *errstr, size_t errstr_size);
/** Stops and frees; NULL is a no-op. */
void lc_kstores_stop(lc_kstores_t *s);

/** The canonical form of an offsets key or value: the JSON text re-dumped with
 * JSON_COMPACT|JSON_SORT_KEYS (caller frees), or NULL when it is not JSON. */
char *lc_kstores_normalize(const void *json, size_t len);

#endif
