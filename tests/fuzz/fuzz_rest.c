/* fuzz_rest: the REST request path without sockets (core/rest.c, lc_rest_handle): routing
 * of Kafka Connect's paths, query arguments and JSON bodies, over a fake herder that keeps
 * a few connectors in memory. The input is "METHOD URL[?QUERY]\nCONTENT-TYPE\nBODY".
 *
 * Properties checked: the status is one Kafka Connect answers with; every body is JSON; an
 * error is {"error_code": <the status>, "message": <string>}; a 201 carries the Location
 * /connectors/<name> of a connector the herder now has; nothing crashes or leaks. */
#include "fuzz_common.h"
#include "herder.h"
#include "rest.h"

#include <jansson.h>

/* The fake herder: connectors "a" and "b" exist; a put creates or replaces by name. */
static char names[8][64] = {"a", "b"};
static int nnames = 2;

static int find(const char *name)
{
    for (int i = 0; i < nnames; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}
static int put_connector(lc_herder_t *h, const char *name, const lc_props_t *config, int mode,
                         int target, char *errstr, size_t errsz)
{
    int i = find(name);
    if (mode == LC_PUT_CREATE && i >= 0) return snprintf(errstr, errsz, "exists"), 409;
    if (mode == LC_PUT_UPDATE && i < 0) return snprintf(errstr, errsz, "missing"), 404;
    if (!*name || strlen(name) >= sizeof(names[0])) return snprintf(errstr, errsz, "bad"), 400;
    if (i >= 0) return 200;
    if (nnames == 8) nnames = 2; /* keep the state small */
    snprintf(names[nnames++], sizeof(names[0]), "%s", name);
    return 201;
}
static int named(const char *name, char *errstr, size_t errsz, int ok)
{
    if (find(name) >= 0) return ok;
    snprintf(errstr, errsz, "Connector %s not found", name);
    return 404;
}
static int delete_connector(lc_herder_t *h, const char *name, char *errstr, size_t errsz)
{
    int i = find(name);
    if (i < 0) return named(name, errstr, errsz, 204);
    memmove(names[i], names[i + 1], (size_t)(nnames - i - 1) * sizeof(names[0]));
    nnames--;
    return 204;
}
static int set_target(lc_herder_t *h, const char *name, lc_target_t t, char *errstr, size_t errsz)
{
    return named(name, errstr, errsz, t == LC_TARGET_STOPPED ? 204 : 202);
}
static int restart(lc_herder_t *h, const char *name, int tasks, int failed, json_t **status,
                   char *errstr, size_t errsz)
{
    int rc = named(name, errstr, errsz, status ? 202 : 204);
    if (rc == 202) *status = json_pack("{s:s,s:[]}", "name", name, "tasks");
    return rc;
}
static int restart_task(lc_herder_t *h, const char *name, int task, char *errstr, size_t errsz)
{
    return named(name, errstr, errsz, 204);
}
static int reload(lc_herder_t *h, const char *name, int force, char *errstr, size_t errsz)
{
    return named(name, errstr, errsz, 200);
}
static json_t *connector_names(lc_herder_t *h)
{
    json_t *a = json_array();
    for (int i = 0; i < nnames; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}
static json_t *view(const char *name)
{
    return find(name) >= 0 ? json_pack("{s:s,s:{},s:[]}", "name", name, "config", "tasks") : NULL;
}
static json_t *connector_view(lc_herder_t *h, const char *name)
{
    return view(name);
}
static lc_props_t *connector_props(lc_herder_t *h, const char *name)
{
    return find(name) >= 0 ? lc_props_new() : NULL;
}
static json_t *task_status(lc_herder_t *h, const char *name, int task)
{
    return task == 0 ? view(name) : NULL;
}
static int offsets_get(lc_herder_t *h, const char *name, json_t **out, char *errstr, size_t errsz)
{
    int rc = named(name, errstr, errsz, 200);
    if (rc == 200) *out = json_pack("{s:[]}", "offsets");
    return rc;
}
static int offsets_alter(lc_herder_t *h, const char *name, json_t *body, char *errstr, size_t errsz)
{
    return named(name, errstr, errsz, 200);
}
static json_t *plugins(lc_herder_t *h, int connectors_only)
{
    return json_array();
}
static int plugin_config(lc_herder_t *h, const char *plugin, json_t **out, char *errstr,
                         size_t errsz)
{
    *out = json_array();
    return 200;
}
static int validate(lc_herder_t *h, const char *plugin, json_t *config, json_t **out, char *errstr,
                    size_t errsz)
{
    *out = json_pack("{s:s,s:i,s:[],s:[]}", "name", plugin, "error_count", 0, "groups", "configs");
    return 200;
}
static int ready(lc_herder_t *h)
{
    return 1;
}
static const char *id(lc_herder_t *h)
{
    return "127.0.0.1:8083";
}
static const char *cluster_id(lc_herder_t *h)
{
    return NULL;
}

static int active_topics(lc_herder_t *h, const char *name, json_t **out, char *errstr, size_t errsz)
{
    *out = json_pack("{s:{s:[]}}", name, "topics");
    return 200;
}
static int reset_topics(lc_herder_t *h, const char *name, char *errstr, size_t errsz)
{
    return named(name, errstr, errsz, 202);
}

static const lc_herder_ops_t ops = {.put_connector = put_connector,
                                    .delete_connector = delete_connector,
                                    .set_target = set_target,
                                    .restart = restart,
                                    .restart_task = restart_task,
                                    .reload = reload,
                                    .connector_names = connector_names,
                                    .connector_info = connector_view,
                                    .connector_props = connector_props,
                                    .connector_config = connector_view,
                                    .connector_status = connector_view,
                                    .task_configs = connector_view,
                                    .task_status = task_status,
                                    .offsets_get = offsets_get,
                                    .offsets_alter = offsets_alter,
                                    .plugins = plugins,
                                    .plugin_config = plugin_config,
                                    .validate = validate,
                                    .ready = ready,
                                    .worker_id = id,
                                    .cluster_id = cluster_id,
                                    .active_topics = active_topics,
                                    .reset_topics = reset_topics};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lc_herder_t h = {&ops};
    /* METHOD URL\nCONTENT-TYPE\nBODY */
    char *in = malloc(size + 1);
    memcpy(in, data, size);
    in[size] = 0;
    char *line2 = memchr(in, '\n', size);
    char *body = NULL;
    if (line2) {
        *line2++ = 0;
        body = strchr(line2, '\n');
        if (body) *body++ = 0;
    }
    char *url = strchr(in, ' ');
    if (url) *url++ = 0;
    char *query = url ? strchr(url, '?') : NULL;
    if (query) *query++ = 0;
    size_t blen = body ? size - (size_t)(body - in) : 0;
    char *out = NULL, location[1024];
    int code = lc_rest_handle(&h, in, url ? url : "/", query, line2, body, blen, &out, location,
                              sizeof(location));
    static const int valid[] = {200, 201, 202, 204, 400, 404, 405, 409, 413, 415, 500, 503};
    int ok = 0;
    for (size_t i = 0; i < sizeof(valid) / sizeof(*valid); i++)
        ok |= code == valid[i];
    FUZZ_ASSERT(ok, "status %d for %s %s", code, in, url ? url : "/");
    if (out) {
        json_error_t je;
        json_t *j = json_loads(out, JSON_DECODE_ANY, &je);
        FUZZ_ASSERT(j != NULL, "body is not JSON: %s", out);
        if (code >= 400) {
            FUZZ_ASSERT(json_integer_value(json_object_get(j, "error_code")) == code &&
                            json_is_string(json_object_get(j, "message")),
                        "error body %s for status %d", out, code);
        }
        json_decref(j);
    } else {
        FUZZ_ASSERT(code == 204 || code == 202 || code == 200, "status %d without a body for %s",
                    code, in);
    }
    if (code == 201) {
        FUZZ_ASSERT(strncmp(location, "/connectors/", 12) == 0 && find(location + 12) >= 0,
                    "201 with Location '%s'", location);
    }
    free(out);
    free(in);
    return 0;
}
