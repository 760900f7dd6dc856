/* rest_auth: see rest_auth.h. */
#include "rest_auth.h"

#include <stdio.h>
#include <string.h>

lc_props_t *lc_rest_auth_load(const lc_props_t *p, char *errstr, size_t errsz)
{
    errstr[0] = 0;
    const char *cred = lc_props_get(p, "rest.basic.auth.credentials.file");
    if (!cred || !*cred) return NULL;
    char err[1024];
    lc_props_t *users = lc_props_new();
    if (lc_props_parse_file(users, cred, err, sizeof(err)) != 0) {
        snprintf(errstr, errsz, "worker config key 'rest.basic.auth.credentials.file': %s", err);
        lc_props_destroy(users);
        return NULL;
    }
    if (lc_props_count(users) == 0) {
        snprintf(errstr, errsz,
                 "worker config key 'rest.basic.auth.credentials.file': '%s' "
                 "has no user=password lines",
                 cred);
        lc_props_destroy(users);
        return NULL;
    }
    return users;
}

int lc_rest_auth_ok(const lc_props_t *users, struct MHD_Connection *conn)
{
    if (!users) return 1;
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(conn, &pass);
    int ok = 0;
    if (user && pass) {
        const char *want = lc_props_get(users, user);
        if (want && strlen(want) == strlen(pass)) {
            unsigned char diff = 0; /* constant time in the password's length */
            for (size_t i = 0; want[i]; i++)
                diff |= (unsigned char)(want[i] ^ pass[i]);
            ok = diff == 0;
        }
    }
    MHD_free(user);
    MHD_free(pass);
    return ok;
}
