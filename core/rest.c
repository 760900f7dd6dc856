/* rest: see rest.h. Routing is a table of path shapes; every answer is JSON, errors are
 * {"error_code": N, "message": "..."} as in Kafka Connect. */
#include "rest.h"
#include "props_json.h"
#include "console.h"
#include "forward.h"
#include "connector_json.h"
#include "rest_auth.h"
#include "rest_cors.h"
#include "rest_tls.h"
#include "config.h"
#include "lc_build.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LISTENERS 4
#define MAX_SEGS 8

struct lc_rest {
    lc_herder_t *h;
    char id[300]; /* host:port of the first listener */
    struct MHD_Daemon *d[MAX_LISTENERS];
    int n;
    lc_props_t *users; /* user -> password; NULL: no authentication */
    char *tls_pem;
    char *tls_pass;
    lc_cors_t *cors; /* NULL: CORS off */
};

typedef struct req {
    char *body;
    size_t len, cap;
    int too_big;
} req_t;

/* One request as the handlers see it: from an HTTP connection (handle()) or given as
 * strings (lc_rest_handle(), used by the fuzzer), and the answer they fill in. */
typedef struct ctx {
    lc_herder_t *h;
    struct MHD_Connection *conn; /* NULL: query and content_type below */
    const char *query;           /* "a=b&c=d", values as given */
    const char *content_type;
    const char *method;
    const char *body;
    size_t len;
    char *seg[MAX_SEGS];
    int nseg;
    int code;            /* the answer: status, */
    char *text;          /* JSON body or NULL (malloc'd), */
    char location[1024]; /* Location header or "" */
    char qvalue[1024];   /* query_value's answer */
    const char *ctype;   /* Content-Type of text when not JSON (GET /metrics) */
} ctx_t;

/* Sets the answer (takes body). */
static enum MHD_Result send_json(ctx_t *c, int code, json_t *body)
{
    free(c->text);
    c->text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(body);
    c->code = code;
    return MHD_YES;
}

