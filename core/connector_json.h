/* connector_json: the JSON views of a connector and its tasks in Kafka Connect's REST
 * shapes (info, config, status, task configs), secrets masked as "[hidden]". The caller
 * holds whatever lock guards the connector while a view is built.
 * Depends on connector, task (states, traces), jansson. */
#ifndef LC_CONNECTOR_JSON_H
#define LC_CONNECTOR_JSON_H

#include <jansson.h>

#include "connector.h"
#include "task.h"

/** The connector's config, secrets masked. */
json_t *lc_connector_json_config(const lc_connector_t *c);
/** {name, config, tasks:[{connector,task}], type, scripts}. */
json_t *lc_connector_json_info(const lc_connector_t *c);
/** {name, connector:{state,worker_id[,trace][,reload_error]}, tasks:[...], type, scripts}. */
json_t *lc_connector_json_status(const lc_connector_t *c, const char *worker_id);
/** Removes what is ours from a status or info object (scripts, connector.reload_error,
 * connector.detached_from), leaving exactly Kafka Connect's shape; NULL is a no-op. The REST
 * API keeps them only when asked (?expand=scripts). Returns o. */
json_t *lc_connector_json_strip_extras(json_t *o);
/** {id, state, worker_id[, trace]}. */
json_t *lc_connector_json_task_status(lc_task_t *t, const char *worker_id);
/** [{id:{connector,task}, config:{...}}]: string maps, as Kafka Connect's task configs. */
json_t *lc_connector_json_task_configs(const lc_connector_t *c);

#endif
