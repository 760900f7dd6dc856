/* plugin_cache: see plugin_cache.h. */
#include "plugin_cache.h"
#include "lc_build.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CACHE_VERSION 1
#define RACY_NS 2000000000LL /* a file changed this recently may change again unseen */
#define WALK_MAX 10000       /* more files than this under the directories: no cache */
#define DEPTH_MAX 4          /* module directories deeper than this are not looked at */
#define KEEP_FILES 64        /* scans kept in the cache directory, newest first */

struct lc_plugin_cache {
    char *dir, *file;
    char fp[17];
    int racy;
};

typedef struct {
    uint64_t h;
    size_t files;
    int64_t now_ns;
    int racy, too_many;
} walk_t;

static void fnv(uint64_t *h, const void *p, size_t n)
{
    *h = lc_fnv1a(*h, p, n);
}

static int64_t ts_ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static void add_stat(walk_t *w, const char *path, const struct stat *st)
{
    int64_t v[6] = {(int64_t)st->st_size, ts_ns(&st->st_mtim), ts_ns(&st->st_ctim),
                    (int64_t)st->st_ino,  (int64_t)st->st_dev, (int64_t)st->st_mode};
    fnv(&w->h, path, strlen(path) + 1);
    fnv(&w->h, v, sizeof(v));
    if (w->now_ns - v[1] < RACY_NS || w->now_ns - v[2] < RACY_NS) w->racy = 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds every entry under dir, in name order, to the fingerprint. */
static void walk(walk_t *w, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    if (!d) {
        fnv(&w->h, "?", 2); /* gone or unreadable: still a state of its own */
        fnv(&w->h, dir, strlen(dir) + 1);
        return;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (n == cap) {
            char **grown = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));
            if (!grown) break;
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) break;
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        struct stat st;
        if (!w->too_many && ++w->files > WALK_MAX) w->too_many = 1;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (!w->too_many && stat(path, &st) == 0) {
            add_stat(w, path, &st);
            if (S_ISDIR(st.st_mode) && depth < DEPTH_MAX && names[i][0] != '.')
                walk(w, path, depth + 1);
        }
        free(names[i]);
    }
    free(names);
}

/* The cache directory: LUACONNECT_PLUGIN_CACHE, else under XDG_CACHE_HOME or HOME; NULL
 * when off. Caller frees. */
static char *cache_dir(void)
{
    const char *env = getenv("LUACONNECT_PLUGIN_CACHE"), *base;
    char buf[PATH_MAX];
    if (env && *env) return strcmp(env, "off") == 0 ? NULL : strdup(env);
    if ((base = getenv("XDG_CACHE_HOME")) && *base == '/')
        snprintf(buf, sizeof(buf), "%s/luaconnect/plugins", base);
    else if ((base = getenv("HOME")) && *base == '/')
        snprintf(buf, sizeof(buf), "%s/.cache/luaconnect/plugins", base);
    else
        return NULL;
    return strdup(buf);
}

