/* plugins: see plugins.h. A scan loads each script once in a scratch Lua state
 * (lua/plugin_api.c); the result is kept in memory per plugin path because every connector
 * start needs it, and on disk between runs (plugin_cache.c) while the files stay as they
 * were. */
#include "plugins.h"
#include "lc_build.h"
#include "log.h"
#include "plugin_api.h"
#include "plugin_cache.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char home_dir[PATH_MAX];
static char sdk_dir[PATH_MAX + 8];
static pthread_once_t home_once = PTHREAD_ONCE_INIT;

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_sdk(const char *root)
{
    char p[PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/lua/luaconnect.lua", root);
    return access(p, R_OK) == 0;
}

static void find_home(void)
{
    char exe[PATH_MAX], cand[PATH_MAX + 32];
    const char *env = getenv("LUACONNECT_HOME");
    const char *choice = NULL;
    if (env && has_sdk(env)) choice = env;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (!choice && n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(cand, sizeof(cand), "%s/..", exe); /* build/luaconnect in the source tree */
        if (has_sdk(cand)) choice = cand;
        if (!choice) {
            snprintf(cand, sizeof(cand), "%s/../share/luaconnect", exe);
            if (has_sdk(cand)) choice = cand;
        }
    }
    if (!choice && has_sdk(LC_SOURCE_DIR)) choice = LC_SOURCE_DIR;
    if (!choice) choice = LC_INSTALL_PREFIX "/share/luaconnect";
    if (!realpath(choice, home_dir)) snprintf(home_dir, sizeof(home_dir), "%s", choice);
    snprintf(sdk_dir, sizeof(sdk_dir), "%s/lua", home_dir);
}

/* The installation's root (holds lua/, scripts/, transforms/); never NULL. */
static const char *lc_home(void)
{
    pthread_once(&home_once, find_home);
    return home_dir;
}

const char *lc_sdk_dir(void)
{
    pthread_once(&home_once, find_home);
    return sdk_dir;
}

char *lc_plugin_path(const char *user)
{
    const char *home = lc_home();
    size_t cap = (user ? strlen(user) : 0) + strlen(home) * 2 + 64;
    char *out = malloc(cap), *copy = user ? strdup(user) : NULL;
    size_t n = 0;
    if (!out) return NULL;
    out[0] = 0;
    for (char *save = NULL, *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t len = strlen(tok);
        while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            tok[--len] = 0;
        if (!len) continue;
        if (!is_dir(tok)) {
            lc_warn(NULL, "plugin.path entry '%s' is not a directory; ignored", tok);
            continue;
        }
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", tok);
    }
    snprintf(out + n, cap - n, "%s%s/scripts,%s/transforms", n ? "," : "", home, home);
    free(copy);
    return out;
}

/* Scan cache: one plugin path at a time is enough for a worker. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char *cache_path;
static lc_plugin_info_t *cache_list;
static size_t cache_n;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the scripts on plugin_path in scan order: each directory in turn, its *.lua files
 * not starting with '_' (modules) sorted by name; name and kind are left for the scan. */
static lc_plugin_info_t *list_scripts(const char *plugin_path, size_t *n_out)
{
    size_t n = 0, cap = 0;
    lc_plugin_info_t *list = NULL;
    char *copy = strdup(plugin_path);
    *n_out = 0;
    if (!copy) return NULL;
    for (char *save = NULL, *dir = strtok_r(copy, ",", &save); dir;
         dir = strtok_r(NULL, ",", &save)) {
        DIR *d = opendir(dir);
        if (!d) continue;
        char **names = NULL;
        size_t nn = 0, ncap = 0;
        for (struct dirent *e; (e = readdir(d));) {
            size_t len = strlen(e->d_name);
            if (len < 5 || strcmp(e->d_name + len - 4, ".lua") != 0 || e->d_name[0] == '_')
                continue;
            if (nn == ncap) {
                ncap = ncap ? ncap * 2 : 32;
                names = realloc(names, ncap * sizeof(*names));
            }
            names[nn++] = strdup(e->d_name);
        }
        closedir(d);
        if (nn) qsort(names, nn, sizeof(*names), cmp_str);
        for (size_t i = 0; i < nn; i++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 32;
                list = realloc(list, cap * sizeof(*list));
            }
            lc_plugin_info_t *pi = &list[n++];
            memset(pi, 0, sizeof(*pi));
            char path[PATH_MAX + 256];
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            pi->path = strdup(path);
            names[i][strlen(names[i]) - 4] = 0;
            pi->name = names[i];
        }
        free(names);
    }
    free(copy);
    *n_out = n;
    return list;
}

