/* http_client: worker-to-worker HTTP requests (a follower forwarding a REST write to the
 * leader, the signed POST /connectors/<c>/tasks), one blocking call per request over libcurl.
 * Each call has its own curl handle, so any thread may call at any time; curl_global_init runs
 * once. Proxies from the environment (http_proxy...) are not used: workers talk directly, as
 * Connect's RestClient does. Only http and https URLs are followed. Depends on libcurl. */
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
/** Sets the PEM file of trusted certificates for https URLs (the worker's
 * listeners.https.ssl.truststore.location, else ssl.truststore.location; NULL: the system's).
 * Call once at startup, before requests; copied. 0, or -1 with errstr when it cannot be read. */
int lc_http_client_set_truststore(const char *pem_path, char *errstr, size_t errstr_size);

#endif
