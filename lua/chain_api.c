/* chain_api: see chain_api.h. */
#include "chain_api.h"
#include "bridge.h"

void lc_chain_api_push_kv(lua_State *L, const lc_kv_t *kv)
{
    lua_createtable(L, 0, (int)kv->n);
    for (size_t i = 0; i < kv->n; i++) {
        lua_pushstring(L, kv->values[i]);
        lua_setfield(L, -2, kv->keys[i]);
    }
}

void lc_chain_api_push(lua_State *L, const lc_chain_step_t *steps, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        const lc_chain_step_t *s = &steps[i];
        lua_createtable(L, 0, 5);
        lua_pushstring(L, s->alias);
        lua_setfield(L, -2, "alias");
        lua_pushstring(L, s->path);
        lua_setfield(L, -2, "path");
        lua_pushstring(L, s->type);
        lua_setfield(L, -2, "type");
        lc_chain_api_push_kv(L, &s->config);
        lua_setfield(L, -2, "config");
        lua_pushboolean(L, s->negate);
        lua_setfield(L, -2, "negate");
        if (s->variant) {
            lua_pushstring(L, s->variant);
            lua_setfield(L, -2, "variant");
        }
        if (s->pred_path) {
            lua_createtable(L, 0, 3);
            lua_pushstring(L, s->pred_alias);
            lua_setfield(L, -2, "alias");
            lua_pushstring(L, s->pred_path);
            lua_setfield(L, -2, "path");
            lc_chain_api_push_kv(L, &s->pred_config);
            lua_setfield(L, -2, "config");
            lua_setfield(L, -2, "predicate");
        }
        lua_rawseti(L, -2, i + 1);
    }
}

int lc_chain_api_check(lua_State *L, const char *label, const lc_chain_step_t *steps, int n,
                       char *errstr, size_t errstr_size)
{
    lua_pushstring(L, label);
    lc_chain_api_push(L, steps, n);
    return lc_lua_call_sdk(L, "_chain", 2, 0, errstr, errstr_size);
}