/* A scan as plugin_cache.c keeps it: one object a script, in scan order. */
static json_t *scan_to_json(const lc_plugin_info_t *list, size_t n)
{
    json_t *out = json_array();
    for (size_t i = 0; out && i < n; i++) {
        const lc_plugin_info_t *p = &list[i];
        if (json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "path",
                                                 p->path, "name", p->name, "kind", p->kind,
                                                 "version", p->version, "doc", p->doc, "aliases",
                                                 p->aliases, "variants", p->variants)) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static char *json_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? strdup(s) : NULL;
}

/* Fills list[0..n) (paths and names from list_scripts) from a cached scan, which must
 * describe exactly those scripts in that order; returns 0, or -1 leaving list unfilled. */
static int scan_from_json(json_t *cached, lc_plugin_info_t *list, size_t n)
{
    size_t i;
    if (!json_is_array(cached) || json_array_size(cached) != n) return -1;
    for (i = 0; i < n; i++) {
        json_t *o = json_array_get(cached, i);
        const char *path = json_string_value(json_object_get(o, "path"));
        const char *name = json_string_value(json_object_get(o, "name"));
        if (!path || !name || strcmp(path, list[i].path) != 0 || strcmp(name, list[i].name) != 0)
            return -1;
        if (!json_is_string(json_object_get(o, "kind")) ||
            !json_is_string(json_object_get(o, "version")) ||
            !json_is_string(json_object_get(o, "doc")) ||
            !json_is_string(json_object_get(o, "aliases")))
            return -1;
    }
    for (i = 0; i < n; i++) {
        json_t *o = json_array_get(cached, i);
        list[i].kind = json_str(o, "kind");
        list[i].version = json_str(o, "version");
        list[i].doc = json_str(o, "doc");
        list[i].aliases = json_str(o, "aliases");
        list[i].variants = json_is_true(json_object_get(o, "variants"));
    }
    return 0;
}

lc_plugin_info_t *lc_plugins_scan(const char *plugin_path, size_t *n_out)
{
    char err[1024];
    size_t n;
    lc_plugin_cache_t *cache = lc_plugin_cache_open(lc_sdk_dir(), plugin_path);
    lc_plugin_info_t *list = list_scripts(plugin_path, &n);
    json_t *cached = lc_plugin_cache_get(cache), *scan = NULL;
    lc_plugin_api_t *api = NULL;
    int hit = cached && scan_from_json(cached, list, n) == 0;

    json_decref(cached);
    *n_out = 0;
    if (hit) {
        lc_plugin_cache_close(cache);
        *n_out = n;
        return list;
    }
    if (n && !(api = lc_plugin_api_new(lc_sdk_dir(), plugin_path, err, sizeof(err)))) {
        lc_error(NULL, "cannot scan plugin.path: %s", err);
        lc_plugins_free(list, n);
        list = NULL;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        lc_plugin_info_t *pi = &list[i];
        lc_plugin_desc_t desc;
        if (lc_plugin_api_describe(api, pi->path, &desc, err, sizeof(err)) != 0) {
            char *nl = strchr(err, '\n');
            if (nl) *nl = 0;
            pi->kind = strdup("error");
            pi->version = strdup("");
            pi->doc = strdup(err);
            pi->aliases = strdup("");
            continue;
        }
        pi->kind = desc.kind;
        pi->version = desc.version;
        pi->doc = desc.doc;
        pi->aliases = desc.aliases;
        pi->variants = desc.variants;
    }
    *n_out = n;
    if (cache && (scan = scan_to_json(list, n))) lc_plugin_cache_put(cache, scan);
    json_decref(scan);
out:
    lc_plugin_api_destroy(api);
    lc_plugin_cache_close(cache);
    return list;
}

void lc_plugins_free(lc_plugin_info_t *list, size_t n)
{
    if (!list) return;
    for (size_t i = 0; i < n; i++) {
        free(list[i].path);
        free(list[i].name);
        free(list[i].kind);
        free(list[i].version);
        free(list[i].doc);
        free(list[i].aliases);
    }
    free(list);
}

