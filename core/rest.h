/* rest: Kafka Connect's REST API on libmicrohttpd — same paths, JSON shapes and status
 * codes — plus HTTP basic authentication and HTTPS (GnuTLS through libmicrohttpd).
 * One thread per connection; handlers call the herder interface (herder.h), whichever
 * herder runs.
 * Depends on herder, log, props, libmicrohttpd, jansson. */
#ifndef LC_REST_H
#define LC_REST_H

#include <stddef.h>
#include "props.h"
#include "herder.h"

typedef struct lc_rest lc_rest_t;

/** Starts one listener per entry of `listeners` (default http://127.0.0.1:8083), reading
 * rest.basic.auth.credentials.file and the listeners.https.ssl.* / ssl.* keystore keys from
 * the worker properties. NULL with errstr naming the key on failure. */
lc_rest_t *lc_rest_start(lc_herder_t *h, const lc_props_t *worker_props, char *errstr,
                         size_t errstr_size);
/** The first listener's host:port as bound (the worker id). */
const char *lc_rest_id(const lc_rest_t *r);
/** Stops the listeners (waits for requests in progress); NULL is a no-op. */
void lc_rest_stop(lc_rest_t *r);

/** Answers one request without a socket (the fuzzer, tests): method, url path, query
 * ("a=b&c=d", values as given), Content-Type and body. Returns the HTTP status; *out gets
 * the JSON body (caller frees; NULL when none) and location the Location header ("" when
 * none). Authentication is not checked. */
int lc_rest_handle(lc_herder_t *h, const char *method, const char *url, const char *query,
                   const char *content_type, const char *body, size_t len, char **out,
                   char *location, size_t location_size);

/** Largest request body accepted (413 above it). */
#define LC_REST_MAX_BODY (1024 * 1024)

#endif
