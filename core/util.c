/* util: see util.h. */
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <stdlib.h>
#include <string.h>

char **lc_split_list(const char *s, int *n)
{
    char **out = NULL;
    *n = 0;
    char *copy = strdup(s ? s : "");
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t l = strlen(tok);
        while (l && (tok[l - 1] == ' ' || tok[l - 1] == '\t'))
            tok[--l] = 0;
        if (!l) continue;
        out = realloc(out, (size_t)(*n + 1) * sizeof(char *));
        out[(*n)++] = strdup(tok);
    }
    free(copy);
    return out;
}

void lc_free_list(char **l, int n)
{
    for (int i = 0; l && i < n; i++)
        free(l[i]);
    free(l);
}

int lc_appendf(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len >= size) return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n > 0) *len += (size_t)n;
    if (*len >= size) *len = size - 1;
    return 0;
}

unsigned long long lc_fnv1a(unsigned long long h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

int lc_file_hash(const char *path, unsigned long long *hash)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned long long h = LC_FNV1A_INIT;
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        h = lc_fnv1a(h, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) return -1;
    *hash = h;
    return 0;
}

long long lc_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

long long lc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int lc_list_contains(const char *s, const char *item)
{
    int n, found = 0;
    char **list = lc_split_list(s ? s : "", &n);
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], item) == 0) found = 1;
    lc_free_list(list, n);
    return found;
}

int lc_make_dirs(const char *dir, mode_t mode)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(path, mode) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(path, mode) != 0 && errno != EEXIST ? -1 : 0;
}