static enum MHD_Result send_error(ctx_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum MHD_Result send_error(ctx_t *c, int code, const char *fmt, ...)
{
    char msg[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *body = json_pack("{s:i,s:s}", "error_code", code, "message", msg);
    if (!body) { /* not UTF-8 (a name from the URL, say): JSON strings must be */
        for (unsigned char *p = (unsigned char *)msg; *p; p++)
            if (*p >= 0x80) *p = '?';
        body = json_pack("{s:i,s:s}", "error_code", code, "message", msg);
    }
    return send_json(c, code, body);
}

struct query_find {
    const char *key;
    char *out;
    size_t outsz;
    int found;
};

static enum MHD_Result query_find(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct query_find *f = cls;
    (void)kind;
    if (f->found || !key || strcmp(key, f->key) != 0) return MHD_YES;
    snprintf(f->out, f->outsz, "%s", value ? value : "");
    f->found = 1;
    return MHD_NO;
}

/* Calls fn for every query argument, in order. */
static void query_each(ctx_t *c, MHD_KeyValueIterator fn, void *arg)
{
    if (c->conn) {
        MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, fn, arg);
        return;
    }
    char *q = strdup(c->query ? c->query : "");
    for (char *save = NULL, *tok = strtok_r(q, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        if (eq) *eq = 0;
        if (fn(arg, MHD_GET_ARGUMENT_KIND, tok, eq ? eq + 1 : NULL) != MHD_YES) break;
    }
    free(q);
}

/* The first value of query argument key, or NULL; valid until the next call. */
static const char *query_value(ctx_t *c, const char *key)
{
    struct query_find f = {key, c->qvalue, sizeof(c->qvalue), 0};
    query_each(c, query_find, &f);
    return f.found ? c->qvalue : NULL;
}

static enum MHD_Result not_allowed(ctx_t *c)
{
    return send_error(c, 405, "HTTP 405 Method Not Allowed");
}

static int is(const ctx_t *c, const char *method)
{
    return strcmp(c->method, method) == 0;
}

/* Parses the JSON body; on failure answers and returns NULL with *sent set. */
static json_t *body_json(ctx_t *c, enum MHD_Result *sent)
{
    const char *ct = c->conn ? MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND,
                                                           MHD_HTTP_HEADER_CONTENT_TYPE)
                             : c->content_type;
    if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        *sent = send_error(c, 415,
                           "HTTP 415 Unsupported Media Type: send the body as "
                           "Content-Type: application/json");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(c->body ? c->body : "", c->len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        *sent = send_error(c, 400,
                           "Cannot deserialize the request body: %s at line %d, column %d "
                           "(position %d)",
                           je.text, je.line, je.column, je.position);
    return j;
}

static int config_ok(json_t *config, char *err, size_t errsz)
{
    lc_props_t *p = lc_props_new();
    int ok = lc_props_from_json(config, p, 0, err, errsz) == 0;
    lc_props_destroy(p);
    return ok;
}

static lc_props_t *props_of(json_t *config)
{
    lc_props_t *p = lc_props_new();
    char err[256];
    lc_props_from_json(config, p, 0, err, sizeof(err));
    return p;
}

/* Kafka Connect's 400 for a config that does not validate. */
static enum MHD_Result invalid_config(ctx_t *c, int code, const char *errs)
{
    if (code != 400) return send_error(c, code, "%s", errs);
    int n = 1;
    for (const char *p = errs; *p; p++)
        n += *p == '\n';
    return send_error(c, 400,
                      "Connector configuration is invalid and contains the following %d "
                      "error(s):\n%s\nYou can also find the above list of errors at the endpoint "
                      "`/connector-plugins/{connectorType}/config/validate`",
                      n, errs);
}

static json_t *extras(ctx_t *c, json_t *o);

static enum MHD_Result put_config(ctx_t *c, const char *name, json_t *config, int mode, int target,
                                  int created_code)
{
    char errs[32768];
    lc_props_t *props = props_of(config);
    int code = c->h->ops->put_connector(c->h, name, props, mode, target, errs, sizeof(errs));
    lc_props_destroy(props);
    if (code == 200 || code == 201) {
        json_t *info = c->h->ops->connector_info(c->h, name);
        if (!info) /* deleted by another request since */
            return send_error(c, 404, "Connector %s not found", name);
        info = extras(c, info); /* Connect's shape, as GET /connectors/{c} */
        if (code == 201 && created_code == 201) {
            snprintf(c->location, sizeof(c->location), "/connectors/%s", name);
            return send_json(c, 201, info);
        }
        return send_json(c, code, info);
    }
    return invalid_config(c, code, errs);
}

/* --- /connectors ---------------------------------------------------------------------- */

struct expand {
    int status, info, scripts; /* scripts: ours too (scripts, reload_error, detached_from) */
};

static enum MHD_Result expand_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct expand *e = cls;
    (void)kind;
    if (key && value && strcmp(key, "expand") == 0) {
        e->status |= strcmp(value, "status") == 0;
        e->info |= strcmp(value, "info") == 0;
        e->scripts |= strcmp(value, "scripts") == 0;
    }
    return MHD_YES;
}

/* o in Connect's shape, unless the request asks for ours too (?expand=scripts). */
static json_t *extras(ctx_t *c, json_t *o)
{
    struct expand e = {0, 0, 0};
    query_each(c, expand_arg, &e);
    return e.scripts ? o : lc_connector_json_strip_extras(o);
}

static enum MHD_Result list_connectors(ctx_t *c)
{
    struct expand e = {0, 0, 0};
    query_each(c, expand_arg, &e);
    json_t *names = c->h->ops->connector_names(c->h);
    if (!e.status && !e.info) return send_json(c, 200, names);
    json_t *out = json_object();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        const char *name = json_string_value(n);
        json_t *o = json_object();
        json_t *st = e.status ? c->h->ops->connector_status(c->h, name) : NULL;
        json_t *in = e.info ? c->h->ops->connector_info(c->h, name) : NULL;
        if ((e.status && !st) || (e.info && !in)) { /* deleted meanwhile */
            json_decref(st);
            json_decref(in);
            json_decref(o);
            continue;
        }
        if (st)
            json_object_set_new(o, "status", e.scripts ? st : lc_connector_json_strip_extras(st));
        if (in) json_object_set_new(o, "info", e.scripts ? in : lc_connector_json_strip_extras(in));
        json_object_set_new(out, name, o);
    }
    json_decref(names);
    return send_json(c, 200, out);
}

