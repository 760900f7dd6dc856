/* worker_impl: the worker's insides, shared by worker.c (lifecycle of connectors and
 * tasks) and herder.c (the REST API's views and offset/plugin operations). Private to the
 * core; nothing outside those two files includes it.
 *
 * Locking: `op` serializes changes (create, reconfigure, pause, restart, delete: one at a
 * time, and it is held while task threads are joined); `mu` guards the connector list and
 * each connector's target/state/trace/task list for the short moments they are read or
 * swapped, so status reads never wait for a task to stop. */
#ifndef LC_WORKER_IMPL_H
#define LC_WORKER_IMPL_H

#include "store.h"
#include "task.h"
#include "worker.h"

#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>

struct lc_worker {
    lc_props_t *props;
    char *bootstrap;
    char *plugin_path;
    char worker_id[128];
    lc_store_t *store;
    long flush_ms, shutdown_ms;
    lc_converter_t key_conv, value_conv;
    rd_kafka_t *mock_rk;
    rd_kafka_mock_cluster_t *mock;
    pthread_mutex_t topics_lock;
    char **topics;
    int ntopics;
    pthread_mutex_t op;
    pthread_mutex_t mu;
    lc_connector_t **conns;
    int nconns;
    int stopped;
    volatile int ready; /* stored and command-line connectors applied (GET /health) */
    char **cli_names, **cli_paths; /* connectors given as .properties files (hot reload) */
    int ncli;
    pthread_mutex_t admin_lock; /* guards admin and cluster_id */
    rd_kafka_t *admin;          /* created on first use by the REST API */
    char *cluster_id;
};

/** Index of the connector called name, or -1; caller holds mu. */
int lc_worker_find(lc_worker_t *w, const char *name);
/** Validates props exactly as a create would, without starting anything; the connector
 * is returned planned (free with lc_worker_connector_free) or NULL with errs filled, one
 * error per line. */
lc_connector_t *lc_worker_plan(lc_worker_t *w, const lc_props_t *props, char *errs,
                               size_t errs_size);
/** Frees a connector whose tasks are not running; NULL is a no-op. */
void lc_worker_connector_free(lc_connector_t *c);
/** 1 when key's value must be masked: a password definition or a secret-looking name. */
int lc_connector_is_secret(const lc_connector_t *c, const char *key);
/** The admin client (created on first call), or NULL with errstr. */
rd_kafka_t *lc_worker_admin(lc_worker_t *w, char *errstr, size_t errstr_size);

#endif
