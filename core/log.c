/* log: see log.h. One mutex keeps lines whole when tasks log at once. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static volatile int log_level = LC_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

void lc_log_set_level(lc_log_level_t level)
{
    log_level = level;
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