static int kind_matches(const char *have, const char *want)
{
    if (strcmp(want, "any") == 0) return strcmp(have, "error") != 0;
    if (strcmp(want, "connector") == 0)
        return strcmp(have, "source") == 0 || strcmp(have, "sink") == 0;
    return strcmp(have, want) == 0;
}

static int alias_listed(const char *aliases, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = aliases; *p;) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        if (l == len && strncmp(p, name, len) == 0) return 1;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

/* A path given by the user must resolve inside one of the plugin.path directories. */
static int path_inside(const char *plugin_path, const char *real)
{
    char *copy = strdup(plugin_path);
    int ok = 0;
    for (char *save = NULL, *dir = strtok_r(copy, ",", &save); dir && !ok;
         dir = strtok_r(NULL, ",", &save)) {
        char rd[PATH_MAX];
        if (!realpath(dir, rd)) continue;
        size_t l = strlen(rd);
        ok = strncmp(real, rd, l) == 0 && real[l] == '/';
    }
    free(copy);
    return ok;
}

int lc_plugins_resolve(const char *plugin_path, const char *name, const char *kind, char *out,
                       size_t out_size, char *errstr, size_t errstr_size)
{
    if (!name || !*name) {
        snprintf(errstr, errstr_size, "no %s name given", kind);
        return -1;
    }
    if (strchr(name, '/')) {
        char real[PATH_MAX];
        if (!realpath(name, real)) {
            snprintf(errstr, errstr_size, "%s script '%s' not found", kind, name);
            return -1;
        }
        if (!path_inside(plugin_path, real)) {
            snprintf(errstr, errstr_size, "%s script '%s' is outside plugin.path (%s)", kind, name,
                     plugin_path);
            return -1;
        }
        snprintf(out, out_size, "%s", real);
        return 0;
    }
    pthread_mutex_lock(&cache_lock);
    const char *found = NULL;
    /* A miss rescans once: a script may have been added since the last scan. */
    for (int attempt = 0; attempt < 2 && !found; attempt++) {
        if (!cache_path || strcmp(cache_path, plugin_path) != 0 || attempt == 1) {
            lc_plugins_free(cache_list, cache_n);
            free(cache_path);
            cache_path = strdup(plugin_path);
            cache_list = lc_plugins_scan(plugin_path, &cache_n);
        }
        for (size_t i = 0; i < cache_n && !found; i++)
            if (kind_matches(cache_list[i].kind, kind) && strcmp(cache_list[i].name, name) == 0)
                found = cache_list[i].path;
        for (size_t i = 0; i < cache_n && !found; i++)
            if (kind_matches(cache_list[i].kind, kind) && alias_listed(cache_list[i].aliases, name))
                found = cache_list[i].path;
    }
    if (found) {
        snprintf(out, out_size, "%s", found);
        pthread_mutex_unlock(&cache_lock);
        return 0;
    }
    /* Not found: list what is available, and say so if a script of that name failed. */
    /* "any" (GET /connector-plugins/{p}/config) is Kafka Connect's "Unknown plugin". */
    const char *what = strcmp(kind, "any") == 0 ? "plugin" : kind;
    size_t n = (size_t)snprintf(errstr, errstr_size, "unknown %s '%s'", what, name);
    for (size_t i = 0; i < cache_n; i++)
        if (strcmp(cache_list[i].kind, "error") == 0 && strcmp(cache_list[i].name, name) == 0) {
            snprintf(errstr, errstr_size, "%s script %s failed to load: %s", what,
                     cache_list[i].path, cache_list[i].doc);
            pthread_mutex_unlock(&cache_lock);
            return -1;
        }
    n += (size_t)snprintf(errstr + n, n < errstr_size ? errstr_size - n : 0, "; available: ");
    int first = 1;
    for (size_t i = 0; i < cache_n && n < errstr_size; i++) {
        if (!kind_matches(cache_list[i].kind, kind)) continue;
        n += (size_t)snprintf(errstr + n, errstr_size - n, "%s%s", first ? "" : ", ",
                              cache_list[i].name);
        if (*cache_list[i].aliases && n < errstr_size) {
            const char *a = cache_list[i].aliases;
            const char *c = strchr(a, ',');
            n += (size_t)snprintf(errstr + n, errstr_size - n, " (%.*s)",
                                  c ? (int)(c - a) : (int)strlen(a), a);
        }
        first = 0;
    }
    if (first && n < errstr_size) snprintf(errstr + n, errstr_size - n, "none");
    pthread_mutex_unlock(&cache_lock);
    return -1;
}
