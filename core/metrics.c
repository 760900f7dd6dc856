/* metrics: see metrics.h. A page is rendered family by family (Prometheus wants every sample
 * of a family together): the herder's views give statuses, a snapshot of the task registry
 * gives the counters. Rates are averages since the task started (Kafka Connect's are over a
 * 30 s window); a scraper's rate() over the *_total counters gives windowed rates. */
#include "metrics.h"
#include "task_metrics.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct buf {
    char *s;
    size_t len, cap;
    int oom;
} buf_t;

__attribute__((format(printf, 2, 3))) static void put(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        if (b->oom) return;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* A label value with Prometheus' escapes (backslash, double quote, newline). */
static void put_label(buf_t *b, const char *name, const char *value)
{
    put(b, "%s=\"", name);
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            put(b, "\\%c", *p);
        else if (*p == '\n')
            put(b, "\\n");
        else
            put(b, "%c", *p);
    }
    put(b, "\"");
}

typedef struct task_snap {
    char *connector;
    int id, is_source;
    uint64_t v[LC_TM_COUNT];
    lc_partition_lag_t *lags;
    int nlags;
    lc_transform_dropped_t *drops;
    int ndrops;
} task_snap_t;

typedef struct page {
    buf_t b;
    int om; /* OpenMetrics */
    task_snap_t *tasks;
    int ntasks, cap;
    long long now_ms;
} page_t;

static void snap_one(void *arg, const char *connector, int id, int is_source,
                     const lc_task_metrics_t *m)
{
    page_t *p = arg;
    if (p->ntasks == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        task_snap_t *t = realloc(p->tasks, (size_t)cap * sizeof(*t));
        if (!t) return;
        p->tasks = t;
        p->cap = cap;
    }
    task_snap_t *t = &p->tasks[p->ntasks];
    if (!(t->connector = strdup(connector))) return;
    t->id = id;
    t->is_source = is_source;
    for (int k = 0; k < LC_TM_COUNT; k++)
        t->v[k] = lc_task_metrics_get(m, k);
    t->nlags = 0;
    t->lags = m->nlags ? malloc((size_t)m->nlags * sizeof(*t->lags)) : NULL;
    if (t->lags) {
        memcpy(t->lags, m->lags, (size_t)m->nlags * sizeof(*t->lags));
        t->nlags = m->nlags;
    }
    t->ndrops = 0;
    t->drops = m->ndrops ? malloc((size_t)m->ndrops * sizeof(*t->drops)) : NULL;
    if (t->drops) {
        memcpy(t->drops, m->drops, (size_t)m->ndrops * sizeof(*t->drops));
        t->ndrops = m->ndrops;
    }
    p->ntasks++;
}

static int cmp_snap(const void *a, const void *b)
{
    const task_snap_t *x = a, *y = b;
    int c = strcmp(x->connector, y->connector);
    return c ? c : x->id - y->id;
}

/* The family header: counters are named without _total in OpenMetrics. */
static void family(page_t *p, const char *name, const char *type, const char *help)
{
    size_t n = strlen(name);
    int counter = strcmp(type, "counter") == 0;
    if (p->om && counter && n > 6 && strcmp(name + n - 6, "_total") == 0) n -= 6;
    put(&p->b, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)n, name, help, (int)n, name, type);
}

static void value(page_t *p, double v)
{
    if (v == (double)(long long)v)
        put(&p->b, "} %lld\n", (long long)v);
    else
        put(&p->b, "} %.6g\n", v);
}

/* Which tasks a per-task metric is about. */
enum { ANY_TASK, SOURCE_TASK, SINK_TASK };

/* A metric computed from a task's counters. */
typedef double (*task_fn)(const page_t *p, const task_snap_t *t);

static double since_start_s(const page_t *p, const task_snap_t *t)
{
    double s = (double)(p->now_ms - (long long)t->v[LC_TM_STARTED_MS]) / 1000.0;
    return s > 0.001 ? s : 0.001;
}

static double ratio_of(const page_t *p, const task_snap_t *t, int ms, int since)
{
    double total = (double)t->v[ms];
    if (t->v[since] && (long long)t->v[since] < p->now_ms)
        total += (double)(p->now_ms - (long long)t->v[since]);
    double r = total / (since_start_s(p, t) * 1000.0);
    return r > 1 ? 1 : r;
}

#define COUNTER_FN(fname, k)                                                                       \
    static double fname(const page_t *p, const task_snap_t *t)                                     \
    {                                                                                              \
        (void)p;                                                                                   \
        return (double)t->v[k];                                                                    \
    }
#define RATE_FN(fname, k)                                                                          \
    static double fname(const page_t *p, const task_snap_t *t)                                     \
    {                                                                                              \
        return (double)t->v[k] / since_start_s(p, t);                                              \
    }