lc_plugin_cache_t *lc_plugin_cache_open(const char *sdk_dir, const char *plugin_path)
{
    char exe[PATH_MAX], file[PATH_MAX + 64];
    struct stat st;
    struct timespec now;
    walk_t w = {.h = LC_FNV1A_INIT};
    uint64_t name = w.h;
    lc_plugin_cache_t *c;
    char *dir = cache_dir(), *copy;
    ssize_t n;

    if (!dir) return NULL;
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = 0;
    clock_gettime(CLOCK_REALTIME, &now);
    w.now_ns = ts_ns(&now);
    fnv(&w.h, LC_VERSION "\n" LC_COMMIT, sizeof(LC_VERSION "\n" LC_COMMIT));
    if (stat(exe, &st) == 0) add_stat(&w, exe, &st);
    walk(&w, sdk_dir, 0);
    if (!(copy = strdup(plugin_path))) goto off;
    for (char *save = NULL, *d = strtok_r(copy, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
        fnv(&w.h, "\n", 1);
        walk(&w, d, 0);
    }
    free(copy);
    if (w.too_many) {
        lc_debug(NULL, "plugin scan cache: more than %d files under plugin.path; not used",
                 WALK_MAX);
        goto off;
    }
    fnv(&name, exe, strlen(exe) + 1);
    fnv(&name, sdk_dir, strlen(sdk_dir) + 1);
    fnv(&name, plugin_path, strlen(plugin_path) + 1);
    snprintf(file, sizeof(file), "%s/scan-%016llx.json", dir, (unsigned long long)name);
    if (!(c = calloc(1, sizeof(*c))) || !(c->file = strdup(file))) {
        free(c);
        goto off;
    }
    c->dir = dir;
    c->racy = w.racy;
    snprintf(c->fp, sizeof(c->fp), "%016llx", (unsigned long long)w.h);
    return c;
off:
    free(dir);
    return NULL;
}

json_t *lc_plugin_cache_get(lc_plugin_cache_t *c)
{
    json_t *root, *plugins = NULL;
    const char *fp;

    if (!c || !(root = json_load_file(c->file, 0, NULL))) return NULL;
    fp = json_string_value(json_object_get(root, "fingerprint"));
    if (json_integer_value(json_object_get(root, "version")) == CACHE_VERSION && fp &&
        strcmp(fp, c->fp) == 0 && json_is_array(json_object_get(root, "plugins")))
        plugins = json_incref(json_object_get(root, "plugins"));
    json_decref(root);
    return plugins;
}

static int cmp_age(const void *a, const void *b)
{
    const struct {
        int64_t t;
        char *p;
    } *x = a, *y = b;
    return x->t < y->t ? 1 : x->t > y->t ? -1 : 0;
}

/* Removes the oldest scans beyond KEEP_FILES (plugin paths come and go: test directories,
 * old installs). */
static void prune(const char *dir)
{
    struct {
        int64_t t;
        char *p;
    } *all = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        char path[PATH_MAX + 256];
        struct stat st;
        if (strncmp(e->d_name, "scan-", 5) != 0) continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0) continue;
        if (n == cap) {
            void *grown = realloc(all, (cap = cap ? cap * 2 : 128) * sizeof(*all));
            if (!grown) break;
            all = grown;
        }
        all[n].t = ts_ns(&st.st_mtim);
        if ((all[n].p = strdup(path))) n++;
    }
    closedir(d);
    if (n > KEEP_FILES) qsort(all, n, sizeof(*all), cmp_age);
    for (size_t i = 0; i < n; i++) {
        if (i >= KEEP_FILES) unlink(all[i].p);
        free(all[i].p);
    }
    free(all);
}

void lc_plugin_cache_put(lc_plugin_cache_t *c, json_t *plugins)
{
    static unsigned seq;
    char tmp[PATH_MAX + 128];
    json_t *root;
    if (!c || !plugins) return;
    if (c->racy) {
        lc_debug(NULL, "plugin scan cache: a file on plugin.path changed in the last 2 s; "
                       "scan not stored");
        return;
    }
    if (lc_make_dirs(c->dir, 0700) != 0) {
        lc_debug(NULL, "plugin scan cache: cannot create %s: %s", c->dir, strerror(errno));
        return;
    }
    root = json_pack("{s:i, s:s, s:O}", "version", CACHE_VERSION, "fingerprint", c->fp, "plugins",
                     plugins);
    if (!root) return;
    snprintf(tmp, sizeof(tmp), "%s.%ld.%u.tmp", c->file, (long)getpid(),
             __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
    if (json_dump_file(root, tmp, JSON_COMPACT) != 0 || rename(tmp, c->file) != 0) {
        lc_debug(NULL, "plugin scan cache: cannot write %s: %s", c->file, strerror(errno));
        unlink(tmp);
    } else {
        prune(c->dir);
    }
    json_decref(root);
}

void lc_plugin_cache_close(lc_plugin_cache_t *c)
{
    if (!c) return;
    free(c->dir);
    free(c->file);
    free(c);
}
