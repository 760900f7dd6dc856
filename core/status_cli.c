/* status_cli: see status_cli.h. */
#include "status_cli.h"
#include "http_client.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WIDTH 80

/* Per connector and task: the counters the view shows, from one /metrics sample. */
typedef struct sample {
    char connector[256];
    int task;
    double records; /* source_record_write_total or sink_record_send_total */
    double errors;  /* total_record_failures */
} sample_t;

typedef struct samples {
    sample_t *v;
    int n, cap;
    int ok; /* the worker answered /metrics */
} samples_t;

static sample_t *sample_of(samples_t *s, const char *connector, int task)
{
    for (int i = 0; i < s->n; i++)
        if (s->v[i].task == task && strcmp(s->v[i].connector, connector) == 0) return &s->v[i];
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        sample_t *v = realloc(s->v, (size_t)cap * sizeof(*v));
        if (!v) return NULL;
        s->v = v;
        s->cap = cap;
    }
    sample_t *e = &s->v[s->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->connector, sizeof(e->connector), "%s", connector);
    e->task = task;
    return e;
}

/* The value of label name in a sample line's label set, unescaped into out. */
static int label(const char *labels, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = labels; p && *p;) {
        if (strncmp(p, name, n) == 0 && p[n] == '=' && p[n + 1] == '"') {
            size_t len = 0;
            for (p += n + 2; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1]) p++;
                if (len + 1 < size) out[len++] = *p == 'n' && p[-1] == '\\' ? '\n' : *p;
            }
            out[len] = 0;
            return 0;
        }
        /* next label: skip the quoted value */
        const char *q = strchr(p, '"');
        if (!q) break;
        for (q++; *q && *q != '"'; q++)
            if (*q == '\\' && q[1]) q++;
        p = *q ? q + 1 : q;
        if (*p == ',') p++;
    }
    return -1;
}

