/* rest_tls: the REST listener's TLS material from the worker config — Kafka Connect's
 * listeners.https.ssl.keystore.* keys (or the plain ssl.* ones), as a PEM file holding the
 * private key and the certificate chain. Depends on props. */
#ifndef LC_REST_TLS_H
#define LC_REST_TLS_H

#include <stddef.h>

#include "props.h"

/** Reads the keystore PEM into *pem and the key password (or NULL) into *pass (caller frees
 * both). 0, or -1 with errstr naming the key. */
int lc_rest_tls_load(const lc_props_t *p, char **pem, char **pass, char *errstr,
                     size_t errstr_size);

#endif
