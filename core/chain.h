/* chain: the transform chain as configured (transforms=a,b, transforms.a.type=...,
 * predicates=p, predicates.p.type=...): parsing and resolving it against plugin.path, and
 * handing it to a lua_State, where lua/luaconnect.lua builds and runs it.
 * Depends on props, plugins. */
#ifndef LC_CHAIN_H
#define LC_CHAIN_H

#include <lua.h>
#include <stddef.h>

#include "props.h"

/** One step of a transform chain as configured (transforms.<alias>.*). */
typedef struct lc_chain_spec {
    char *alias, *path;
    char *type;                  /* as configured, e.g. org.apache...InsertField$Value */
    char *variant;               /* "key" or "value" for Kafka's X$Key / X$Value, or NULL */
    lc_props_t *config;
    char *pred_alias, *pred_path;
    lc_props_t *pred_config;
    int negate;
} lc_chain_spec_t;

/** Parses the transforms and predicates of a connector config into *specs (*nspecs steps;
 * free with lc_chain_free). Appends one line per error to errs at *elen, each naming the
 * connector (label) and the key. Returns 0 or -1. */
int lc_chain_parse(const char *plugin_path, const lc_props_t *props, const char *label,
                   lc_chain_spec_t **specs, int *nspecs, char *errs, size_t errsz, size_t *elen);
/** Frees specs; NULL is a no-op. */
void lc_chain_free(lc_chain_spec_t *specs, int n);
/** Pushes the specs as the Lua list luaconnect._chain expects. */
void lc_chain_push(lua_State *L, const lc_chain_spec_t *specs, int n);

#endif
