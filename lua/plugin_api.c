/* plugin_api: see plugin_api.h. */
#include "plugin_api.h"
#include "bridge.h"
#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lc_plugin_api {
    lua_State *L;
};

lc_plugin_api_t *lc_plugin_api_new(const char *sdk_dir, const char *plugin_path, char *errstr,
                                   size_t errstr_size)
{
    lua_State *L = lc_lua_new(sdk_dir, plugin_path, NULL, errstr, errstr_size);
    if (!L) return NULL;
    lc_plugin_api_t *api = calloc(1, sizeof(*api));
    if (!api) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    if (lc_lua_sdk(L, errstr, errstr_size) != 0) goto err;
    lua_pop(L, 1);
    api->L = L;
    return api;
err:
    free(api);
    lc_lua_close(L);
    return NULL;
}

static char *dup_field(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    const char *s = lua_tostring(L, -1);
    char *out = strdup(s ? s : "");
    lua_pop(L, 1);
    return out;
}

int lc_plugin_api_describe(lc_plugin_api_t *api, const char *path, lc_plugin_desc_t *out,
                           char *errstr, size_t errstr_size)
{
    lua_State *L = api->L;
    lua_pushstring(L, path);
    if (lc_lua_call_sdk(L, "_describe", 1, 1, errstr, errstr_size) != 0) return -1;
    int t = lua_gettop(L);
    out->kind = dup_field(L, t, "kind");
    out->version = dup_field(L, t, "version");
    out->doc = dup_field(L, t, "doc");
    lua_getfield(L, t, "variants");
    out->variants = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, t, "aliases");
    char joined[4096];
    size_t jn = 0;
    joined[0] = 0;
    for (int k = 1;; k++) {
        lua_rawgeti(L, -1, k);
        const char *a = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (!a) break;
        jn += (size_t)snprintf(joined + jn, sizeof(joined) - jn, "%s%s", jn ? "," : "", a);
        if (jn >= sizeof(joined)) break;
    }
    out->aliases = strdup(joined);
    lua_settop(L, t - 1);
    return 0;
}

void lc_plugin_api_destroy(lc_plugin_api_t *api)
{
    if (!api) return;
    lc_lua_close(api->L);
    free(api);
}

int lc_plugin_api_config(const char *sdk_dir, const char *plugin_path, const char *path, char *kind,
                         size_t kindsz, char **defs_json, char *errstr, size_t errsz)
{
    lua_State *L = lc_lua_new(sdk_dir, plugin_path, NULL, errstr, errsz);
    int rc = -1;
    *defs_json = NULL;
    if (!L) return -1;
    lua_pushstring(L, path);
    if (lc_lua_call_sdk(L, "_plugin_config", 1, 2, errstr, errsz) == 0) {
        lc_buf_t b = {0};
        snprintf(kind, kindsz, "%s", lua_tostring(L, -2));
        if (lc_json_encode_sorted(L, -1, &b, errstr, errsz) == 0) {
            if (lc_buf_append(&b, "", 1) == 0) {
                *defs_json = b.data;
                rc = 0;
            } else {
                snprintf(errstr, errsz, "out of memory");
            }
        }
        if (rc != 0) lc_buf_free(&b);
    }
    lc_lua_close(L);
    return rc;
}