#define AVG_MS_FN(fname, sum, count)                                                               \
    static double fname(const page_t *p, const task_snap_t *t)                                     \
    {                                                                                              \
        (void)p;                                                                                   \
        return t->v[count] ? (double)t->v[sum] / (double)t->v[count] / 1e6 : 0;                    \
    }

COUNTER_FN(poll_total, LC_TM_POLL_TOTAL)
RATE_FN(poll_rate, LC_TM_POLL_TOTAL)
COUNTER_FN(write_total, LC_TM_WRITE_TOTAL)
RATE_FN(write_rate, LC_TM_WRITE_TOTAL)
COUNTER_FN(read_total, LC_TM_READ_TOTAL)
RATE_FN(read_rate, LC_TM_READ_TOTAL)
COUNTER_FN(send_total, LC_TM_SEND_TOTAL)
RATE_FN(send_rate, LC_TM_SEND_TOTAL)
AVG_MS_FN(batch_avg_ms, LC_TM_BATCH_NS, LC_TM_BATCHES)
COUNTER_FN(partitions, LC_TM_PARTITIONS)
COUNTER_FN(commit_ok, LC_TM_COMMIT_OK)
COUNTER_FN(commit_skip, LC_TM_COMMIT_SKIP)
COUNTER_FN(failures, LC_TM_FAILURES)
COUNTER_FN(errors, LC_TM_ERRORS)
COUNTER_FN(skipped, LC_TM_SKIPPED)
COUNTER_FN(retries, LC_TM_RETRIES)
COUNTER_FN(logged, LC_TM_LOGGED)
COUNTER_FN(dlq_requests, LC_TM_DLQ_REQUESTS)
COUNTER_FN(dlq_failures, LC_TM_DLQ_FAILURES)
COUNTER_FN(last_error, LC_TM_LAST_ERROR_MS)
COUNTER_FN(dropped, LC_TM_DROPPED)
COUNTER_FN(reloads, LC_TM_RELOADS)
COUNTER_FN(reload_failures, LC_TM_RELOAD_FAILURES)
COUNTER_FN(batch_max, LC_TM_BATCH_MAX)
COUNTER_FN(lag_max, LC_TM_LAG_MAX)
COUNTER_FN(lua_bytes, LC_TM_LUA_BYTES)
COUNTER_FN(active_max, LC_TM_ACTIVE_MAX)
RATE_FN(commit_ok_rate, LC_TM_COMMIT_OK)
RATE_FN(commit_skip_rate, LC_TM_COMMIT_SKIP)

static double active_avg(const page_t *p, const task_snap_t *t)
{
    (void)p;
    return t->v[LC_TM_ACTIVE_SAMPLES]
               ? (double)t->v[LC_TM_ACTIVE_SUM] / (double)t->v[LC_TM_ACTIVE_SAMPLES]
               : 0;
}
/* Connect numbers every commit attempt, those with nothing new included. */
static double commit_seq_no(const page_t *p, const task_snap_t *t)
{
    (void)p;
    return (double)(t->v[LC_TM_COMMIT_OK] + t->v[LC_TM_COMMIT_FAIL] + t->v[LC_TM_COMMIT_SKIP]);
}

static double active(const page_t *p, const task_snap_t *t)
{
    (void)p;
    int64_t a = t->is_source ? (int64_t)t->v[LC_TM_ACTIVE]
                             : (int64_t)(t->v[LC_TM_READ_TOTAL] - t->v[LC_TM_READ_COMMITTED]);
    return a > 0 ? (double)a : 0;
}
static double batch_max_ms(const page_t *p, const task_snap_t *t)
{
    (void)p;
    return (double)t->v[LC_TM_BATCH_MAX_NS] / 1e6;
}
static double batch_size_avg(const page_t *p, const task_snap_t *t)
{
    (void)p;
    return t->v[LC_TM_BATCHES] ? (double)t->v[LC_TM_BATCH_RECORDS] / (double)t->v[LC_TM_BATCHES]
                               : 0;
}
static double commit_avg_ms(const page_t *p, const task_snap_t *t)
{
    (void)p;
    uint64_t n = t->v[LC_TM_COMMIT_OK] + t->v[LC_TM_COMMIT_FAIL];
    return n ? (double)t->v[LC_TM_COMMIT_NS] / (double)n / 1e6 : 0;
}
static double commit_max_ms(const page_t *p, const task_snap_t *t)
{
    (void)p;
    return (double)t->v[LC_TM_COMMIT_MAX_NS] / 1e6;
}
static double commit_success_pct(const page_t *p, const task_snap_t *t)
{
    (void)p;
    uint64_t n = t->v[LC_TM_COMMIT_OK] + t->v[LC_TM_COMMIT_FAIL];
    return n ? (double)t->v[LC_TM_COMMIT_OK] / (double)n : 0;
}
static double commit_failure_pct(const page_t *p, const task_snap_t *t)
{
    (void)p;
    uint64_t n = t->v[LC_TM_COMMIT_OK] + t->v[LC_TM_COMMIT_FAIL];
    return n ? (double)t->v[LC_TM_COMMIT_FAIL] / (double)n : 0;
}
static double running_ratio(const page_t *p, const task_snap_t *t)
{
    return ratio_of(p, t, LC_TM_RUNNING_MS, LC_TM_RUNNING_SINCE);
}
static double pause_ratio(const page_t *p, const task_snap_t *t)
{
    return ratio_of(p, t, LC_TM_PAUSED_MS, LC_TM_PAUSED_SINCE);
}

