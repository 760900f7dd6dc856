/* rest_auth: HTTP basic authentication of the REST API (rest.basic.auth.credentials.file, a
 * properties file of user=password lines, as Kafka Connect's BasicAuthSecurityRestExtension
 * reads them). */
#ifndef LC_REST_AUTH_H
#define LC_REST_AUTH_H

#include <microhttpd.h>
#include <stddef.h>

#include "props.h"

/** The users of worker props: NULL with errstr "" when authentication is off, NULL with
 * errstr (naming the key) when the file cannot be read or has no user. */
lc_props_t *lc_rest_auth_load(const lc_props_t *props, char *errstr, size_t errstr_size);
/** 1 when users is NULL or the request's credentials match one, in time independent of
 * where the password differs. */
int lc_rest_auth_ok(const lc_props_t *users, struct MHD_Connection *conn);

#endif
