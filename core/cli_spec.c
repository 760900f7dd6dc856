/* cli_spec: see cli_spec.h. */
#include "cli_spec.h"
#include "cli_api.h"
#include "log.h"
#include "plugins.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct spec_list {
    char **paths;
    size_t n, cap;
} spec_list_t;

static int add_path(spec_list_t *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **p = realloc(l->paths, cap * sizeof(*p));
        if (!p) return -1;
        l->paths = p, l->cap = cap;
    }
    if (!(l->paths[l->n] = strdup(path))) return -1;
    l->n++;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Adds the *_spec.lua files under dir, depth first; hidden directories and build trees are
 * not searched (a build directory may hold copies of the sources). */
static int walk(spec_list_t *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        char path[PATH_MAX];
        struct stat st;
        if (e->d_name[0] == '.' || strcmp(e->d_name, "build") == 0) continue;
        size_t dl = strlen(dir);
        while (dl > 1 && dir[dl - 1] == '/') /* "tests/" names "tests/x_spec.lua" */
            dl--;
        snprintf(path, sizeof(path), "%.*s/%s", (int)dl, dir, e->d_name);
        const char *shown = strncmp(path, "./", 2) == 0 ? path + 2 : path;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode))
            rc = walk(l, path);
        else if (ends_with(e->d_name, "_spec.lua"))
            rc = add_path(l, shown);
    }
    closedir(d);
    return rc;
}

static int cmp_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int lc_cli_spec_main(int argc, char **argv)
{
    spec_list_t l = {0};
    char cwd[PATH_MAX], err[8192];
    int rc = 1, failed = 0;
    char *pp = NULL;
    /* Scripts' info lines would bury the output; LUACONNECT_LOG_LEVEL shows them. */
    const char *level = getenv("LUACONNECT_LOG_LEVEL");
    lc_log_set_level(level && lc_log_level_parse(level) >= 0 ? lc_log_level_parse(level)
                                                             : LC_LOG_WARN);
    for (int i = 0; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "luaconnect spec: %s: no such file or directory\n", argv[i]);
            goto out;
        }
        size_t before = l.n;
        if (S_ISDIR(st.st_mode) ? walk(&l, argv[i]) != 0 : add_path(&l, argv[i]) != 0) goto oom;
        if (S_ISDIR(st.st_mode) && l.n - before > 1)
            qsort(l.paths + before, l.n - before, sizeof(*l.paths), cmp_paths);
    }
    if (argc == 0) {
        if (walk(&l, ".") != 0) goto oom;
        if (l.n > 1) qsort(l.paths, l.n, sizeof(*l.paths), cmp_paths);
    }
    if (l.n == 0) {
        fprintf(stderr, "luaconnect spec: no *_spec.lua files found\n");
        goto out;
    }
    /* require() finds the modules of the repository the specs run in (its private _x.lua). */
    if (!getcwd(cwd, sizeof(cwd)) || !(pp = lc_plugin_path(cwd))) goto oom;
    char runner[PATH_MAX];
    snprintf(runner, sizeof(runner), "%s/_spec_runner.lua", lc_sdk_dir());
    for (size_t i = 0; i < l.n; i++) {
        char *args[] = {runner, l.paths[i]};
        int status = 0;
        fflush(stdout);
        if (lc_cli_api_run_file(lc_sdk_dir(), pp, 2, args, &status, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s: error: %s\n", l.paths[i], err);
            status = 1;
        }
        failed += status != 0;
    }
    fflush(stdout);
    if (l.n > 1) printf("%zu spec files: %zu passed, %d failed\n", l.n, l.n - failed, failed);
    rc = failed ? 1 : 0;
    goto out;
oom:
    fprintf(stderr, "luaconnect spec: out of memory\n");
out:
    for (size_t i = 0; i < l.n; i++)
        free(l.paths[i]);
    free(l.paths);
    free(pp);
    return rc;
}
