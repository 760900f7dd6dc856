/* validate: what the REST API says about plugins — the plugin list, a plugin's config
 * definitions (Kafka Connect's ConfigKeyInfo) and Kafka Connect's config validation
 * ({name, error_count, groups, configs}), which plans the config exactly as a create would
 * in a scratch lua_State, without starting anything.
 * Depends on worker (plugin.path), connector (planning), plugins, plugin_api, jansson. */
#ifndef LC_VALIDATE_H
#define LC_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

#include "worker.h"

/** [{class, type, version}]; transforms, predicates and converters too unless
 * connectors_only. */
json_t *lc_validate_plugins(const lc_worker_t *w, int connectors_only);
/** The config definitions of a plugin: 200 with *out, 404, 500. */
int lc_validate_plugin_config(const lc_worker_t *w, const char *plugin, json_t **out, char *errstr,
                              size_t errstr_size);
/** Kafka Connect's validate of config for plugin: 200 with *out, 400, 404, 500. */
int lc_validate(const lc_worker_t *w, const char *plugin, json_t *config, json_t **out,
                char *errstr, size_t errstr_size);

#endif
