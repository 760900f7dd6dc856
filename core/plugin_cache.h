/* plugin_cache: remembers a plugin.path scan between runs, so that a worker (or
 * `luaconnect plugins`) that starts on unchanged scripts does not load every one of them
 * to learn their names, kinds and aliases (~15-20 ms for the scripts we ship).
 *
 * The cache is one JSON file per plugin path and binary under LUACONNECT_PLUGIN_CACHE
 * ("off" disables it; default $XDG_CACHE_HOME/luaconnect/plugins, else
 * $HOME/.cache/luaconnect/plugins). It is used only while a fingerprint of everything the
 * scan could read still matches: the binary, and name, size, mtime, ctime and inode of every
 * file under the SDK directory and under each plugin.path directory (the package.path the
 * scripts load modules from). A file changed in the last 2 s is not trusted to have a
 * settled mtime, so such a scan is not stored (git's "racily clean" rule). A cache that does
 * not parse, or lists other scripts than the directories hold, is ignored and rewritten.
 * What a scan holds is the caller's JSON (plugins.c's). Depends on log, util, jansson. */
#ifndef LC_PLUGIN_CACHE_H
#define LC_PLUGIN_CACHE_H

#include <jansson.h>

typedef struct lc_plugin_cache lc_plugin_cache_t;

/** Fingerprints plugin_path (and sdk_dir, the binary) now. Returns NULL when the cache is
 * off or the directories cannot be fingerprinted (then scan as without a cache). */
lc_plugin_cache_t *lc_plugin_cache_open(const char *sdk_dir, const char *plugin_path);
/** The stored scan (a JSON array, new reference) if it is still that of the fingerprinted
 * files, else NULL. */
json_t *lc_plugin_cache_get(lc_plugin_cache_t *c);
/** Stores a scan (borrowed) made after lc_plugin_cache_open, atomically: another process
 * reads the old file or the new one. Does nothing when a file was changed too recently. */
void lc_plugin_cache_put(lc_plugin_cache_t *c, json_t *plugins);
/** Frees c; NULL is a no-op. */
void lc_plugin_cache_close(lc_plugin_cache_t *c);

#endif
