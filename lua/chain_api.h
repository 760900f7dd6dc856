/* chain_api: the plain C shape in which the core hands a transform chain (and any string
 * map, such as a connector config) to the binding, and its one Lua form: the list of
 * {alias, path, type, config, negate, variant?, predicate?} tables luaconnect._chain builds
 * the chain from. The core converts its own data (props, chain specs) to these types, so
 * the binding never sees core structures.
 * Depends on LuaJIT, bridge. */
#ifndef LC_CHAIN_API_H
#define LC_CHAIN_API_H

#include <stddef.h>

typedef struct lua_State lua_State;

/** A string map: keys[i] = values[i], n pairs; the strings are borrowed. */
typedef struct lc_kv {
    const char *const *keys;
    const char *const *values;
    size_t n;
} lc_kv_t;

/** One step of a transform chain (transforms.<alias>.*); strings are borrowed. */
typedef struct lc_chain_step {
    const char *alias, *path;
    const char *type;    /* as configured, e.g. org.apache...InsertField$Value */
    const char *variant; /* "key", "value" or NULL */
    lc_kv_t config;      /* transforms.<alias>.* without type, predicate, negate */
    int negate;
    const char *pred_alias, *pred_path; /* NULL: no predicate */
    lc_kv_t pred_config;                /* predicates.<name>.* without type */
} lc_chain_step_t;

/** Pushes kv as a Lua table of strings. */
void lc_chain_api_push_kv(lua_State *L, const lc_kv_t *kv);
/** Pushes the n steps as the Lua list luaconnect._chain expects. */
void lc_chain_api_push(lua_State *L, const lc_chain_step_t *steps, int n);
/** Builds the chain of the n steps in L (luaconnect._chain): each transform and predicate
 * script is loaded and its config validated. label ("connector 'x'") starts each error.
 * Returns 0, or -1 with errstr (one error per line). */
int lc_chain_api_check(lua_State *L, const char *label, const lc_chain_step_t *steps, int n,
                       char *errstr, size_t errstr_size);

#endif
