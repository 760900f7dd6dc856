/* store: SQLite implementation of the offset, config and status stores (see store.h).
 * WAL mode with synchronous=FULL so a committed offset survives power loss as well as
 * kill -9. One connection, one mutex: writes are rare (every offset.flush.interval.ms). */
#include "store.h"
#include "util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct lc_store {
    sqlite3 *db;
    pthread_mutex_t lock;
    lc_offset_store_t offsets;
    lc_config_store_t configs;
    lc_status_store_t statuses;
};

static const char *const schema_sql =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS offsets(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS connector_configs(name TEXT PRIMARY KEY, config TEXT NOT NULL,"
    " target_state TEXT NOT NULL DEFAULT 'STARTED');"
    "CREATE TABLE IF NOT EXISTS statuses(connector TEXT NOT NULL, task INTEGER NOT NULL,"
    " state TEXT NOT NULL, trace TEXT, worker_id TEXT, updated_ms INTEGER NOT NULL,"
    " PRIMARY KEY(connector, task));"
    "CREATE TABLE IF NOT EXISTS active_topics(connector TEXT NOT NULL, topic TEXT NOT NULL,"
    " task INTEGER NOT NULL, discovered_ms INTEGER NOT NULL, PRIMARY KEY(connector, topic));";

/* "offset store /path/x.db: disk I/O error": the file too, so a user sees which one to fix. */
static void set_err(char *errstr, size_t n, const char *what, sqlite3 *db)
{
    const char *file = db ? sqlite3_db_filename(db, "main") : NULL;
    snprintf(errstr, n, "%s%s%s: %s", what, file && *file ? " " : "", file ? file : "",
             db ? sqlite3_errmsg(db) : "out of memory");
}

static char *column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

/* Runs one statement with text parameters under the lock. */
static int exec_params(lc_store_t *s, const char *sql, const char *const *params, int n,
                       char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    pthread_mutex_lock(&s->lock);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) goto err;
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) goto err;
    rc = 0;
err:
    if (rc) set_err(errstr, errstr_size, "store", s->db);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Returns column 0 (and optionally 1) of the first row of a query with text parameters. */
static char *query_text(lc_store_t *s, const char *sql, const char *const *params, int n,
                        char **second)
{
    sqlite3_stmt *st = NULL;
    char *out = NULL;
    pthread_mutex_lock(&s->lock);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
        for (int i = 0; i < n; i++)
            sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) {
            out = column_dup(st, 0);
            if (second) *second = column_dup(st, 1);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return out;
}

static int offsets_put(lc_offset_store_t *o, const char *const *keys, const char *const *values,
                       size_t n, char *errstr, size_t errstr_size)
{
    lc_store_t *s = o->impl;
    sqlite3_stmt *up = NULL, *del = NULL;
    int rc = -1, in_tx = 0;
    pthread_mutex_lock(&s->lock);
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) goto err;
    in_tx = 1;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO offsets(key,value) VALUES(?1,?2)"
                           " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                           -1, &up, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "DELETE FROM offsets WHERE key=?1", -1, &del, NULL) != SQLITE_OK)
        goto err;
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st = values[i] ? up : del;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
        if (values[i]) sqlite3_bind_text(st, 2, values[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) goto err;
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) goto err;
    in_tx = 0;
    rc = 0;
err:
    if (rc) {
        set_err(errstr, errstr_size, "offset store", s->db);
        if (in_tx) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_finalize(up);
    sqlite3_finalize(del);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static char *offsets_get(lc_offset_store_t *o, const char *key)
{
    const char *p[] = {key};
    return query_text(o->impl, "SELECT value FROM offsets WHERE key=?1", p, 1, NULL);
}

static int offsets_each(lc_offset_store_t *o, const char *prefix,
                        void (*fn)(void *arg, const char *key, const char *value), void *arg,
                        char *errstr, size_t errstr_size)
{
    lc_store_t *s = o->impl;
    sqlite3_stmt *st = NULL;
    int rc = -1, step;
    pthread_mutex_lock(&s->lock);
    /* substr() rather than LIKE: connector names may hold % and _ */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT key, value FROM offsets WHERE substr(key,1,length(?1))=?1"
                           " ORDER BY key",
                           -1, &st, NULL) != SQLITE_OK)
        goto err;
    sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
    if (step != SQLITE_DONE) goto err;
    rc = 0;
err:
    if (rc) set_err(errstr, errstr_size, "offset store", s->db);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int configs_each(lc_config_store_t *c,
                        void (*fn)(void *arg, const char *name, const char *config_json,
                                   const char *target_state),
                        void *arg, char *errstr, size_t errstr_size)
{
    lc_store_t *s = c->impl;
    sqlite3_stmt *st = NULL;
    int rc = -1, step;
    size_t n = 0, cap = 0;
    char **rows = NULL; /* name, config, state triples: fn runs after the lock is released,
                         * because it may use the store itself */
    pthread_mutex_lock(&s->lock);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, config, target_state FROM connector_configs ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        goto err;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n + 3 > cap) {
            cap = cap ? cap * 2 : 24;
            rows = realloc(rows, cap * sizeof(char *));
        }
        for (int i = 0; i < 3; i++)
            rows[n++] = column_dup(st, i);
    }
    if (step != SQLITE_DONE) goto err;
    rc = 0;
