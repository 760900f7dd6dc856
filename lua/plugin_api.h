/* plugin_api: what a plugin script says about itself, read by loading it in a scratch
 * lua_State: its kind, version, doc and aliases (luaconnect._describe, for the plugin
 * scan), and its config definitions in Kafka Connect's ConfigKeyInfo shape
 * (luaconnect._plugin_config, for GET /connector-plugins/{p}/config).
 * Depends on bridge, codec. */
#ifndef LC_PLUGIN_API_H
#define LC_PLUGIN_API_H

#include <stddef.h>

/** A scratch state with the SDK loaded, for describing many scripts in a row. */
typedef struct lc_plugin_api lc_plugin_api_t;

/** A script's description; the caller owns (frees) every string, none is NULL. */
typedef struct lc_plugin_desc {
    char *kind;    /* "source", "sink", "transform" or "predicate" */
    char *version; /* "" when the script declares none */
    char *doc;     /* "" when the script declares none */
    char *aliases; /* comma-joined, "" when none */
    int variants;  /* a transform with $Key/$Value variants (Connect lists Cast$Key, Cast$Value) */
} lc_plugin_desc_t;

/** Opens a describer whose require() searches sdk_dir then plugin_path. NULL with errstr
 * when the state or the SDK cannot be loaded. */
lc_plugin_api_t *lc_plugin_api_new(const char *sdk_dir, const char *plugin_path, char *errstr,
                                   size_t errstr_size);
/** Loads the script at path and fills *out. Returns 0, or -1 with errstr (the load error
 * with its traceback) and *out untouched. */
int lc_plugin_api_describe(lc_plugin_api_t *api, const char *path, lc_plugin_desc_t *out,
                           char *errstr, size_t errstr_size);
/** Closes the describer; NULL is a no-op. */
void lc_plugin_api_destroy(lc_plugin_api_t *api);
/** The config definitions of the script at path, in a scratch state of its own: its kind
 * into kind (kind_size bytes) and *defs_json, a JSON list of ConfigKeyInfo objects with
 * sorted keys (caller frees). Returns 0, or -1 with errstr. */
int lc_plugin_api_config(const char *sdk_dir, const char *plugin_path, const char *path, char *kind,
                         size_t kind_size, char **defs_json, char *errstr, size_t errstr_size);

#endif