static enum MHD_Result create_connector(ctx_t *c)
{
    enum MHD_Result sent;
    json_t *body = body_json(c, &sent);
    if (!body) return sent;
    enum MHD_Result rc;
    json_t *name = json_object_get(body, "name"), *config = json_object_get(body, "config");
    json_t *init = json_object_get(body, "initial_state");
    char err[512];
    int target = -1; /* none given: a new connector starts (no target-state record, as Connect) */
    if (!json_is_object(body)) {
        rc = send_error(c, 400,
                        "the request body must be a JSON object {\"name\": ..., "
                        "\"config\": {...}}");
    } else if (!json_is_string(name) || !*json_string_value(name)) {
        rc = send_error(c, 400,
                        "Connector name is required (\"name\" must be a non-empty "
                        "string)");
    } else if (!json_is_object(config)) {
        rc = send_error(c, 400,
                        "Connector config is required (\"config\" must be an "
                        "object of strings)");
    } else if (init && !json_is_null(init) &&
               (!json_is_string(init) || (strcmp(json_string_value(init), "RUNNING") != 0 &&
                                          strcmp(json_string_value(init), "PAUSED") != 0 &&
                                          strcmp(json_string_value(init), "STOPPED") != 0))) {
        rc = send_error(c, 400, "initial_state must be one of RUNNING, PAUSED, STOPPED");
    } else if (json_is_string(json_object_get(config, "name")) &&
               strcmp(json_string_value(json_object_get(config, "name")),
                      json_string_value(name)) != 0) {
        /* Kafka Connect's words, "URL" included, for POST too. */
        rc =
            send_error(c, 400,
                       "Connector name configuration (%s) doesn't match connector name in the "
                       "URL (%s)",
                       json_string_value(json_object_get(config, "name")), json_string_value(name));
    } else if (!config_ok(config, err, sizeof(err))) {
        rc = send_error(c, 400, "%s", err);
    } else {
        if (json_is_string(init))
            target = strcmp(json_string_value(init), "PAUSED") == 0    ? LC_TARGET_PAUSED
                     : strcmp(json_string_value(init), "STOPPED") == 0 ? LC_TARGET_STOPPED
                                                                       : LC_TARGET_STARTED;
        rc = put_config(c, json_string_value(name), config, LC_PUT_CREATE, target, 201);
    }
    json_decref(body);
    return rc;
}

static enum MHD_Result connector_config(ctx_t *c, const char *name)
{
    if (is(c, "GET")) {
        json_t *o = c->h->ops->connector_config(c->h, name);
        return o ? send_json(c, 200, o) : send_error(c, 404, "Connector %s not found", name);
    }
    if (!is(c, "PUT") && !is(c, "PATCH")) return not_allowed(c);
    enum MHD_Result sent;
    json_t *body = body_json(c, &sent);
    if (!body) return sent;
    char err[512];
    enum MHD_Result rc;
    json_t *bname = json_object_get(body, "name");
    lc_props_t *check = lc_props_new();
    if (lc_props_from_json(body, check, is(c, "PATCH"), err, sizeof(err)) != 0) {
        rc = send_error(c, 400, "%s", err);
    } else if (bname && !json_is_null(bname) &&
               (!json_is_string(bname) || strcmp(json_string_value(bname), name) != 0)) {
        rc = send_error(c, 400,
                        "Connector name configuration (%s) doesn't match connector name in the "
                        "URL (%s)",
                        json_is_string(bname) ? json_string_value(bname) : "?", name);
    } else if (is(c, "PUT")) {
        rc = put_config(c, name, body, LC_PUT_ANY, -1, 201);
    } else {
        /* PATCH: merge into the stored config (unmasked), null removes a key. */
        json_t *info = c->h->ops->connector_info(c->h, name);
        if (!info) {
            rc = send_error(c, 404, "Connector %s not found", name);
        } else {
            json_decref(info);
            char errs[32768];
            lc_props_t *merged = c->h->ops->connector_props(c->h, name);
            if (!merged) {
                rc = send_error(c, 404, "Connector %s not found", name);
            } else {
                lc_props_from_json(body, merged, 1, err, sizeof(err));
                int code = c->h->ops->put_connector(c->h, name, merged, LC_PUT_UPDATE, -1, errs,
                                                    sizeof(errs));
                lc_props_destroy(merged);
                rc = code == 200
                         ? send_json(c, 200, extras(c, c->h->ops->connector_info(c->h, name)))
                         : invalid_config(c, code, errs);
            }
        }
    }
    lc_props_destroy(check);
    json_decref(body);
    return rc;
}

static int query_true(ctx_t *c, const char *key)
{
    const char *v = query_value(c, key);
    return v && strcasecmp(v, "true") == 0;
}

