/* watch: hot reload's trigger — an inotify thread that watches the directories of every
 * file the connectors' code and .properties come from, and asks the standalone herder to reload the
 * connectors whose files were written (close after write, rename into place, delete and
 * re-create), once the file has been quiet for LC_WATCH_QUIET_MS. The herder reloads only
 * when a content hash changed, so a touch without change reloads nothing.
 * Depends on standalone (watched files, connectors using a file, reload). */
#ifndef LC_WATCH_H
#define LC_WATCH_H

#include <stddef.h>
#include "standalone.h"

#define LC_WATCH_QUIET_MS 100

typedef struct lc_watch lc_watch_t;

/** Starts the watcher thread. NULL with errstr when inotify is unavailable. */
lc_watch_t *lc_watch_start(lc_standalone_t *s, char *errstr, size_t errstr_size);
/** Stops and frees the watcher; NULL is a no-op. */
void lc_watch_stop(lc_watch_t *wt);

#endif
