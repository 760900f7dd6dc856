/* forward: hands a REST request that reached a follower to the leader, as Kafka Connect's
 * HerderRequestHandler does: the first worker adds forward=true and the second forward=false,
 * so a request finds the leader within two hops or fails with 409; the leader's status code
 * and body come back unchanged. Depends on http_client, jansson. */
#ifndef LC_FORWARD_H
#define LC_FORWARD_H

#include <jansson.h>
#include <stddef.h>

/** A request as the REST layer parsed it. */
typedef struct lc_fwd_req {
    const char *method;
    char *const *seg; /* path segments, decoded */
    int nseg;
    const char *forward;       /* the request's own forward= value, or NULL */
    json_t *query;             /* the other query arguments, decoded: name -> value */
    const char *authorization; /* headers passed on (NULL: absent) */
    const char *signature, *signature_alg;
    const char *body;
    size_t len;
} lc_fwd_req_t;

/** Forwards r to leader ("" when no leader is known). Returns the HTTP status, with *out the
 * body to answer with (caller frees; NULL for none): the leader's, or Kafka Connect's error
 * body for 409 (no known leader, two hops used) and 500 (the leader cannot be reached). */
int lc_forward(const char *leader, const lc_fwd_req_t *r, char **out);

/** A worker-to-worker request signed as KIP-507 has it (X-Connect-Authorization with the
 * session key, and its algorithm): POSTs body to url. Returns the HTTP status (with *resp the
 * body, caller frees) or -1 with errstr (the request could not be signed or sent). */
int lc_forward_signed_post(const char *url, const char *key_b64, const char *algorithm,
                           const char *body, int timeout_ms, char **resp, char *errstr,
                           size_t errstr_size);

#endif