static enum MHD_Result offsets(ctx_t *c, const char *name)
{
    char err[4096];
    json_t *out = NULL, *body = NULL;
    int code;
    if (is(c, "GET")) {
        code = c->h->ops->offsets_get(c->h, name, &out, err, sizeof(err));
        return code == 200 ? send_json(c, 200, out) : send_error(c, code, "%s", err);
    }
    if (is(c, "PATCH")) {
        enum MHD_Result sent;
        if (!(body = body_json(c, &sent))) return sent;
    } else if (!is(c, "DELETE")) {
        return not_allowed(c);
    }
    code = c->h->ops->offsets_alter(c->h, name, body, err, sizeof(err));
    json_decref(body);
    return code == 200 ? send_json(c, 200, json_pack("{s:s}", "message", err))
                       : send_error(c, code, "%s", err);
}

static int parse_task(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 0 && v < 1000000 ? (int)v : -1;
}

static const char *header(ctx_t *c, const char *name)
{
    return c->conn ? MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name) : NULL;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    if (key && strcmp(key, "forward") != 0)
        json_object_set_new(cls, key, json_string(value ? value : ""));
    return MHD_YES;
}

/* Distributed mode: a change that reached a follower goes to the leader (forward.h). */
static enum MHD_Result forward(ctx_t *c, char *leader)
{
    json_t *query = json_object();
    query_each(c, collect_query, query);
    lc_fwd_req_t r = {.method = c->method,
                      .seg = c->seg,
                      .nseg = c->nseg,
                      .forward = query_value(c, "forward"),
                      .query = query,
                      .authorization = header(c, "Authorization"),
                      .signature = header(c, "X-Connect-Authorization"),
                      .signature_alg = header(c, "X-Connect-Request-Signature-Algorithm"),
                      .body = c->body,
                      .len = c->len};
    char *out = NULL;
    c->code = lc_forward(leader, &r, &out);
    free(c->text);
    c->text = out;
    if (c->code == 201 && c->nseg == 1 && out) {
        json_t *o = json_loads(out, 0, NULL);
        const char *name = json_string_value(json_object_get(o, "name"));
        if (name) snprintf(c->location, sizeof(c->location), "/connectors/%s", name);
        json_decref(o);
    }
    json_decref(query);
    free(leader);
    return MHD_YES;
}