typedef struct task_metric {
    const char *name; /* full metric name */
    const char *type;
    int which; /* ANY_TASK, SOURCE_TASK, SINK_TASK */
    task_fn fn;
    const char *help;
} task_metric_t;

#define CT "kafka_connect_connector_task_"
#define SO "kafka_connect_source_task_"
#define SI "kafka_connect_sink_task_"
#define TE "kafka_connect_task_error_"

static const task_metric_t task_metrics[] = {
    {CT "running_ratio", "gauge", ANY_TASK, running_ratio,
     "The fraction of time this task has spent in the running state."},
    {CT "pause_ratio", "gauge", ANY_TASK, pause_ratio,
     "The fraction of time this task has spent in the pause state."},
    {CT "offset_commit_avg_time_ms", "gauge", ANY_TASK, commit_avg_ms,
     "The average time in milliseconds taken by this task to commit offsets."},
    {CT "offset_commit_max_time_ms", "gauge", ANY_TASK, commit_max_ms,
     "The maximum time in milliseconds taken by this task to commit offsets."},
    {CT "offset_commit_success_percentage", "gauge", ANY_TASK, commit_success_pct,
     "The average percentage of this task's offset commit attempts that succeeded."},
    {CT "offset_commit_failure_percentage", "gauge", ANY_TASK, commit_failure_pct,
     "The average percentage of this task's offset commit attempts that failed."},
    {CT "batch_size_avg", "gauge", ANY_TASK, batch_size_avg,
     "The average number of records in the batches the task has processed so far."},
    {CT "batch_size_max", "gauge", ANY_TASK, batch_max,
     "The number of records in the largest batch the task has processed so far."},
    {SO "source_record_poll_total", "counter", SOURCE_TASK, poll_total,
     "The number of records produced/polled (before transformation) by this task."},
    {SO "source_record_poll_rate", "gauge", SOURCE_TASK, poll_rate,
     "The average per-second number of records produced/polled (before transformation) by this "
     "task, since it started."},
    {SO "source_record_write_total", "counter", SOURCE_TASK, write_total,
     "The number of records output from the transformations and written to Kafka for this "
     "task."},
    {SO "source_record_write_rate", "gauge", SOURCE_TASK, write_rate,
     "The average per-second number of records written to Kafka for this task, since it "
     "started."},
    {SO "poll_batch_avg_time_ms", "gauge", SOURCE_TASK, batch_avg_ms,
     "The average time in milliseconds taken by this task to poll for a batch of source records."},
    {SO "poll_batch_max_time_ms", "gauge", SOURCE_TASK, batch_max_ms,
     "The maximum time in milliseconds taken by this task to poll for a batch of source records."},
    {SO "source_record_active_count", "gauge", SOURCE_TASK, active,
     "The number of records that have been produced by this task but not yet completely "
     "written to Kafka."},
    {SO "source_record_active_count_max", "gauge", SOURCE_TASK, active_max,
     "The maximum number of records that have been produced by this task but not yet "
     "completely written to Kafka (sampled at the end of each batch sent)."},
    {SO "source_record_active_count_avg", "gauge", SOURCE_TASK, active_avg,
     "The average number of records that have been produced by this task but not yet "
     "completely written to Kafka (sampled at the end of each batch sent)."},
    {SI "sink_record_read_total", "counter", SINK_TASK, read_total,
     "The number of records read from Kafka by this task."},
    {SI "sink_record_read_rate", "gauge", SINK_TASK, read_rate,
     "The average per-second number of records read from Kafka for this task, since it "
     "started."},
    {SI "sink_record_send_total", "counter", SINK_TASK, send_total,
     "The number of records output from the transformations and sent/put to this task."},
    {SI "sink_record_send_rate", "gauge", SINK_TASK, send_rate,
     "The average per-second number of records sent/put to this task, since it started."},
    {SI "put_batch_avg_time_ms", "gauge", SINK_TASK, batch_avg_ms,
     "The average time taken by this task to put a batch of sinks records."},
    {SI "put_batch_max_time_ms", "gauge", SINK_TASK, batch_max_ms,
     "The maximum time taken by this task to put a batch of sinks records."},
    {SI "partition_count", "gauge", SINK_TASK, partitions,
     "The number of topic partitions assigned to this task."},
    {SI "sink_record_lag_max", "gauge", SINK_TASK, lag_max,
     "The maximum lag in terms of number of records that the sink task is behind the consumer's "
     "position for any topic partitions (at the last offset commit)."},
    {SI "offset_commit_completion_total", "counter", SINK_TASK, commit_ok,
     "The number of offset commit completions that were completed successfully."},
    {SI "sink_record_active_count", "gauge", SINK_TASK, active,
     "The number of records that have been read from Kafka but not yet completely "
     "committed/flushed/acknowledged by the sink task."},
    {SI "sink_record_active_count_max", "gauge", SINK_TASK, active_max,
     "The maximum number of records that have been read from Kafka but not yet completely "
     "committed/flushed/acknowledged by the sink task (sampled at the end of each batch)."},
    {SI "sink_record_active_count_avg", "gauge", SINK_TASK, active_avg,
     "The average number of records that have been read from Kafka but not yet completely "
     "committed/flushed/acknowledged by the sink task (sampled at the end of each batch)."},
    {SI "offset_commit_completion_rate", "gauge", SINK_TASK, commit_ok_rate,
     "The average per-second number of offset commit completions that were completed "
     "successfully, since the task started."},
    {SI "offset_commit_skip_rate", "gauge", SINK_TASK, commit_skip_rate,
     "The average per-second number of offset commit points skipped (nothing new), since the "
     "task started."},
    {SI "offset_commit_seq_no", "gauge", SINK_TASK, commit_seq_no,
     "The current sequence number for offset commits."},
    {SI "offset_commit_skip_total", "counter", SINK_TASK, commit_skip,
     "The number of offset commit completions that were received too late and skipped/ignored."},
    {TE "total_record_failures", "gauge", ANY_TASK, failures,
     "The number of record processing failures in this task."},
    {TE "total_record_errors", "gauge", ANY_TASK, errors,
     "The number of record processing errors in this task."},
    {TE "total_records_skipped", "gauge", ANY_TASK, skipped,
     "The number of records skipped due to errors."},
    {TE "total_retries", "gauge", ANY_TASK, retries, "The number of operations retried."},
    {TE "total_errors_logged", "gauge", ANY_TASK, logged, "The number of errors that were logged."},
    {TE "deadletterqueue_produce_requests", "gauge", ANY_TASK, dlq_requests,
     "The number of attempted writes to the dead letter queue."},
    {TE "deadletterqueue_produce_failures", "gauge", ANY_TASK, dlq_failures,
     "The number of failed writes to the dead letter queue."},
    {TE "last_error_timestamp", "gauge", ANY_TASK, last_error,
     "The epoch timestamp when this task last encountered an error, in milliseconds."},
    {"luaconnect_transform_records_dropped_total", "counter", ANY_TASK, dropped,
     "Records a transform or predicate of the chain dropped (luaconnect)."},
    {"luaconnect_task_lua_memory_bytes", "gauge", ANY_TASK, lua_bytes,
     "Memory of the task's Lua state at its last offset commit, bytes (luaconnect)."},
    {"luaconnect_task_reloads_total", "counter", ANY_TASK, reloads,
     "Hot reloads this task took (luaconnect)."},
    {"luaconnect_task_reload_failures_total", "counter", ANY_TASK, reload_failures,
     "Hot reloads that failed this task (luaconnect)."},
};