err:
    if (rc) set_err(errstr, errstr_size, "config store", s->db);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i + 2 < n; i += 3)
        if (rc == 0) fn(arg, rows[i], rows[i + 1], rows[i + 2] ? rows[i + 2] : "STARTED");
    for (size_t i = 0; i < n; i++)
        free(rows[i]);
    free(rows);
    return rc;
}

static int configs_put(lc_config_store_t *c, const char *name, const char *config_json,
                       const char *target_state, char *errstr, size_t errstr_size)
{
    const char *p[] = {name, config_json, target_state ? target_state : "STARTED"};
    return exec_params(c->impl,
                       "INSERT INTO connector_configs(name,config,target_state) VALUES(?1,?2,?3)"
                       " ON CONFLICT(name) DO UPDATE SET config=excluded.config,"
                       " target_state=excluded.target_state",
                       p, 3, errstr, errstr_size);
}

static int configs_del(lc_config_store_t *c, const char *name, char *errstr, size_t errstr_size)
{
    const char *p[] = {name};
    return exec_params(c->impl, "DELETE FROM connector_configs WHERE name=?1", p, 1, errstr,
                       errstr_size);
}

static int statuses_put(lc_status_store_t *ss, const char *connector, int task, const char *state,
                        const char *trace, const char *worker_id, const char *version, char *errstr,
                        size_t errstr_size)
{
    (void)version; /* the local store's status is what the worker shows: its plan's version */
    char task_s[16], ms[32];
    snprintf(task_s, sizeof(task_s), "%d", task);
    snprintf(ms, sizeof(ms), "%lld", lc_wall_ms());
    const char *p[] = {connector, task_s, state, trace, worker_id, ms};
    return exec_params(ss->impl,
                       "INSERT INTO statuses(connector,task,state,trace,worker_id,updated_ms)"
                       " VALUES(?1,CAST(?2 AS INTEGER),?3,?4,?5,CAST(?6 AS INTEGER))"
                       " ON CONFLICT(connector,task) DO UPDATE SET state=excluded.state,"
                       " trace=excluded.trace, worker_id=excluded.worker_id,"
                       " updated_ms=excluded.updated_ms",
                       p, 6, errstr, errstr_size);
}

static int topics_reset(lc_status_store_t *ss, const char *connector, char *errstr,
                        size_t errstr_size)
{
    const char *p[] = {connector};
    int rc = exec_params(ss->impl, "DELETE FROM active_topics WHERE connector=?1", p, 1, errstr,
                         errstr_size);
    __atomic_add_fetch(&ss->topics_epoch, 1, __ATOMIC_RELEASE);
    return rc;
}

static int statuses_clear(lc_status_store_t *ss, const char *connector)
{
    char err[256];
    const char *p[] = {connector};
    return exec_params(ss->impl, "DELETE FROM statuses WHERE connector=?1", p, 1, err, sizeof(err));
}

static int topic_put(lc_status_store_t *ss, const char *connector, const char *topic, int task,
                     char *errstr, size_t errstr_size)
{
    char task_s[16], ms[32];
    snprintf(task_s, sizeof(task_s), "%d", task);
    snprintf(ms, sizeof(ms), "%lld", lc_wall_ms());
    const char *p[] = {connector, topic, task_s, ms};
    return exec_params(ss->impl,
                       "INSERT OR IGNORE INTO active_topics(connector,topic,task,discovered_ms)"
                       " VALUES(?1,?2,CAST(?3 AS INTEGER),CAST(?4 AS INTEGER))",
                       p, 4, errstr, errstr_size);
}

static char **topics_of(lc_status_store_t *ss, const char *connector)
{
    lc_store_t *s = ss->impl;
    sqlite3_stmt *st = NULL;
    size_t n = 0, cap = 8;
    char **out = calloc(cap + 1, sizeof(char *));
    pthread_mutex_lock(&s->lock);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT topic FROM active_topics WHERE connector=?1 ORDER BY topic", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, connector, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (n == cap) {
                cap *= 2;
                out = realloc(out, (cap + 1) * sizeof(char *));
            }
            out[n++] = column_dup(st, 0);
            out[n] = NULL;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return out;
}

lc_store_t *lc_store_open(const char *path, char *errstr, size_t errstr_size)
{
    lc_store_t *s = calloc(1, sizeof(*s));
    char *msg = NULL;
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(errstr, errstr_size, "offset.storage.file.filename '%s': cannot open: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto err;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_exec(s->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(errstr, errstr_size,
                 "offset.storage.file.filename '%s': not a luaconnect store: %s", path,
                 msg ? msg : "unknown error");
        sqlite3_free(msg);
        goto err;
    }
    s->offsets = (lc_offset_store_t){
        .put = offsets_put, .get = offsets_get, .each = offsets_each, .impl = s};
    s->configs = (lc_config_store_t){configs_put, configs_del, configs_each, s};
    s->statuses = (lc_status_store_t){.put = statuses_put,
                                      .clear = statuses_clear,
                                      .topic_put = topic_put,
                                      .topics = topics_of,
                                      .topics_reset = topics_reset,
                                      .impl = s};
    return s;
err:
    lc_store_close(s);
    return NULL;
}

void lc_store_close(lc_store_t *s)
{
    if (!s) return;
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

lc_offset_store_t *lc_store_offsets(lc_store_t *s)
{
    return &s->offsets;
}

lc_config_store_t *lc_store_configs(lc_store_t *s)
{
    return &s->configs;
}

lc_status_store_t *lc_store_statuses(lc_store_t *s)
{
    return &s->statuses;
}