static enum MHD_Result connectors(ctx_t *c)
{
    lc_herder_t *h = c->h;
    char err[16384];
    /* A distributed worker answers once it has read the cluster's topics to their end. */
    if (h->ops->leader_url && !h->ops->ready(h))
        return send_error(c, 503, "Worker is still starting up.");
    /* Changes go to the leader; a task restart goes to the task's worker (the herder). */
    if (h->ops->leader_url && !is(c, "GET") && !is(c, "HEAD") && c->nseg != 5) {
        char *leader = h->ops->leader_url(h);
        if (leader) return forward(c, leader);
    }
    if (c->nseg == 1) {
        if (is(c, "GET")) return list_connectors(c);
        if (is(c, "POST")) return create_connector(c);
        return not_allowed(c);
    }
    const char *name = c->seg[1];
    if (c->nseg == 2) {
        if (is(c, "GET")) {
            json_t *o = extras(c, h->ops->connector_info(h, name));
            return o ? send_json(c, 200, o) : send_error(c, 404, "Connector %s not found", name);
        }
        if (is(c, "DELETE")) {
            int code = h->ops->delete_connector(h, name, err, sizeof(err));
            return code == 204 ? send_json(c, 204, NULL) : send_error(c, code, "%s", err);
        }
        return not_allowed(c);
    }
    const char *what = c->seg[2];
    if (c->nseg == 3) {
        if (strcmp(what, "config") == 0) return connector_config(c, name);
        if (strcmp(what, "offsets") == 0) return offsets(c, name);
        if (strcmp(what, "tasks") == 0 && is(c, "POST") && h->ops->put_task_configs) {
            int code = h->ops->put_task_configs(
                h, name, c->body ? c->body : "", c->len, header(c, "X-Connect-Authorization"),
                header(c, "X-Connect-Request-Signature-Algorithm"), err, sizeof(err));
            return code == 204 ? send_json(c, 204, NULL) : send_error(c, code, "%s", err);
        }
        if (strcmp(what, "status") == 0 || strcmp(what, "tasks") == 0) {
            if (!is(c, "GET")) return not_allowed(c);
            json_t *o = what[0] == 's' ? extras(c, h->ops->connector_status(h, name))
                                       : h->ops->task_configs(h, name);
            if (o) return send_json(c, 200, o);
            /* Kafka Connect's words for each. */
            return what[0] == 's' ? send_error(c, 404, "No status found for connector %s", name)
                                  : send_error(c, 404, "Connector %s not found", name);
        }
        if (strcmp(what, "restart") == 0) {
            if (!is(c, "POST")) return not_allowed(c);
            int include = query_true(c, "includeTasks"), only = query_true(c, "onlyFailed");
            json_t *status = NULL;
            int code = h->ops->restart(h, name, include, only, include || only ? &status : NULL,
                                       err, sizeof(err));
            if (code == 202) return send_json(c, 202, extras(c, status));
            return code == 204 ? send_json(c, 204, NULL) : send_error(c, code, "%s", err);
        }
        if (strcmp(what, "topics") == 0) { /* KIP-558 */
            if (!is(c, "GET")) return not_allowed(c);
            json_t *o = NULL;
            int code = h->ops->active_topics(h, name, &o, err, sizeof(err));
            return code == 200 ? send_json(c, 200, o) : send_error(c, code, "%s", err);
        }
        if (strcmp(what, "reload") == 0) { /* our extension: hot reload of one connector */
            if (!is(c, "POST")) return not_allowed(c);
            int code = h->ops->reload(h, name, 1, err, sizeof(err));
            return code == 200 || code == 204 ? send_json(c, 200, h->ops->connector_status(h, name))
                                              : send_error(c, code, "%s", err);
        }
        int target = strcmp(what, "pause") == 0    ? LC_TARGET_PAUSED
                     : strcmp(what, "resume") == 0 ? LC_TARGET_STARTED
                     : strcmp(what, "stop") == 0   ? LC_TARGET_STOPPED
                                                   : -1;
        if (target >= 0) {
            if (!is(c, "PUT")) return not_allowed(c);
            int code = h->ops->set_target(h, name, (lc_target_t)target, err, sizeof(err));
            return code < 300 ? send_json(c, code, NULL) : send_error(c, code, "%s", err);
        }
        return send_error(c, 404, "HTTP 404 Not Found");
    }
    if (strcmp(what, "topics") == 0 && c->nseg == 4 && strcmp(c->seg[3], "reset") == 0) {
        if (!is(c, "PUT")) return not_allowed(c);
        int code = h->ops->reset_topics(h, name, err, sizeof(err));
        return code == 202 ? send_json(c, 202, NULL) : send_error(c, code, "%s", err);
    }
    if (strcmp(what, "tasks") == 0 && c->nseg == 5) {
        int task = parse_task(c->seg[3]);
        if (strcmp(c->seg[4], "status") == 0) {
            if (!is(c, "GET")) return not_allowed(c);
            json_t *o = task >= 0 ? h->ops->task_status(h, name, task) : NULL;
            if (o) return send_json(c, 200, o);
            json_t *info = h->ops->connector_info(h, name);
            json_decref(info);
            return info ? send_error(c, 404, "No status found for task %s-%s", name, c->seg[3])
                        : send_error(c, 404, "Connector %s not found", name);
        }
        if (strcmp(c->seg[4], "restart") == 0) {
            if (!is(c, "POST")) return not_allowed(c);
            if (task < 0) return send_error(c, 404, "Task %s-%s not found", name, c->seg[3]);
            int code = h->ops->restart_task(h, name, task, err, sizeof(err));
            return code == 204 ? send_json(c, 204, NULL) : send_error(c, code, "%s", err);
        }
    }
    return send_error(c, 404, "HTTP 404 Not Found");
}

/* --- /connector-plugins, /admin/loggers, / ------------------------------------------ */

static enum MHD_Result plugins(ctx_t *c)
{
    char err[16384];
    json_t *out = NULL;
    if (c->nseg == 1) {
        if (!is(c, "GET")) return not_allowed(c);
        const char *only = query_value(c, "connectorsOnly");
        return send_json(c, 200, c->h->ops->plugins(c->h, !only || strcasecmp(only, "false") != 0));
    }
    if (c->nseg == 3 && strcmp(c->seg[2], "config") == 0) {
        if (!is(c, "GET")) return not_allowed(c);
        int code = c->h->ops->plugin_config(c->h, c->seg[1], &out, err, sizeof(err));
        return code == 200 ? send_json(c, 200, out) : send_error(c, code, "%s", err);
    }
    if (c->nseg == 4 && strcmp(c->seg[2], "config") == 0 && strcmp(c->seg[3], "validate") == 0) {
        if (!is(c, "PUT")) return not_allowed(c);
        enum MHD_Result sent;
        json_t *body = body_json(c, &sent);
        if (!body) return sent;
        enum MHD_Result rc;
        lc_props_t *check = lc_props_new();
        if (lc_props_from_json(body, check, 0, err, sizeof(err)) != 0) {
            rc = send_error(c, 400, "%s", err);
        } else {
            int code = c->h->ops->validate(c->h, c->seg[1], body, &out, err, sizeof(err));
            rc = code == 200 ? send_json(c, 200, out) : send_error(c, code, "%s", err);
        }
        lc_props_destroy(check);
        json_decref(body);
        return rc;
    }
    return send_error(c, 404, "HTTP 404 Not Found");
}

