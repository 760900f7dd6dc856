/* http_client: worker-to-worker HTTP requests (forwarding to the leader, internal requests),
 * over libcurl. Depends on libcurl. */
#ifndef LC_HTTP_CLIENT_H
#define LC_HTTP_CLIENT_H

#include <stddef.h>

/** Sends method url with body (NULL: none) and extra headers (NULL-terminated array of
 * "Name: value"), Content-Type application/json; waits at most timeout_ms. Returns the HTTP
 * status with *body_out the response body (caller frees; never NULL on success), or -1 with
 * errstr ("cannot reach http://...: ..."). https URLs use the worker's
 * listeners.https.ssl.truststore.location / ssl.truststore.location (PEM) when given.
 * Thread-safe (curl_global_init once). */
int lc_http_request(const char *method, const char *url, const char *const *headers,
                    const char *body, size_t len, long timeout_ms, char **body_out, char *errstr,
                    size_t errstr_size);

#endif