static void task_labels(page_t *p, const char *name, const task_snap_t *t)
{
    put(&p->b, "%s{", name);
    put_label(&p->b, "connector", t->connector);
    put(&p->b, ",task=\"%d\"", t->id);
}

/* luaconnect_transform_dropped_total: records each transform of a task's chain dropped. */
static void render_drops(page_t *p)
{
    int header = 0;
    for (int i = 0; i < p->ntasks; i++) {
        const task_snap_t *t = &p->tasks[i];
        for (int j = 0; j < t->ndrops; j++) {
            if (!header)
                family(p, "luaconnect_transform_dropped_total", "counter",
                       "Records the transform dropped (returned nil), since the task opened its "
                       "chain or last reloaded it (luaconnect).");
            header = 1;
            task_labels(p, "luaconnect_transform_dropped_total", t);
            put(&p->b, ",");
            put_label(&p->b, "transform", t->drops[j].alias);
            value(p, (double)t->drops[j].dropped);
        }
    }
}

/* Per transform of each task's chain, from the SDK's sampled clock (one record in 256): the
 * records timed, their time, and its mean. */
static void render_transform_times(page_t *p)
{
    static const char *const names[] = {"luaconnect_transform_sampled_records_total",
                                        "luaconnect_transform_sampled_time_seconds_total",
                                        "luaconnect_transform_avg_time_ms"};
    static const char *const helps[] = {
        "Records the transform was timed on (one in 256 of those the chain ran), since the task "
        "opened its chain or last reloaded it (luaconnect).",
        "Time the transform (with its predicate) took on the records it was timed on, seconds "
        "(luaconnect).",
        "The average time in milliseconds the transform (with its predicate) took per record, "
        "over the records it was timed on (luaconnect)."};
    for (int k = 0; k < 3; k++) {
        int header = 0;
        for (int i = 0; i < p->ntasks; i++) {
            const task_snap_t *t = &p->tasks[i];
            for (int j = 0; j < t->ndrops; j++) {
                const lc_transform_dropped_t *d = &t->drops[j];
                if (!header) family(p, names[k], k == 2 ? "gauge" : "counter", helps[k]);
                header = 1;
                task_labels(p, names[k], t);
                put(&p->b, ",");
                put_label(&p->b, "transform", d->alias);
                value(p, k == 0     ? (double)d->timed
                         : k == 1   ? (double)d->timed_ns / 1e9
                         : d->timed ? (double)d->timed_ns / (double)d->timed / 1e6
                                    : 0);
            }
        }
    }
}