static json_t *logger_json(lc_log_level_t level, long long modified)
{
    return json_pack("{s:s,s:o}", "level", lc_log_level_name(level), "last_modified",
                     modified ? json_integer(modified) : json_null());
}

static void add_logger(void *arg, const char *name, lc_log_level_t level, long long modified)
{
    json_object_set_new(arg, name, logger_json(level, modified));
}

static void add_name(void *arg, const char *name)
{
    json_array_append_new(arg, json_string(name));
}

static enum MHD_Result loggers(ctx_t *c)
{
    if (c->nseg == 2 && strcmp(c->seg[1], "loggers") == 0) {
        if (!is(c, "GET")) return not_allowed(c);
        json_t *o = json_object();
        lc_log_each(add_logger, o);
        return send_json(c, 200, o);
    }
    if (c->nseg != 3 || strcmp(c->seg[1], "loggers") != 0)
        return send_error(c, 404, "HTTP 404 Not Found");
    const char *name = c->seg[2];
    if (is(c, "GET")) {
        long long modified;
        lc_log_level_t l = lc_log_named_level(name, &modified);
        return send_json(c, 200, logger_json(l, modified));
    }
    if (!is(c, "PUT")) return not_allowed(c);
    enum MHD_Result sent;
    json_t *body = body_json(c, &sent);
    if (!body) return sent;
    const char *level = json_string_value(json_object_get(body, "level"));
    int l = level ? lc_log_level_parse(level) : -1;
    enum MHD_Result rc;
    if (l < 0) {
        rc = send_error(c, 400,
                        "Invalid log level '%s'; must be one of ERROR, WARN, INFO, "
                        "DEBUG, TRACE",
                        level ? level : "(missing)");
    } else {
        json_t *changed = json_array();
        lc_log_set_named(name, (lc_log_level_t)l, add_name, changed);
        lc_info(NULL, "logger '%s' set to %s", name, lc_log_level_name((lc_log_level_t)l));
        rc = send_json(c, 200, changed);
    }
    json_decref(body);
    return rc;
}

/* GET /metrics (metrics.h); the format follows the Accept header. */
static enum MHD_Result metrics(ctx_t *c)
{
    if (!is(c, "GET")) return not_allowed(c);
    free(c->text);
    c->text = lc_metrics_page(
        c->h, c->conn ? MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Accept") : NULL,
        &c->ctype);
    c->code = c->text ? 200 : 500;
    return MHD_YES;
}

static enum MHD_Result route(ctx_t *c)
{
    if (c->nseg == 0) {
        if (!is(c, "GET")) return not_allowed(c);
        const char *id = c->h->ops->cluster_id(c->h);
        return send_json(c, 200,
                         json_pack("{s:s,s:s,s:o}", "version", LC_VERSION, "commit", LC_COMMIT,
                                   "kafka_cluster_id", id ? json_string(id) : json_null()));
    }
    const char *top = c->seg[0];
    if (strcmp(top, "health") == 0 && c->nseg == 1) {
        if (!is(c, "GET")) return not_allowed(c);
        if (!c->h->ops->ready(c->h)) /* Kafka Connect's answer while it starts */
            return send_json(c, 503,
                             json_pack("{s:s,s:s}", "status", "starting", "message",
                                       "Worker is still starting up."));
        return send_json(
            c, 200,
            json_pack("{s:s,s:s}", "status", "healthy", "message",
                      "Worker has completed startup and is ready to handle requests."));
    }
    if (strcmp(top, "metrics") == 0 && c->nseg == 1) return metrics(c);
    if (strcmp(top, "connectors") == 0) return connectors(c);
    if (strcmp(top, "connector-plugins") == 0) return plugins(c);
    if (strcmp(top, "admin") == 0) return loggers(c);
    return send_error(c, 404, "HTTP 404 Not Found");
}

/* --- HTTP plumbing ------------------------------------------------------------------- */

