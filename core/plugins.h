/* plugins: finds connector, transform and predicate scripts on plugin.path.
 *
 * A name resolves, in order: as a path (must lie inside a plugin.path directory), as
 * DIR/NAME.lua, then as an alias a script declares (aliases = {"FileStreamSource",
 * "org.apache.kafka.connect.file.FileStreamSourceConnector"}), which is how Kafka Connect
 * class names reach our scripts. Also locates the installation (the SDK directory and the
 * default plugin.path). Depends on plugin_api (scripts describe themselves by being
 * loaded), plugin_cache (a scan kept between runs), log. */
#ifndef LC_PLUGINS_H
#define LC_PLUGINS_H

#include <stddef.h>

typedef struct lc_plugin_info {
    char *path, *name, *kind, *version, *doc, *aliases; /* aliases comma-joined */
    int variants; /* a transform with $Key/$Value variants */
} lc_plugin_info_t;

/** The SDK directory (HOME/lua). */
const char *lc_sdk_dir(void);
/** The plugin path to use: user entries (comma-separated, non-directories are skipped with
 * a warning) followed by HOME/scripts and HOME/transforms. Caller frees. */
char *lc_plugin_path(const char *user_plugin_path);
/** Resolves name to a script path of the wanted kind ("connector", "transform", "any" or
 * "predicate") into out. Returns 0, or -1 with errstr listing the available plugins. */
int lc_plugins_resolve(const char *plugin_path, const char *name, const char *kind, char *out,
                       size_t out_size, char *errstr, size_t errstr_size);
/** Loads every script on plugin_path and returns their descriptions (*n of them); a
 * script that fails to load is reported with kind "error" and the message as doc. The
 * result of the last scan of unchanged files comes from plugin_cache.h instead.
 * Free with lc_plugins_free. */
lc_plugin_info_t *lc_plugins_scan(const char *plugin_path, size_t *n);
/** Frees a scan result; NULL is a no-op. */
void lc_plugins_free(lc_plugin_info_t *list, size_t n);

#endif
