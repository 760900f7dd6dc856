/* watch: see watch.h. */
#include "watch.h"
#include "log.h"
#include "task.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB)

struct lc_watch {
    lc_standalone_t *s;
    int fd;
    pthread_t thread;
    volatile int stop;
    struct dirwatch {
        int wd;
        char *dir;
    } * dirs;
    int ndirs;
    struct pending {
        char *path;
        long long last_ms;
    } * pending;
    int npending;
};

static void watch_dir_of(lc_watch_t *wt, const char *file)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(file, '/');
    if (slash == file)
        snprintf(dir, sizeof(dir), "/");
    else if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
    else
        snprintf(dir, sizeof(dir), ".");
    for (int i = 0; i < wt->ndirs; i++)
        if (strcmp(wt->dirs[i].dir, dir) == 0) return;
    int wd = inotify_add_watch(wt->fd, dir, WATCH_MASK);
    if (wd < 0) {
        lc_warn(NULL, "hot reload: cannot watch %s: %s", dir, strerror(errno));
        return;
    }
    wt->dirs = realloc(wt->dirs, (size_t)(wt->ndirs + 1) * sizeof(*wt->dirs));
    wt->dirs[wt->ndirs].wd = wd;
    wt->dirs[wt->ndirs].dir = strdup(dir);
    wt->ndirs++;
}

static void refresh(lc_watch_t *wt)
{
    int n;
    char **files = lc_standalone_watched_files(wt->s, &n);
    for (int i = 0; i < n; i++)
        watch_dir_of(wt, files[i]);
    lc_free_list(files, n);
}

static void note(lc_watch_t *wt, const char *path)
{
    for (int i = 0; i < wt->npending; i++)
        if (strcmp(wt->pending[i].path, path) == 0) {
            wt->pending[i].last_ms = lc_now_ms();
            return;
        }
    wt->pending = realloc(wt->pending, (size_t)(wt->npending + 1) * sizeof(*wt->pending));
    wt->pending[wt->npending].path = strdup(path);
    wt->pending[wt->npending].last_ms = lc_now_ms();
    wt->npending++;
}

static void drain(lc_watch_t *wt)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t len;
    while ((len = read(wt->fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + len;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof(*ev) + ev->len;
            if (!ev->len) continue;
            for (int i = 0; i < wt->ndirs; i++) {
                if (wt->dirs[i].wd != ev->wd) continue;
                char path[PATH_MAX];
                snprintf(path, sizeof(path), "%s%s%s", wt->dirs[i].dir,
                         strcmp(wt->dirs[i].dir, "/") == 0 ? "" : "/", ev->name);
                int n;
                char **users = lc_standalone_connectors_using(wt->s, path, &n);
                if (n) note(wt, path);
                lc_free_list(users, n);
            }
        }
    }
}

/* Reloads the connectors of every path that has been quiet long enough. */
static void settle(lc_watch_t *wt)
{
    long long now = lc_now_ms();
    for (int i = 0; i < wt->npending;) {
        if (now - wt->pending[i].last_ms < LC_WATCH_QUIET_MS) {
            i++;
            continue;
        }
        char *path = wt->pending[i].path;
        wt->pending[i] = wt->pending[--wt->npending];
        int n;
        char **names = lc_standalone_connectors_using(wt->s, path, &n);
        for (int j = 0; j < n; j++) {
            char err[16384];
            int rc = lc_standalone_herder(wt->s)->ops->reload(lc_standalone_herder(wt->s), names[j],
                                                              0, err, sizeof(err));
            if (rc == 200)
                lc_info(NULL, "hot reload: %s changed; connector '%s' reloaded", path, names[j]);
        }
        lc_free_list(names, n);
        free(path);
    }
}

static void *watch_main(void *arg)
{
    lc_watch_t *wt = arg;
    long long last_refresh = 0;
    while (!wt->stop) {
        if (lc_now_ms() - last_refresh >= 1000) {
            refresh(wt); /* connectors come and go over REST */
            last_refresh = lc_now_ms();
        }
        struct pollfd pfd = {wt->fd, POLLIN, 0};
        if (poll(&pfd, 1, wt->npending ? 20 : 200) > 0) drain(wt);
        settle(wt);
    }
    return NULL;
}

lc_watch_t *lc_watch_start(lc_standalone_t *s, char *errstr, size_t errsz)
{
    lc_watch_t *wt = calloc(1, sizeof(*wt));
    wt->s = s;
    wt->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (wt->fd < 0) {
        snprintf(errstr, errsz, "hot reload: inotify: %s", strerror(errno));
        free(wt);
        return NULL;
    }
    if (pthread_create(&wt->thread, NULL, watch_main, wt) != 0) {
        snprintf(errstr, errsz, "hot reload: cannot start the watcher thread");
        close(wt->fd);
        free(wt);
        return NULL;
    }
    return wt;
}

void lc_watch_stop(lc_watch_t *wt)
{
    if (!wt) return;
    wt->stop = 1;
    pthread_join(wt->thread, NULL);
    close(wt->fd);
    for (int i = 0; i < wt->ndirs; i++)
        free(wt->dirs[i].dir);
    free(wt->dirs);
    for (int i = 0; i < wt->npending; i++)
        free(wt->pending[i].path);
    free(wt->pending);
    free(wt);
}