/* Routes the request of c (path url) and fills c's answer. */
static void answer(ctx_t *c, const char *url)
{
    char *path = strdup(url ? url : "/");
    int too_deep = 0;
    for (char *save = NULL, *tok = strtok_r(path, "/", &save); tok && !too_deep;
         tok = strtok_r(NULL, "/", &save)) {
        if (c->nseg == MAX_SEGS)
            too_deep = 1;
        else
            c->seg[c->nseg++] = tok;
    }
    if (too_deep)
        send_error(c, 404, "HTTP 404 Not Found");
    else
        route(c);
    free(path);
}

/* Sends c's answer on conn (with the CORS headers of cors) and frees it. */
static enum MHD_Result queue_answer(struct MHD_Connection *conn, ctx_t *c, const lc_cors_t *cors,
                                    const char *method)
{
    char *text = c->text;
    c->text = NULL;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : (char *)"",
                                        text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (text)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                c->ctype ? c->ctype : "application/json");
    if (c->location[0]) MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, c->location);
    lc_cors_add_headers(cors, conn, method, resp);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)(c->code ? c->code : 500), resp);
    MHD_destroy_response(resp);
    return rc;
}

int lc_rest_handle(lc_herder_t *h, const char *method, const char *url, const char *query,
                   const char *content_type, const char *body, size_t len, char **out,
                   char *location, size_t location_size)
{
    ctx_t c = {.h = h,
               .method = method,
               .query = query,
               .content_type = content_type,
               .body = body,
               .len = len};
    if (len > LC_REST_MAX_BODY)
        send_error(&c, 413, "Request body larger than %d bytes", LC_REST_MAX_BODY);
    else
        answer(&c, url);
    if (location) snprintf(location, location_size, "%s", c.location);
    if (out)
        *out = c.text;
    else
        free(c.text);
    return c.code;
}

static enum MHD_Result too_large(struct MHD_Connection *conn, const lc_cors_t *cors,
                                 const char *method)
{
    ctx_t c = {.conn = conn};
    send_error(&c, 413, "Request body larger than %d bytes", LC_REST_MAX_BODY);
    return queue_answer(conn, &c, cors, method);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    lc_rest_t *r = cls;
    req_t *q = *state;
    (void)version;
    if (!q) {
        q = calloc(1, sizeof(*q));
        if (!q) return MHD_NO;
        *state = q;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > LC_REST_MAX_BODY) {
            q->too_big = 1;
            return too_large(conn, r->cors, method);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!q->too_big && q->len + *upload_size > LC_REST_MAX_BODY) {
            q->too_big = 1;
            free(q->body);
            q->body = NULL;
            q->len = q->cap = 0;
        }
        if (!q->too_big) {
            if (q->len + *upload_size + 1 > q->cap) {
                size_t cap = (q->len + *upload_size + 1) * 2;
                char *b = realloc(q->body, cap);
                if (!b) return MHD_NO;
                q->body = b;
                q->cap = cap;
            }
            memcpy(q->body + q->len, upload, *upload_size);
            q->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->too_big) return too_large(conn, r->cors, method);
    if (lc_cors_is_preflight(r->cors, conn, method)) {
        /* A browser's preflight carries no credentials; Connect delivers it and answers 200. */
        ctx_t c = {.conn = conn, .code = 200};
        return queue_answer(conn, &c, r->cors, method);
    }
    if (!lc_rest_auth_ok(r->users, conn)) {
        json_t *body = json_pack("{s:i,s:s}", "error_code", 401, "message",
                                 "Authentication required (HTTP basic)");
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        lc_cors_add_headers(r->cors, conn, method, resp);
        enum MHD_Result rc = MHD_queue_basic_auth_fail_response(conn, "luaconnect", resp);
        MHD_destroy_response(resp);
        return rc;
    }
    if (lc_console_wants(conn, method, url)) return lc_console_send(conn); /* the web console */
    ctx_t c = {.h = r->h, .conn = conn, .method = method, .body = q->body, .len = q->len};
    answer(&c, url);
    lc_debug(NULL, "REST %s %s", method, url);
    return queue_answer(conn, &c, r->cors, method);
}

static void completed(void *cls, struct MHD_Connection *conn, void **state,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    req_t *q = *state;
    if (q) {
        free(q->body);
        free(q);
    }
    *state = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[1024];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t l = strlen(msg);
    while (l && msg[l - 1] == '\n')
        msg[--l] = 0;
    lc_debug(NULL, "REST server: %s", msg);
}

static int load_tls(lc_rest_t *r, const lc_props_t *p, char *errstr, size_t errsz)
{
    if (r->tls_pem) return 0;
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        snprintf(errstr, errsz, "listeners: https needs libmicrohttpd built with TLS (GnuTLS)");
        return -1;
    }
    return lc_rest_tls_load(p, &r->tls_pem, &r->tls_pass, errstr, errsz);
}

