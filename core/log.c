/* log: see log.h. One mutex keeps lines whole when tasks log at once. */
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static volatile int log_level = LC_LOG_INFO; /* max over root and named loggers */
static int root_level = LC_LOG_INFO;
static long long root_modified;
#define MAX_LOGGERS 256
static struct named {
    char name[200];
    int level;
    long long modified;
} loggers[MAX_LOGGERS];
static int nloggers;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

/* Caller holds log_lock. */
static void recompute_gate(void)
{
    int max = root_level;
    for (int i = 0; i < nloggers; i++)
        if (loggers[i].level > max) max = loggers[i].level;
    log_level = max;
}

void lc_log_set_level(lc_log_level_t level)
{
    pthread_mutex_lock(&log_lock);
    root_level = level;
    recompute_gate();
    pthread_mutex_unlock(&log_lock);
}

/* 1 when logger is parent (or the same as) child: "a.b" of "a.b" and "a.b.c". */
static int is_ancestor(const char *parent, const char *child)
{
    size_t l = strlen(parent);
    return strncmp(parent, child, l) == 0 && (child[l] == 0 || child[l] == '.');
}

/* Caller holds log_lock. */
static int effective(const char *name, long long *modified)
{
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; i < nloggers; i++)
        if (is_ancestor(loggers[i].name, name) && strlen(loggers[i].name) >= best_len) {
            best = i;
            best_len = strlen(loggers[i].name);
        }
    if (modified) *modified = best >= 0 ? loggers[best].modified : root_modified;
    return best >= 0 ? loggers[best].level : root_level;
}

void lc_log_set_named(const char *name, lc_log_level_t level,
                      void (*fn)(void *arg, const char *logger), void *arg)
{
    long long now = lc_wall_ms();
    pthread_mutex_lock(&log_lock);
    if (strcmp(name, "root") == 0) {
        root_level = level;
        root_modified = now;
        if (fn) fn(arg, "root");
        for (int i = 0; i < nloggers; i++) {
            loggers[i].level = level;
            loggers[i].modified = now;
            if (fn) fn(arg, loggers[i].name);
        }
    } else {
        int found = 0;
        for (int i = 0; i < nloggers; i++)
            if (is_ancestor(name, loggers[i].name)) {
                found |= strcmp(loggers[i].name, name) == 0;
                loggers[i].level = level;
                loggers[i].modified = now;
                if (fn) fn(arg, loggers[i].name);
            }
        if (!found && nloggers < MAX_LOGGERS && strlen(name) < sizeof(loggers[0].name)) {
            snprintf(loggers[nloggers].name, sizeof(loggers[0].name), "%s", name);
            loggers[nloggers].level = level;
            loggers[nloggers].modified = now;
            nloggers++;
            if (fn) fn(arg, name);
        }
    }
    recompute_gate();
    pthread_mutex_unlock(&log_lock);
}

lc_log_level_t lc_log_named_level(const char *name, long long *modified)
{
    pthread_mutex_lock(&log_lock);
    int l = strcmp(name, "root") == 0
                ? (modified ? *modified = root_modified, root_level : root_level)
                : effective(name, modified);
    pthread_mutex_unlock(&log_lock);
    return (lc_log_level_t)l;
}

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

void lc_log_each(void (*fn)(void *arg, const char *logger, lc_log_level_t level,
                            long long last_modified_ms),
                 void *arg)
{
    struct named copy[MAX_LOGGERS];
    pthread_mutex_lock(&log_lock);
    int n = nloggers, root = root_level;
    long long rm = root_modified;
    memcpy(copy, loggers, (size_t)n * sizeof(*copy));
    pthread_mutex_unlock(&log_lock);
    qsort(copy, (size_t)n, sizeof(*copy), cmp_named);
    fn(arg, "root", (lc_log_level_t)root, rm);
    for (int i = 0; i < n; i++)
        fn(arg, copy[i].name, (lc_log_level_t)copy[i].level, copy[i].modified);
}

/* The logger of a line: "luaconnect", or "luaconnect.<connector>" from "connector|task-0". */
static int line_level(const char *ctx)
{
    char name[256];
    if (ctx) {
        const char *bar = strchr(ctx, '|');
        snprintf(name, sizeof(name), "luaconnect.%.*s", bar ? (int)(bar - ctx) : (int)strlen(ctx),
                 ctx);
    } else {
        snprintf(name, sizeof(name), "luaconnect");
    }
    return effective(name, NULL);
}

lc_log_level_t lc_log_get_level(void)
{
    return (lc_log_level_t)log_level;
}

const char *lc_log_level_name(lc_log_level_t level)
{
    return level <= LC_LOG_TRACE ? level_names[level] : "?";
}

int lc_log_level_parse(const char *name)
{
    for (int i = 0; i <= LC_LOG_TRACE; i++)
        if (name && strcasecmp(name, level_names[i]) == 0) return i;
    if (name && strcasecmp(name, "WARNING") == 0) return LC_LOG_WARN;
    return -1;
}

void lc_log(lc_log_level_t level, const char *ctx, const char *fmt, ...)
{
    if ((int)level > log_level) return;
    if (nloggers) {
        pthread_mutex_lock(&log_lock);
        int allowed = (int)level <= line_level(ctx);
        pthread_mutex_unlock(&log_lock);
        if (!allowed) return;
    }
    struct timeval tv;
    struct tm tm;
    char ts[32];
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "[%s,%03d] %s ", ts, (int)(tv.tv_usec / 1000), lc_log_level_name(level));
    if (ctx) fprintf(stderr, "[%s] ", ctx);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
    va_end(ap);
}