/* luaconnect_consumer_lag: a sink task's lag per partition at its last offset commit. */
static void render_lags(page_t *p)
{
    int header = 0;
    for (int i = 0; i < p->ntasks; i++) {
        const task_snap_t *t = &p->tasks[i];
        for (int j = 0; j < t->nlags; j++) {
            if (!header)
                family(p, "luaconnect_consumer_lag", "gauge",
                       "Records in the partition after the sink task's position, at its last "
                       "offset commit (luaconnect).");
            header = 1;
            task_labels(p, "luaconnect_consumer_lag", t);
            put(&p->b, ",");
            put_label(&p->b, "topic", t->lags[j].topic);
            put(&p->b, ",partition=\"%d\"", (int)t->lags[j].partition);
            value(p, (double)t->lags[j].lag);
        }
    }
}

/* Every per-task metric of the tasks in the snapshot. */
static void render_tasks(page_t *p)
{
    for (size_t k = 0; k < sizeof(task_metrics) / sizeof(*task_metrics); k++) {
        const task_metric_t *m = &task_metrics[k];
        int header = 0;
        for (int i = 0; i < p->ntasks; i++) {
            const task_snap_t *t = &p->tasks[i];
            if ((m->which == SOURCE_TASK && !t->is_source) ||
                (m->which == SINK_TASK && t->is_source))
                continue;
            if (!header) family(p, m->name, m->type, m->help);
            header = 1;
            task_labels(p, m->name, t);
            value(p, m->fn(p, t));
        }
    }
}

static const char *lower(char *dst, size_t size, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < size; i++)
        dst[i] = (char)tolower((unsigned char)s[i]);
    dst[i] = 0;
    return dst;
}

/* 1 when connector.class value cls names plugin class pc: the class, or Kafka Connect's
 * aliases (its simple name, with or without the "Connector" suffix). */
static int same_plugin(const char *pc, const char *cls)
{
    if (!pc || !cls) return 0;
    if (strcmp(pc, cls) == 0) return 1;
    const char *simple = strrchr(pc, '.');
    simple = simple ? simple + 1 : pc;
    size_t n = strlen(cls);
    return strcmp(simple, cls) == 0 ||
           (strncmp(simple, cls, n) == 0 && strcmp(simple + n, "Connector") == 0);
}

