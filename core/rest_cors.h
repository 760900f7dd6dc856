/* rest_cors: cross-origin resource sharing for the REST API, configured by Kafka Connect's
 * access.control.allow.origin / access.control.allow.methods and answering as Connect's
 * (Jetty's CrossOriginHandler) does: the request's Origin echoed when it matches, credentials
 * allowed, preflights answered with the allowed methods and headers. */
#ifndef LC_REST_CORS_H
#define LC_REST_CORS_H

#include <microhttpd.h>

#include "props.h"

typedef struct lc_cors lc_cors_t;

/** The CORS policy of worker props: NULL with errstr "" when CORS is off, NULL with errstr
 * when a pattern does not compile (naming the key). */
lc_cors_t *lc_cors_new(const lc_props_t *props, char *errstr, size_t errstr_size);
/** 1 when the request is a CORS preflight (OPTIONS with Access-Control-Request-Method) from
 * an allowed origin: the caller answers it without authentication. */
int lc_cors_is_preflight(const lc_cors_t *c, struct MHD_Connection *conn, const char *method);
/** Adds the CORS headers the request calls for to resp (Vary: Origin always). */
void lc_cors_add_headers(const lc_cors_t *c, struct MHD_Connection *conn, const char *method,
                         struct MHD_Response *resp);
/** Frees c; NULL is a no-op. */
void lc_cors_free(lc_cors_t *c);

#endif
