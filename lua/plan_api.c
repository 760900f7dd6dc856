/* plan_api: see plan_api.h. */
#include "plan_api.h"
#include "bridge.h"
#include "codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends to errs at *elen, never past the end (the core's lc_appendf rules). */
static void appendf(char *errs, size_t errsz, size_t *elen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char *errs, size_t errsz, size_t *elen, const char *fmt, ...)
{
    if (*elen >= errsz) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(errs + *elen, errsz - *elen, fmt, ap);
    va_end(ap);
    if (n > 0) *elen += (size_t)n;
    if (*elen >= errsz) *elen = errsz - 1;
}

/* The strings of the Lua list at idx (non-strings skipped), NULL-terminated; *n the count. */
static char **string_list(lua_State *L, int idx, int *n)
{
    int len = (int)lua_objlen(L, idx);
    char **out = calloc((size_t)len + 1, sizeof(char *));
    *n = 0;
    for (int i = 1; out && i <= len; i++) {
        lua_rawgeti(L, idx, i);
        const char *s = lua_tostring(L, -1);
        if (s) out[(*n)++] = strdup(s);
        lua_pop(L, 1);
    }
    return out;
}

int lc_plan_run(const lc_plan_in_t *in, lc_plan_t *out, char *errs, size_t errsz, size_t *elen)
{
    char err[8192];
    int rc = -1;
    memset(out, 0, sizeof(*out));
    lua_State *L = lc_lua_new(in->sdk_dir, in->plugin_path, NULL, err, sizeof(err));
    if (!L) {
        appendf(errs, errsz, elen, "%s: %s\n", in->label, err);
        return -1;
    }
    lua_pushstring(L, in->script_path);
    lua_pushstring(L, in->label);
    lc_chain_api_push_kv(L, &in->config);
    lua_pushinteger(L, in->max_tasks);
    /* _plan returns kind, task configs, errors, secrets, version */
    if (lc_lua_call_sdk(L, "_plan", 4, 5, err, sizeof(err)) != 0) {
        appendf(errs, errsz, elen, "%s: %s\n", in->label, err);
        goto out;
    }
    if (lua_isstring(L, -1)) out->version = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    if (lua_istable(L, -1)) out->secrets = string_list(L, -1, &out->nsecrets);
    lua_pop(L, 1);
    int nerr = (int)lua_objlen(L, -1);
    for (int i = 1; i <= nerr; i++) {
        lua_rawgeti(L, -1, i);
        appendf(errs, errsz, elen, "%s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    if (nerr) goto out;
    out->is_source = strcmp(lua_tostring(L, -3), "source") == 0;
    int n = (int)lua_objlen(L, -2);
    if (n < 1) {
        appendf(errs, errsz, elen, "%s: task_configs() returned no task configs\n", in->label);
        goto out;
    }
    out->task_configs = calloc((size_t)n, sizeof(char *));
    for (int i = 0; i < n; i++) {
        lc_buf_t b = {0};
        lua_rawgeti(L, -2, i + 1);
        if (lc_json_encode_sorted(L, -1, &b, err, sizeof(err)) != 0 ||
            lc_buf_append(&b, "", 1) != 0) {
            appendf(errs, errsz, elen, "%s: task config %d: %s\n", in->label, i, err);
            lc_buf_free(&b);
            goto out;
        }
        lua_pop(L, 1);
        out->task_configs[out->ntasks++] = b.data;
    }
    /* Transforms are validated here too, so a bad one is an error before anything runs
     * (unless their config did not parse: the caller listed those errors already). */
    if (in->check_chain &&
        lc_chain_api_check(L, in->label, in->chain, in->chain_len, err, sizeof(err)) != 0) {
        appendf(errs, errsz, elen, "%s\n", err);
        goto out;
    }
    if (lc_lua_call_sdk(L, "_script_files", 0, 1, err, sizeof(err)) == 0)
        out->files = string_list(L, -1, &out->nfiles);
    rc = 0;
out:
    lc_lua_close(L);
    return rc;
}

void lc_plan_free(lc_plan_t *p)
{
    free(p->version);
    for (int i = 0; p->task_configs && i < p->ntasks; i++)
        free(p->task_configs[i]);
    free(p->task_configs);
    for (int i = 0; p->secrets && i < p->nsecrets; i++)
        free(p->secrets[i]);
    free(p->secrets);
    for (int i = 0; p->files && i < p->nfiles; i++)
        free(p->files[i]);
    free(p->files);
    memset(p, 0, sizeof(*p));
}

int lc_plan_check_chain(const char *sdk_dir, const char *plugin_path, const char *label,
                        const lc_chain_step_t *chain, int chain_len, char *errstr,
                        size_t errstr_size)
{
    lua_State *L = lc_lua_new(sdk_dir, plugin_path, NULL, errstr, errstr_size);
    if (!L) return -1;
    int rc = lc_chain_api_check(L, label, chain, chain_len, errstr, errstr_size);
    lc_lua_close(L);
    return rc;
}
