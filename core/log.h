/* log: the worker's log, one line per event on stderr, in Kafka Connect's layout:
 *   [2026-11-22 03:43:13,123] INFO [connector|task-0] message (logger)
 * Thread-safe; the level can change at run time. Depends on libc and pthreads. */
#ifndef LC_LOG_H
#define LC_LOG_H

typedef enum {
    LC_LOG_ERROR = 0,
    LC_LOG_WARN,
    LC_LOG_INFO,
    LC_LOG_DEBUG,
    LC_LOG_TRACE
} lc_log_level_t;

/** Writes one log line if level is enabled; ctx may be NULL (no [ctx] part). */
void lc_log(lc_log_level_t level, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Sets the threshold; messages above it are dropped. */
void lc_log_set_level(lc_log_level_t level);
/** Returns the threshold. */
lc_log_level_t lc_log_get_level(void);
/** Parses ERROR/WARN/INFO/DEBUG/TRACE (any case); returns -1 if unknown. */
int lc_log_level_parse(const char *name);
/** Name of a level ("INFO"). */
const char *lc_log_level_name(lc_log_level_t level);

/* Named loggers (GET/PUT /admin/loggers). A worker line logs as "luaconnect", a line of
 * connector or task C as "luaconnect.C"; a dotted name is the parent of longer ones, and
 * a line obeys its most specific configured ancestor, else "root". */
/** Sets logger name (and every configured descendant; "root" resets all) to level.
 * Calls fn once per logger changed. */
void lc_log_set_named(const char *name, lc_log_level_t level,
                      void (*fn)(void *arg, const char *logger), void *arg);
/** Effective level of a logger, and when it was last set (epoch ms, 0 if never). */
lc_log_level_t lc_log_named_level(const char *name, long long *last_modified_ms);
/** Calls fn for "root" and every configured logger, in name order. */
void lc_log_each(void (*fn)(void *arg, const char *logger, lc_log_level_t level,
                            long long last_modified_ms),
                 void *arg);

#define lc_error(ctx, ...) lc_log(LC_LOG_ERROR, ctx, __VA_ARGS__)
#define lc_warn(ctx, ...) lc_log(LC_LOG_WARN, ctx, __VA_ARGS__)
#define lc_info(ctx, ...) lc_log(LC_LOG_INFO, ctx, __VA_ARGS__)
#define lc_debug(ctx, ...)                                                                         \
    do {                                                                                           \
        if (lc_log_get_level() >= LC_LOG_DEBUG) lc_log(LC_LOG_DEBUG, ctx, __VA_ARGS__);            \
    } while (0)
/* lc_log_get_level() is the most verbose level of any logger: a cheap first gate. */

#endif
