/* rest_tls: see rest_tls.h. */
#include "rest_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *read_file(const char *path, char *errstr, size_t errsz, const char *key)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errsz, "worker config key '%s': cannot read '%s'", key, path);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[8192];
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = realloc(buf, cap);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf) buf = calloc(1, 1);
    buf[len] = 0;
    return buf;
}

/* listeners.https.<key>, else <key>. */
static const char *tls_key(const lc_props_t *p, const char *key)
{
    char full[256];
    snprintf(full, sizeof(full), "listeners.https.%s", key);
    const char *v = lc_props_get(p, full);
    return v ? v : lc_props_get(p, key);
}

int lc_rest_tls_load(const lc_props_t *p, char **pem, char **pass, char *errstr, size_t errsz)
{
    const char *type = tls_key(p, "ssl.keystore.type");
    const char *loc = tls_key(p, "ssl.keystore.location");
    if (!loc || !*loc) {
        snprintf(errstr, errsz,
                 "listeners: an https listener needs 'listeners.https.ssl.keystore."
                 "location' (a PEM file with the private key and the certificate "
                 "chain)");
        return -1;
    }
    if (type && strcasecmp(type, "PEM") != 0) {
        snprintf(errstr, errsz,
                 "worker config key 'ssl.keystore.type': only PEM is supported, got "
                 "'%s' (convert with: openssl pkcs12 -in store.p12 -nodes -out "
                 "store.pem)",
                 type);
        return -1;
    }
    if (!(*pem = read_file(loc, errstr, errsz, "ssl.keystore.location"))) return -1;
    if (!strstr(*pem, "PRIVATE KEY-----") || !strstr(*pem, "BEGIN CERTIFICATE")) {
        snprintf(errstr, errsz,
                 "worker config key 'ssl.keystore.location': '%s' must hold a PEM "
                 "private key and certificate",
                 loc);
        return -1;
    }
    const char *pw = tls_key(p, "ssl.key.password");
    if (pw && *pw) *pass = strdup(pw);
    return 0;
}
