/* forward: see forward.h. */
#include "forward.h"
#include "http_client.h"
#include "signature.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FORWARD_MS 60000 /* Kafka Connect's REST client waits as long */

static char *error_body(int code, const char *msg)
{
    json_t *o = json_pack("{s:i,s:s}", "error_code", code, "message", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* Appends s percent-encoded (RFC 3986 unreserved characters kept) to buf. */
static void encode(char *buf, size_t bufsz, size_t *len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p && *len + 4 < bufsz; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            buf[(*len)++] = (char)*p;
        } else {
            buf[(*len)++] = '%';
            buf[(*len)++] = hex[*p >> 4];
            buf[(*len)++] = hex[*p & 15];
        }
    }
    buf[*len] = 0;
}

static void append(char *buf, size_t bufsz, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > bufsz) n = bufsz - *len - 1;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = 0;
}

int lc_forward(const char *leader, const lc_fwd_req_t *r, char **out)
{
    *out = NULL;
    if (!leader || !*leader) {
        *out = error_body(409, "Cannot complete request momentarily due to no known leader URL, "
                               "likely because a rebalance was underway.");
        return 409;
    }
    if (r->forward && strcasecmp(r->forward, "false") == 0) {
        *out = error_body(409, "Cannot complete request because of a conflicting operation (e.g. "
                               "worker rebalance)");
        return 409;
    }
    char url[8192];
    size_t len = 0;
    url[0] = 0;
    append(url, sizeof(url), &len, leader);
    for (int i = 0; i < r->nseg; i++) {
        append(url, sizeof(url), &len, "/");
        encode(url, sizeof(url), &len, r->seg[i]);
    }
    /* Only the first worker may forward once more. */
    append(url, sizeof(url), &len, r->forward ? "?forward=false" : "?forward=true");
    const char *k;
    json_t *v;
    json_object_foreach(r->query, k, v)
    {
        append(url, sizeof(url), &len, "&");
        encode(url, sizeof(url), &len, k);
        append(url, sizeof(url), &len, "=");
        encode(url, sizeof(url), &len, json_string_value(v) ? json_string_value(v) : "");
    }
    char h[3][4096];
    const char *hdrs[4];
    int n = 0;
    if (r->authorization)
        snprintf(h[n], sizeof(h[n]), "Authorization: %s", r->authorization), hdrs[n] = h[n], n++;
    if (r->signature)
        snprintf(h[n], sizeof(h[n]), "X-Connect-Authorization: %s", r->signature), hdrs[n] = h[n],
                                                                                   n++;
    if (r->signature_alg)
        snprintf(h[n], sizeof(h[n]), "X-Connect-Request-Signature-Algorithm: %s", r->signature_alg),
            hdrs[n] = h[n], n++;
    hdrs[n] = NULL;
    char err[1024], *body = NULL;
    int code = lc_http_request(r->method, url, hdrs, r->len ? r->body : NULL, r->len, FORWARD_MS,
                               &body, err, sizeof(err));
    if (code < 0) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "IO Error trying to forward REST request: %s", err);
        *out = error_body(500, msg);
        return 500;
    }
    if (body && !*body) {
        free(body);
        body = NULL;
    }
    *out = body;
    return code;
}

int lc_forward_signed_post(const char *url, const char *key, const char *alg, const char *body,
                           int timeout_ms, char **resp, char *errs, size_t errsz)
{
    char sig[512], h1[600], h2[200];
    *resp = NULL;
    if (lc_signature_sign(key, alg, body, strlen(body), sig, sizeof(sig)) != 0) {
        snprintf(errs, errsz, "cannot sign the request with %s", alg);
        return -1;
    }
    snprintf(h1, sizeof(h1), "X-Connect-Authorization: %s", sig);
    snprintf(h2, sizeof(h2), "X-Connect-Request-Signature-Algorithm: %s", alg);
    const char *hdrs[] = {h1, h2, NULL};
    return lc_http_request("POST", url, hdrs, body, strlen(body), timeout_ms, resp, errs, errsz);
}