/* Reads the counters of every task from a Prometheus text page. */
static void parse_metrics(samples_t *s, char *text)
{
    static const char *const records[] = {"kafka_connect_source_task_source_record_write_total",
                                          "kafka_connect_sink_task_sink_record_send_total"};
    static const char *const errors = "kafka_connect_task_error_total_record_failures";
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        char *brace = strchr(line, '{'), *end = brace ? strrchr(line, '}') : NULL;
        if (!brace || !end) continue;
        size_t nlen = (size_t)(brace - line);
        int kind = -1;
        if (strlen(errors) == nlen && strncmp(line, errors, nlen) == 0) kind = 2;
        for (int k = 0; k < 2; k++)
            if (strlen(records[k]) == nlen && strncmp(line, records[k], nlen) == 0) kind = k;
        if (kind < 0) continue;
        char connector[256], task[32];
        *end = 0;
        if (label(brace + 1, "connector", connector, sizeof(connector)) != 0 ||
            label(brace + 1, "task", task, sizeof(task)) != 0)
            continue;
        sample_t *e = sample_of(s, connector, atoi(task));
        if (!e) continue;
        double v = strtod(end + 1, NULL);
        if (kind == 2)
            e->errors = v;
        else
            e->records = v;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void scrape(const char *url, samples_t *s, double *at)
{
    char u[2048], err[512], *body = NULL;
    snprintf(u, sizeof(u), "%s/metrics", url);
    *at = now_s();
    int code = lc_http_request("GET", u, NULL, NULL, 0, 10000, &body, err, sizeof(err));
    if (code == 200 && body) {
        s->ok = 1;
        parse_metrics(s, body);
    }
    free(body);
}

/* s cut to width characters ('~' marks a cut). */
static const char *fit(char *out, size_t size, const char *s, int width)
{
    if (!s) s = "";
    if ((int)strlen(s) <= width) {
        snprintf(out, size, "%s", s);
    } else {
        snprintf(out, size, "%.*s~", width - 1, s);
    }
    return out;
}

static void number(char *out, size_t size, int known, double v)
{
    if (!known)
        snprintf(out, size, "-");
    else if (v >= 1e9)
        snprintf(out, size, "%.1fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(out, size, "%.1fM", v / 1e6);
    else if (v == (double)(long long)v)
        snprintf(out, size, "%lld", (long long)v);
    else
        snprintf(out, size, "%.1f", v);
}

/* One task or connector row: totals and the rate between the two samples. */
static void rates(const samples_t *a, const samples_t *b, double dt, const char *connector,
                  int task, char *rate, char *total, char *errors, size_t size)
{
    int known = 0;
    double r = 0, t = 0, e = 0;
    for (int i = 0; i < b->n; i++) {
        const sample_t *y = &b->v[i];
        if (strcmp(y->connector, connector) != 0 || (task >= 0 && y->task != task)) continue;
        known = 1;
        t += y->records;
        e += y->errors;
        for (int j = 0; j < a->n; j++)
            if (a->v[j].task == y->task && strcmp(a->v[j].connector, connector) == 0)
                r += (y->records - a->v[j].records) / (dt > 0 ? dt : 1);
    }
    number(rate, size, known, r < 0 ? 0 : r);
    number(total, size, known, t);
    number(errors, size, known, e);
}

/* The first line of a trace, indented, on at most two lines of the width ('~' marks a cut). */
static void print_trace(const char *trace)
{
    const int w = WIDTH - 4;
    char line[WIDTH * 4];
    snprintf(line, sizeof(line), "%s", trace);
    line[strcspn(line, "\n")] = 0;
    int len = (int)strlen(line);
    if (len <= w) {
        printf("    %s\n", line);
    } else if (len <= 2 * w) {
        printf("    %.*s\n    %s\n", w, line, line + w);
    } else {
        printf("    %.*s\n    %.*s~\n", w, line, w - 1, line + w);
    }
}

static void print_view(json_t *all, const samples_t *a, const samples_t *b, double dt)
{
    char name[64], rate[32], total[32], errors[32], w[64];
    printf("%-26s %-6s %-10s %5s %9s %10s %7s\n", "CONNECTOR", "TYPE", "STATE", "TASKS", "REC/S",
           "RECORDS", "ERRORS");
    const char *cname;
    json_t *c;
    void *iter = json_object_iter(all);
    /* connector names in order */
    json_t *names = json_array();
    for (; iter; iter = json_object_iter_next(all, iter))
        json_array_append_new(names, json_string(json_object_iter_key(iter)));
    size_t nn = json_array_size(names);
    const char **sorted = calloc(nn ? nn : 1, sizeof(char *));
    for (size_t i = 0; sorted && i < nn; i++)
        sorted[i] = json_string_value(json_array_get(names, i));
    for (size_t i = 1; sorted && i < nn; i++)
        for (size_t j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) > 0; j--) {
            const char *t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    for (size_t i = 0; sorted && i < nn; i++) {
        cname = sorted[i];
        c = json_object_get(all, cname);
        json_t *st = json_object_get(c, "status"), *tasks = json_object_get(st, "tasks"), *t;
        const char *type = json_string_value(json_object_get(st, "type"));
        const char *state =
            json_string_value(json_object_get(json_object_get(st, "connector"), "state"));
        int running = 0;
        size_t k;
        json_array_foreach(tasks, k, t)
        {
            const char *ts = json_string_value(json_object_get(t, "state"));
            running += ts && strcmp(ts, "RUNNING") == 0;
        }
        char tcount[16];
        snprintf(tcount, sizeof(tcount), "%d/%zu", running, json_array_size(tasks));
        rates(a, b, dt, cname, -1, rate, total, errors, sizeof(rate));
        printf("%-26s %-6s %-10s %5s %9s %10s %7s\n", fit(name, sizeof(name), cname, 26),
               type ? type : "?", state ? state : "?", tcount, b->ok ? rate : "-",
               b->ok ? total : "-", b->ok ? errors : "-");
        const char *ctrace =
            json_string_value(json_object_get(json_object_get(st, "connector"), "trace"));
        if (ctrace) print_trace(ctrace);
        json_array_foreach(tasks, k, t)
        {
            int id = (int)json_integer_value(json_object_get(t, "id"));
            char label[24];
            snprintf(label, sizeof(label), "  task %d", id);
            rates(a, b, dt, cname, id, rate, total, errors, sizeof(rate));
            printf("%-13s %-19s %-10s %5s %9s %10s %7s\n", label,
                   fit(w, sizeof(w), json_string_value(json_object_get(t, "worker_id")), 19),
                   json_string_value(json_object_get(t, "state")), "", b->ok ? rate : "-",
                   b->ok ? total : "-", b->ok ? errors : "-");
            const char *trace = json_string_value(json_object_get(t, "trace"));
            if (trace) print_trace(trace);
        }
    }
    if (nn == 0) printf("(no connectors)\n");
    free(sorted);
    json_decref(names);
}

int lc_status_cli_main(int argc, char **argv)
{
    const char *url = "http://localhost:8083";
    double interval = 1.0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
            url = argv[++i];
        } else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
            char *end;
            interval = strtod(argv[++i], &end);
            if (*end || interval < 0 || interval > 3600) {
                fprintf(stderr, "luaconnect status: --interval '%s': seconds from 0 to 3600\n",
                        argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: luaconnect status [--url URL] [--interval SECONDS]\n"
                            "  URL: a worker's REST API (default http://localhost:8083; "
                            "http://user:password@host:port with basic auth)\n");
            return 2;
        }
    }
    char u[2048], err[1024], *body = NULL;
    size_t ul = strlen(url);
    while (ul > 0 && url[ul - 1] == '/')
        ul--;
    char base[1024];
    snprintf(base, sizeof(base), "%.*s", (int)ul, url);
    snprintf(u, sizeof(u), "%s/connectors?expand=status&expand=info", base);
    int code = lc_http_request("GET", u, NULL, NULL, 0, 10000, &body, err, sizeof(err));
    if (code < 0) {
        fprintf(stderr, "luaconnect status: %s\n", err);
        return 1;
    }
    json_error_t je;
    json_t *all = json_loads(body ? body : "", 0, &je);
    if (code != 200 || !json_is_object(all)) {
        json_t *msg = json_object_get(all, "message");
        fprintf(stderr, "luaconnect status: GET %s answered %d%s%s\n", u, code,
                json_is_string(msg) ? ": " : "", json_is_string(msg) ? json_string_value(msg) : "");
        json_decref(all);
        free(body);
        return 1;
    }
    free(body);
    samples_t a = {0}, b = {0};
    double ta, tb;
    scrape(base, &a, &ta);
    if (a.ok && interval > 0) {
        struct timespec ts = {(time_t)interval,
                              (long)((interval - (double)(time_t)interval) * 1e9)};
        nanosleep(&ts, NULL);
    }
    scrape(base, &b, &tb);
    print_view(all, &a, &b, tb - ta);
    if (!b.ok) printf("(no /metrics on this worker: rates and totals unknown)\n");
    free(a.v);
    free(b.v);
    json_decref(all);
    return 0;
}
