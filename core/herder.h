/* herder: what the REST API and the command line ask of "the cluster", as Kafka Connect's
 * Herder interface: create, reconfigure, pause, resume, stop, restart and delete
 * connectors; their configs, statuses and offsets; plugins and validation; hot reload.
 * The standalone herder (standalone.h) runs every connector in this process; a distributed
 * herder plugs in beside it by filling the same table. Callers never see which one runs.
 *
 * Calls that change something return the HTTP status Kafka Connect's REST API answers with
 * (200, 201, 202, 204, 400, 404, 409, 500) and fill errstr on errors. Views return a new
 * reference (caller decrefs) or NULL when the connector is unknown.
 * Depends on props, connector (target states), jansson. */
#ifndef LC_HERDER_H
#define LC_HERDER_H

#include <jansson.h>
#include <stddef.h>

#include "connector.h"
#include "props.h"

typedef struct lc_herder lc_herder_t;

/** Modes of put_connector. */
enum { LC_PUT_ANY = 0, LC_PUT_CREATE, LC_PUT_UPDATE };

/** The herder interface: one function per request. */
typedef struct lc_herder_ops {
    /** Creates (CREATE: 409 if it exists) or replaces (UPDATE: 404 if missing) connector name
     * with config; target < 0 keeps the current target (STARTED for a new one).
     * 201 created, 200 replaced, 400/404/409/500. */
    int (*put_connector)(lc_herder_t *h, const char *name, const lc_props_t *config, int mode,
                         int target, char *errstr, size_t errstr_size);
    /** Stops and forgets a connector (its offsets stay). 204 or 404. */
    int (*delete_connector)(lc_herder_t *h, const char *name, char *errstr, size_t errstr_size);
    /** Pause, resume (also restarts a STOPPED connector) or stop. 202/204, 404, 500. */
    int (*set_target)(lc_herder_t *h, const char *name, lc_target_t target, char *errstr,
                      size_t errstr_size);
    /** Kafka Connect's restart: the connector and, with include_tasks, its tasks; only_failed
     * limits it to FAILED ones. With status, *status gets the status as the restart began,
     * RESTARTING marking what restarts (202). 204, 202, 404. */
    int (*restart)(lc_herder_t *h, const char *name, int include_tasks, int only_failed,
                   json_t **status, char *errstr, size_t errstr_size);
    /** Restarts one task. 204 or 404. */
    int (*restart_task)(lc_herder_t *h, const char *name, int task, char *errstr,
                        size_t errstr_size);
    /** Reloads a connector's code and .properties file (hot reload); force reloads even when
     * nothing changed. 200 reloaded, 204 unchanged, 400, 404. */
    int (*reload)(lc_herder_t *h, const char *name, int force, char *errstr, size_t errstr_size);

    /** Sorted connector names. */
    json_t *(*connector_names)(lc_herder_t *h);
    /** {name, config, tasks:[{connector,task}], type, scripts}; secrets masked. */
    json_t *(*connector_info)(lc_herder_t *h, const char *name);
    /** A copy of the connector's config, unmasked (caller destroys), or NULL. */
    lc_props_t *(*connector_props)(lc_herder_t *h, const char *name);
    /** The connector's config, secrets masked. */
    json_t *(*connector_config)(lc_herder_t *h, const char *name);
    /** {name, connector:{state,worker_id[,trace]}, tasks:[...], type, scripts}. */
    json_t *(*connector_status)(lc_herder_t *h, const char *name);
    /** [{id:{connector,task}, config:{...}}], secrets masked. */
    json_t *(*task_configs)(lc_herder_t *h, const char *name);
    /** {id, state, worker_id[, trace]}; NULL also when the task is unknown. */
    json_t *(*task_status)(lc_herder_t *h, const char *name, int task);

    /** {"offsets":[{"partition":{},"offset":{}|null}]}: 200 with *out, 404, 500. */
    int (*offsets_get)(lc_herder_t *h, const char *name, json_t **out, char *errstr,
                       size_t errstr_size);
    /** Alters (body given) or resets (body NULL) the offsets of a STOPPED connector.
     * 200, 400 (not stopped, bad body), 404, 500. */
    int (*offsets_alter)(lc_herder_t *h, const char *name, json_t *body, char *errstr,
                         size_t errstr_size);

    /** [{class, type, version}]; transforms, predicates and converters too unless
     * connectors_only. */
    json_t *(*plugins)(lc_herder_t *h, int connectors_only);
    /** The config definitions of a plugin: 200 with *out, 404, 500. */
    int (*plugin_config)(lc_herder_t *h, const char *plugin, json_t **out, char *errstr,
                         size_t errstr_size);
    /** Kafka Connect's validate: 200 with {name, error_count, groups, configs}, 400, 404. */
    int (*validate)(lc_herder_t *h, const char *plugin, json_t *config, json_t **out, char *errstr,
                    size_t errstr_size);

    /** 1 once startup is complete (GET /health answers 200; 503 before). */
    int (*ready)(lc_herder_t *h);
    /** This worker's id ("host:port"). */
    const char *(*worker_id)(lc_herder_t *h);
    /** The Kafka cluster id, or NULL when the broker cannot be reached. */
    const char *(*cluster_id)(lc_herder_t *h);

    /* Distributed mode only (NULL in a standalone herder). */
    /** NULL when this worker handles changes itself (it is the leader); else the leader's URL
     * to forward them to (caller frees), or "" when no leader is known (409). */
    char *(*leader_url)(lc_herder_t *h);
    /** The internal endpoint POST /connectors/<c>/tasks: task configs (a JSON array of string
     * maps) from the worker that runs connector name, signed as KIP-507 says (signature and
     * algorithm are the X-Connect-Authorization and X-Connect-Request-Signature-Algorithm
     * headers, either may be NULL). 204, 400 (unsigned, bad body), 403 (bad signature), 404,
     * 409. */
    /** KIP-558: GET /connectors/{c}/topics (lc_topics_get's codes). */
    int (*active_topics)(lc_herder_t *h, const char *name, json_t **out, char *errstr,
                         size_t errstr_size);
    /** KIP-558: PUT /connectors/{c}/topics/reset (lc_topics_reset's codes). */
    int (*reset_topics)(lc_herder_t *h, const char *name, char *errstr, size_t errstr_size);
    int (*put_task_configs)(lc_herder_t *h, const char *name, const char *body, size_t len,
                            const char *signature, const char *algorithm, char *errstr,
                            size_t errstr_size);
} lc_herder_ops_t;

/** A herder: its operations; implementations embed this as their first member. */
struct lc_herder {
    const lc_herder_ops_t *ops;
};

#endif
