/* watch: hot reload's trigger — an inotify thread that watches the directories of every
 * file the connectors' code and .properties come from, and asks the worker to reload the
 * connectors whose files were written (close after write, rename into place, delete and
 * re-create), once the file has been quiet for LC_WATCH_QUIET_MS. The worker reloads only
 * when a content hash changed, so a touch without change reloads nothing.
 * Depends on worker (lc_worker_watched_files, lc_worker_connectors_using, lc_worker_reload). */
#ifndef LC_WATCH_H
#define LC_WATCH_H

#include <stddef.h>
#include "worker.h"

#define LC_WATCH_QUIET_MS 100

typedef struct lc_watch lc_watch_t;

/** Starts the watcher thread. NULL with errstr when inotify is unavailable. */
lc_watch_t *lc_watch_start(lc_worker_t *w, char *errstr, size_t errstr_size);
/** Stops and frees the watcher; NULL is a no-op. */
void lc_watch_stop(lc_watch_t *wt);

#endif