/* Connector and task statuses of this worker, from the herder. */
static void render_statuses(page_t *p, lc_herder_t *h, json_t *names, json_t *statuses,
                            json_t *infos)
{
    const char *me = h->ops->worker_id(h);
    char low[64];
    static const char *const kinds[] = {"status", "connector_type", "connector_class",
                                        "connector_version"};
    static const char *const helps[] = {
        "The status of the connector.", "The type of the connector: source or sink.",
        "The name of the connector class.", "The version of the connector class."};
    json_t *plugins = NULL;
    for (int k = 0; k < 4; k++) {
        char name[128];
        snprintf(name, sizeof(name), "kafka_connect_connector_%s", kinds[k]);
        int header = 0;
        for (size_t i = 0; i < json_array_size(names); i++) {
            json_t *st = json_array_get(statuses, i), *info = json_array_get(infos, i);
            const char *worker =
                json_string_value(json_object_get(json_object_get(st, "connector"), "worker_id"));
            if (!st || (worker && me && strcmp(worker, me) != 0)) continue;
            const char *val = NULL;
            const char *cls = json_string_value(
                json_object_get(json_object_get(info, "config"), "connector.class"));
            if (k == 0)
                val = lower(
                    low, sizeof(low),
                    json_string_value(json_object_get(json_object_get(st, "connector"), "state")));
            if (k == 1) val = json_string_value(json_object_get(st, "type"));
            if (k == 2) val = cls;
            if (k == 3) {
                /* The status names it (Connect 4.x); else the plugin list, built once per
                 * page only then: listing the plugins costs ~10 ms of CPU. */
                val =
                    json_string_value(json_object_get(json_object_get(st, "connector"), "version"));
                if (!val && !plugins) plugins = h->ops->plugins(h, 1);
                size_t j;
                json_t *pl;
                json_array_foreach(val ? NULL : plugins, j, pl)
                {
                    if (same_plugin(json_string_value(json_object_get(pl, "class")), cls))
                        val = json_string_value(json_object_get(pl, "version"));
                }
            }
            if (!val) continue;
            if (!header) family(p, name, "gauge", helps[k]);
            header = 1;
            put(&p->b, "%s{", name);
            put_label(&p->b, "connector", json_string_value(json_array_get(names, i)));
            put(&p->b, ",");
            put_label(&p->b, kinds[k], val);
            value(p, 1);
        }
    }
    json_decref(plugins);

    /* luaconnect_connector_reloads_total / _reload_failures_total: hot reloads of each
     * connector, including those refused before any task saw them. */
    for (int k = 0; k < 2; k++) {
        const char *name =
            k ? "luaconnect_connector_reload_failures_total" : "luaconnect_connector_reloads_total";
        family(p, name, "counter",
               k ? "Hot reloads of the connector that failed (the old code stays) (luaconnect)."
                 : "Hot reloads of the connector that succeeded (luaconnect).");
        for (size_t i = 0; i < json_array_size(names); i++) {
            uint64_t ok, failed;
            const char *cname = json_string_value(json_array_get(names, i));
            lc_task_metrics_connector_reloads(cname, &ok, &failed);
            put(&p->b, "%s{", name);
            put_label(&p->b, "connector", cname);
            value(p, (double)(k ? failed : ok));
        }
    }

    int header = 0;
    for (size_t i = 0; i < json_array_size(names); i++) {
        json_t *st = json_array_get(statuses, i), *task;
        size_t j;
        json_array_foreach(json_object_get(st, "tasks"), j, task)
        {
            const char *worker = json_string_value(json_object_get(task, "worker_id"));
            if (worker && me && strcmp(worker, me) != 0) continue;
            if (!header)
                family(p, "kafka_connect_connector_task_status", "gauge",
                       "The status of the connector task.");
            header = 1;
            put(&p->b, "kafka_connect_connector_task_status{");
            put_label(&p->b, "connector", json_string_value(json_array_get(names, i)));
            put(&p->b, ",task=\"%lld\",",
                (long long)json_integer_value(json_object_get(task, "id")));
            put_label(&p->b, "status",
                      lower(low, sizeof(low), json_string_value(json_object_get(task, "state"))));
            value(p, 1);
        }
    }
}

/* kafka_connect_worker_*: this worker's connector and task counts. */
/* kafka_connect_worker_connector_<state>_task_count{connector}: the connector's tasks on this
 * worker by state (connect-worker-metrics,connector=*). */
static void render_connector_task_counts(page_t *p, lc_herder_t *h, json_t *names, json_t *statuses)
{
    static const char *const states[] = {"total",      "running",    "paused",   "failed",
                                         "unassigned", "restarting", "destroyed"};
    const char *me = h->ops->worker_id(h);
    for (int k = 0; k < 7; k++) {
        char name[128], help[160];
        snprintf(name, sizeof(name), "kafka_connect_worker_connector_%s_task_count", states[k]);
        snprintf(help, sizeof(help), "The number of %s%stasks of the connector on the worker.",
                 k ? states[k] : "", k ? " " : "");
        int header = 0;
        for (size_t i = 0; i < json_array_size(names); i++) {
            json_t *st = json_array_get(statuses, i), *task;
            const char *w =
                json_string_value(json_object_get(json_object_get(st, "connector"), "worker_id"));
            int here = st && (!w || !me || strcmp(w, me) == 0);
            long n = 0;
            size_t j;
            char low[64];
            json_array_foreach(json_object_get(st, "tasks"), j, task)
            {
                w = json_string_value(json_object_get(task, "worker_id"));
                if (w && me && strcmp(w, me) != 0) continue;
                here = 1;
                const char *ts = json_string_value(json_object_get(task, "state"));
                if (k == 0 || strcmp(lower(low, sizeof(low), ts), states[k]) == 0) n++;
            }
            if (!here) continue;
            if (!header) family(p, name, "gauge", help);
            header = 1;
            put(&p->b, "%s{", name);
            put_label(&p->b, "connector", json_string_value(json_array_get(names, i)));
            value(p, (double)n);
        }
    }
}

