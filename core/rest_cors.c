/* rest_cors: see rest_cors.h. */
#include "rest_cors.h"
#include "config.h"
#include "util.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATTERNS 32

struct lc_cors {
    int any;                  /* '*' among the origins */
    regex_t re[MAX_PATTERNS]; /* the other origins, anchored, case-insensitive */
    int n;
    char methods[512]; /* Access-Control-Allow-Methods */
};

lc_cors_t *lc_cors_new(const lc_props_t *props, char *errstr, size_t errsz)
{
    errstr[0] = 0;
    const char *origins = lc_config_string(props, "access.control.allow.origin");
    if (!origins || !*origins) return NULL;
    lc_cors_t *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(errstr, errsz, "out of memory");
        return NULL;
    }
    int n;
    char **list = lc_split_list(origins, &n);
    for (int i = 0; i < n; i++) {
        if (strcmp(list[i], "*") == 0) {
            c->any = 1;
            continue;
        }
        if (c->n == MAX_PATTERNS) {
            snprintf(errstr, errsz,
                     "worker config key 'access.control.allow.origin': more than %d "
                     "origins",
                     MAX_PATTERNS);
            goto err;
        }
        char *anchored = malloc(strlen(list[i]) + 5);
        if (!anchored) goto err;
        sprintf(anchored, "^(%s)$", list[i]);
        int rc = regcomp(&c->re[c->n], anchored, REG_EXTENDED | REG_ICASE | REG_NOSUB);
        free(anchored);
        if (rc != 0) {
            char why[256];
            regerror(rc, &c->re[c->n], why, sizeof(why));
            regfree(&c->re[c->n]);
            snprintf(errstr, errsz,
                     "worker config key 'access.control.allow.origin': '%s' is not a regular "
                     "expression: %s",
                     list[i], why);
            goto err;
        }
        c->n++;
    }
    lc_free_list(list, n);
    list = NULL;
    /* Connect passes the methods as given (Jetty's default: GET,POST,HEAD). */
    const char *methods = lc_config_string(props, "access.control.allow.methods");
    snprintf(c->methods, sizeof(c->methods), "%s", methods && *methods ? methods : "GET,POST,HEAD");
    return c;
err:
    if (list) lc_free_list(list, n);
    lc_cors_free(c);
    return NULL;
}

/* The Origin header when it matches an allowed origin (any of its space-separated values). */
static const char *allowed_origin(const lc_cors_t *c, struct MHD_Connection *conn)
{
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (!c || !origin || !*origin) return NULL;
    if (c->any) return origin;
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", origin);
    char *save = NULL;
    for (char *o = strtok_r(buf, " ", &save); o; o = strtok_r(NULL, " ", &save))
        for (int i = 0; i < c->n; i++)
            if (regexec(&c->re[i], o, 0, NULL, 0) == 0) return origin;
    return NULL;
}

int lc_cors_is_preflight(const lc_cors_t *c, struct MHD_Connection *conn, const char *method)
{
    return c && strcmp(method, "OPTIONS") == 0 &&
           MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Access-Control-Request-Method") &&
           allowed_origin(c, conn);
}

void lc_cors_add_headers(const lc_cors_t *c, struct MHD_Connection *conn, const char *method,
                         struct MHD_Response *resp)
{
    if (!c || !conn) return;
    MHD_add_response_header(resp, "Vary", "Origin");
    const char *origin = allowed_origin(c, conn);
    if (!origin) return;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
    if (lc_cors_is_preflight(c, conn, method)) {
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", c->methods);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Content-Type");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "60");
    }
}

void lc_cors_free(lc_cors_t *c)
{
    if (!c) return;
    for (int i = 0; i < c->n; i++)
        regfree(&c->re[i]);
    free(c);
}