static int start_listener(lc_rest_t *r, const lc_props_t *p, const char *listener, char *errstr,
                          size_t errsz)
{
    char host[256] = "", port[16] = "8083";
    int https = strncasecmp(listener, "https://", 8) == 0;
    const char *hp = https                                      ? listener + 8
                     : strncasecmp(listener, "http://", 7) == 0 ? listener + 7
                                                                : NULL;
    if (!hp) {
        snprintf(errstr, errsz,
                 "worker config key 'listeners': '%s' must look like "
                 "http://HOST:PORT or https://HOST:PORT",
                 listener);
        return -1;
    }
    const char *colon = hp[0] == '[' ? strstr(hp, "]:") : strrchr(hp, ':');
    if (!colon) {
        snprintf(errstr, errsz, "worker config key 'listeners': '%s' has no port", listener);
        return -1;
    }
    if (hp[0] == '[')
        snprintf(host, sizeof(host), "%.*s", (int)(colon - hp - 1), hp + 1), colon++;
    else
        snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
    snprintf(port, sizeof(port), "%s", colon + 1);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    int gai = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
    if (gai != 0) {
        snprintf(errstr, errsz, "worker config key 'listeners': '%s': %s", listener,
                 gai_strerror(gai));
        return -1;
    }
    unsigned flags =
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    if (https) {
        if (load_tls(r, p, errstr, errsz) != 0) {
            freeaddrinfo(ai);
            return -1;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls_opts[] = {
        {https ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, r->tls_pem},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, r->tls_pem},
        {r->tls_pass ? MHD_OPTION_HTTPS_KEY_PASSWORD : MHD_OPTION_END, 0, r->tls_pass},
        {MHD_OPTION_END, 0, NULL}};
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, 0, NULL, NULL, handle, r, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                         MHD_OPTION_NOTIFY_COMPLETED, completed, r, MHD_OPTION_CONNECTION_TIMEOUT,
                         60u, MHD_OPTION_CONNECTION_LIMIT, 512u, MHD_OPTION_EXTERNAL_LOGGER,
                         mhd_log, r, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d) {
        snprintf(errstr, errsz,
                 "worker config key 'listeners': cannot listen on %s (address in "
                 "use, or not an address of this machine%s)",
                 listener, https ? ", or the key/certificate are not valid" : "");
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned bound = info ? info->port : 0;
    char id[300];
    snprintf(id, sizeof(id), "%s%s%s:%u", strchr(host, ':') ? "[" : "", *host ? host : "0.0.0.0",
             strchr(host, ':') ? "]" : "", bound);
    if (r->n == 0) snprintf(r->id, sizeof(r->id), "%s", id);
    lc_info(NULL, "REST API listening on %s://%s/%s", https ? "https" : "http", id,
            r->users ? " (basic authentication)" : "");
    r->d[r->n++] = d;
    return 0;
}

lc_rest_t *lc_rest_start(lc_herder_t *h, const lc_props_t *p, char *errstr, size_t errsz)
{
    lc_rest_t *r = calloc(1, sizeof(*r));
    r->h = h;
    char aerr[1024];
    r->users = lc_rest_auth_load(p, aerr, sizeof(aerr));
    if (!r->users && aerr[0]) {
        snprintf(errstr, errsz, "%s", aerr);
        goto err;
    }
    char cerr[512];
    r->cors = lc_cors_new(p, cerr, sizeof(cerr));
    if (!r->cors && cerr[0]) {
        snprintf(errstr, errsz, "%s", cerr);
        goto err;
    }
    int n;
    char **list = lc_split_list(lc_config_string(p, "listeners"), &n);
    int bad = n == 0 || n > MAX_LISTENERS;
    if (bad)
        snprintf(errstr, errsz, "worker config key 'listeners': give 1 to %d listeners",
                 MAX_LISTENERS);
    for (int i = 0; i < n && !bad; i++)
        bad = start_listener(r, p, list[i], errstr, errsz) != 0;
    lc_free_list(list, n);
    if (bad) goto err;
    return r;
err:
    lc_rest_stop(r);
    return NULL;
}

const char *lc_rest_id(const lc_rest_t *r)
{
    return r->id;
}

void lc_rest_stop(lc_rest_t *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++)
        MHD_stop_daemon(r->d[i]);
    lc_props_destroy(r->users);
    lc_cors_free(r->cors);
    free(r->tls_pem);
    free(r->tls_pass);
    free(r);
}