static void render_worker(page_t *p, lc_herder_t *h, json_t *names, json_t *statuses)
{
    const char *me = h->ops->worker_id(h);
    long connectors = 0, tasks = 0;
    for (size_t i = 0; i < json_array_size(names); i++) {
        json_t *st = json_array_get(statuses, i), *task;
        const char *w =
            json_string_value(json_object_get(json_object_get(st, "connector"), "worker_id"));
        if (st && (!w || !me || strcmp(w, me) == 0)) connectors++;
        size_t j;
        json_array_foreach(json_object_get(st, "tasks"), j, task)
        {
            w = json_string_value(json_object_get(task, "worker_id"));
            if (!w || !me || strcmp(w, me) == 0) tasks++;
        }
    }
    family(p, "kafka_connect_worker_connector_count", "gauge",
           "The number of connectors run in this worker.");
    put(&p->b, "kafka_connect_worker_connector_count %ld\n", connectors);
    family(p, "kafka_connect_worker_task_count", "gauge",
           "The number of tasks run in this worker.");
    put(&p->b, "kafka_connect_worker_task_count %ld\n", tasks);

    lc_worker_counters_t w = lc_task_metrics_worker();
    /* connector-startup-* then task-startup-*: the same five attributes each. */
    for (int k = 0; k < 2; k++) {
        const char *what = k ? "task" : "connector";
        uint64_t att = k ? w.task_startup_attempts : w.connector_startup_attempts;
        uint64_t ok = k ? w.task_startup_success : w.connector_startup_success;
        uint64_t bad = k ? w.task_startup_failure : w.connector_startup_failure;
        double done = (double)(ok + bad);
        char name[96], help[128];
        snprintf(name, sizeof(name), "kafka_connect_worker_%s_startup_attempts_total", what);
        snprintf(help, sizeof(help),
                 "The total number of %s startups that this worker has attempted.", what);
        family(p, name, "counter", help);
        put(&p->b, "%s %llu\n", name, (unsigned long long)att);
        snprintf(name, sizeof(name), "kafka_connect_worker_%s_startup_success_total", what);
        snprintf(help, sizeof(help), "The total number of %s starts that succeeded.", what);
        family(p, name, "counter", help);
        put(&p->b, "%s %llu\n", name, (unsigned long long)ok);
        snprintf(name, sizeof(name), "kafka_connect_worker_%s_startup_failure_total", what);
        snprintf(help, sizeof(help), "The total number of %s starts that failed.", what);
        family(p, name, "counter", help);
        put(&p->b, "%s %llu\n", name, (unsigned long long)bad);
        snprintf(name, sizeof(name), "kafka_connect_worker_%s_startup_success_percentage", what);
        snprintf(help, sizeof(help),
                 "The average percentage of this worker's %ss starts that succeeded.", what);
        family(p, name, "gauge", help);
        put(&p->b, "%s %.6g\n", name, done > 0 ? (double)ok / done : 0);
        snprintf(name, sizeof(name), "kafka_connect_worker_%s_startup_failure_percentage", what);
        snprintf(help, sizeof(help),
                 "The average percentage of this worker's %ss starts that failed.", what);
        family(p, name, "gauge", help);
        put(&p->b, "%s %.6g\n", name, done > 0 ? (double)bad / done : 0);
    }

    if (!h->ops->leader_url) return; /* worker-rebalance: distributed mode only */
    /* connect-coordinator-metrics: what the last assignment gave this worker. */
    family(p, "kafka_connect_coordinator_assigned_connectors", "gauge",
           "The number of connector instances currently assigned to this consumer.");
    put(&p->b, "kafka_connect_coordinator_assigned_connectors %ld\n", connectors);
    family(p, "kafka_connect_coordinator_assigned_tasks", "gauge",
           "The number of tasks currently assigned to this consumer.");
    put(&p->b, "kafka_connect_coordinator_assigned_tasks %ld\n", tasks);
    char leader[512];
    lc_task_metrics_leader(leader, sizeof(leader));
    /* String attributes as Strimzi's rule gives them: a label on a sample of 1. Connect's
     * protocol name: luaconnect's workers sign their internal requests with a session key
     * (KIP-507), what Connect calls SESSIONED. */
    family(p, "kafka_connect_worker_rebalance_connect_protocol", "gauge",
           "The Connect protocol used by this cluster.");
    put(&p->b,
        "kafka_connect_worker_rebalance_connect_protocol{connect_protocol=\"SESSIONED\"} 1\n");
    family(p, "kafka_connect_worker_rebalance_leader_name", "gauge",
           "The name of the group leader (its REST URL).");
    put(&p->b, "kafka_connect_worker_rebalance_leader_name{");
    put_label(&p->b, "leader_name", leader);
    value(p, 1);
    family(p, "kafka_connect_worker_rebalance_epoch", "gauge",
           "The epoch or generation number of this worker.");
    put(&p->b, "kafka_connect_worker_rebalance_epoch %lld\n", w.epoch);
    family(p, "kafka_connect_worker_rebalance_completed_rebalances_total", "counter",
           "The total number of rebalances completed by this worker.");
    put(&p->b, "kafka_connect_worker_rebalance_completed_rebalances_total %llu\n",
        (unsigned long long)w.completed_rebalances);
    family(p, "kafka_connect_worker_rebalance_rebalancing", "gauge",
           "Whether this worker is currently rebalancing.");
    put(&p->b, "kafka_connect_worker_rebalance_rebalancing %d\n", w.rebalancing ? 1 : 0);
    /* Over the process' life; NaN before the first (Connect: NaN with none in its window). */
    family(p, "kafka_connect_worker_rebalance_rebalance_max_time_ms", "gauge",
           "The maximum time in milliseconds spent by this worker to rebalance.");
    if (w.completed_rebalances)
        put(&p->b, "kafka_connect_worker_rebalance_rebalance_max_time_ms %lld\n",
            w.rebalance_ms_max);
    else
        put(&p->b, "kafka_connect_worker_rebalance_rebalance_max_time_ms NaN\n");
    family(p, "kafka_connect_worker_rebalance_rebalance_avg_time_ms", "gauge",
           "The average time in milliseconds spent by this worker to rebalance.");
    if (w.completed_rebalances)
        put(&p->b, "kafka_connect_worker_rebalance_rebalance_avg_time_ms %.6g\n",
            (double)w.rebalance_ms_sum / (double)w.completed_rebalances);
    else
        put(&p->b, "kafka_connect_worker_rebalance_rebalance_avg_time_ms NaN\n");
    family(p, "kafka_connect_worker_rebalance_time_since_last_rebalance_ms", "gauge",
           "The time in milliseconds since this worker completed the most recent rebalance.");
    if (w.last_rebalance_ms)
        put(&p->b, "kafka_connect_worker_rebalance_time_since_last_rebalance_ms %lld\n",
            p->now_ms - w.last_rebalance_ms);
    else
        put(&p->b, "kafka_connect_worker_rebalance_time_since_last_rebalance_ms +Inf\n");
}

