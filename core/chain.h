/* chain: the transform chain as configured (transforms=a,b, transforms.a.type=...,
 * predicates=p, predicates.p.type=...): parsing and resolving it against plugin.path, and
 * converting it to the binding's plain chain steps (lua/chain_api.h), from which
 * lua/luaconnect.lua builds and runs it.
 * Depends on props, plugins, chain_api. */
#ifndef LC_CHAIN_H
#define LC_CHAIN_H

#include <stddef.h>

#include "chain_api.h"
#include "props.h"

/** One step of a transform chain as configured (transforms.<alias>.*). */
typedef struct lc_chain_spec {
    char *alias, *path;
    char *type;    /* as configured, e.g. org.apache...InsertField$Value */
    char *variant; /* "key" or "value" for Kafka's X$Key / X$Value, or NULL */
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
/** The n specs as the binding's chain steps, borrowing their strings (valid while specs
 * live and are not changed). Free with lc_chain_steps_free. */
lc_chain_step_t *lc_chain_steps(const lc_chain_spec_t *specs, int n);
/** Frees what lc_chain_steps returned (not the strings); NULL is a no-op. */
void lc_chain_steps_free(lc_chain_step_t *steps, int n);
/** p as the binding's string map, borrowing its strings (valid while p is not changed).
 * Free with lc_chain_kv_free. */
lc_kv_t lc_chain_kv(const lc_props_t *p);
/** Frees the arrays of kv (not the strings). */
void lc_chain_kv_free(lc_kv_t *kv);

#endif