int lc_metrics_wants_openmetrics(const char *accept)
{
    return accept && strcasestr(accept, "application/openmetrics-text") != NULL;
}

char *lc_metrics_render(lc_herder_t *h, int openmetrics)
{
    page_t p = {.om = openmetrics, .now_ms = lc_wall_ms()};
    json_t *names = h->ops->connector_names(h), *statuses = json_array(), *infos = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        json_t *st = h->ops->connector_status(h, json_string_value(n));
        json_t *info = h->ops->connector_info(h, json_string_value(n));
        json_array_append_new(statuses, st ? st : json_null());
        json_array_append_new(infos, info ? info : json_null());
    }
    lc_task_metrics_foreach(snap_one, &p);
    if (p.ntasks > 1) qsort(p.tasks, (size_t)p.ntasks, sizeof(*p.tasks), cmp_snap);

    render_worker(&p, h, names, statuses);
    render_statuses(&p, h, names, statuses, infos);
    render_connector_task_counts(&p, h, names, statuses);
    render_tasks(&p);
    render_lags(&p);
    render_drops(&p);
    render_transform_times(&p);
    if (p.om) put(&p.b, "# EOF\n");

    for (int k = 0; k < p.ntasks; k++) {
        free(p.tasks[k].connector);
        free(p.tasks[k].lags);
        free(p.tasks[k].drops);
    }
    free(p.tasks);
    json_decref(names);
    json_decref(statuses);
    json_decref(infos);
    if (p.b.oom) {
        free(p.b.s);
        return NULL;
    }
    if (!p.b.s) return strdup("");
    return p.b.s;
}

char *lc_metrics_page(lc_herder_t *h, const char *accept, const char **content_type)
{
    int om = lc_metrics_wants_openmetrics(accept);
    *content_type = om ? LC_METRICS_OPENMETRICS_TYPE : LC_METRICS_PROMETHEUS_TYPE;
    return lc_metrics_render(h, om);
}
