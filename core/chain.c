/* chain: see chain.h. */
#include "chain.h"
#include "plugins.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest transform or predicate alias: every "transforms.<alias>.<key>" the parser builds
 * must fit its key buffer, or it would read a cut key (found by tests/fuzz/fuzz_chain). */
#define LC_CHAIN_ALIAS_MAX 256

/* Copies keys "<prefix>x" to x, except the ones listed in skip. */
static lc_props_t *sub_props(const lc_props_t *p, const char *prefix, const char *const *skip)
{
    lc_props_t *out = lc_props_new();
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < lc_props_count(p); i++) {
        const char *k = lc_props_key(p, i);
        if (strncmp(k, prefix, pl) != 0) continue;
        int skipped = 0;
        for (int j = 0; skip && skip[j]; j++)
            skipped |= strcmp(k + pl, skip[j]) == 0;
        if (!skipped) lc_props_set(out, k + pl, lc_props_value(p, i));
    }
    return out;
}

/* transforms=a,b and predicates=p into chain specs; every error appended to errs. */
int lc_chain_parse(const char *plugin_path, const lc_props_t *props, const char *label,
                   lc_chain_spec_t **specs, int *nspecs, char *errs, size_t errsz, size_t *elen)
{
    int n = 0, np = 0, bad = 0;
    char **aliases = lc_split_list(lc_props_get(props, "transforms"), &n);
    char **preds = lc_split_list(lc_props_get(props, "predicates"), &np);
    char key[512], path[4096], err[2048];
    static const char *const t_skip[] = {"type", "predicate", "negate", NULL};
    static const char *const p_skip[] = {"type", NULL};
    lc_chain_spec_t *chain = calloc((size_t)(n ? n : 1), sizeof(*chain));
    int len = 0, too_long = 0;
    for (int i = 0; i < n + np; i++)
        if (strlen(i < n ? aliases[i] : preds[i - n]) > LC_CHAIN_ALIAS_MAX) {
            lc_appendf(errs, errsz, elen,
                       "%s: key '%s': alias '%.40s...' is too long (at most %d characters)\n",
                       label, i < n ? "transforms" : "predicates",
                       i < n ? aliases[i] : preds[i - n], LC_CHAIN_ALIAS_MAX);
            bad = too_long = 1;
        }
    for (int i = 0; i < n && !too_long; i++) {
        lc_chain_spec_t *s = &chain[len];
        snprintf(key, sizeof(key), "transforms.%s.type", aliases[i]);
        const char *type = lc_props_get(props, key);
        if (!type || !*type) {
            lc_appendf(errs, errsz, elen, "%s: missing required key '%s'\n", label, key);
            bad = 1;
            continue;
        }
        /* Kafka's InsertField$Value: the script is InsertField, the variant says which
         * part of the record it works on. */
        char base[1024];
        const char *variant = NULL, *dollar = strrchr(type, '$');
        snprintf(base, sizeof(base), "%.*s", dollar ? (int)(dollar - type) : (int)strlen(type),
                 type);
        if (dollar && strcmp(dollar, "$Key") == 0) variant = "key";
        if (dollar && strcmp(dollar, "$Value") == 0) variant = "value";
        if (dollar && !variant) {
            lc_appendf(errs, errsz, elen,
                       "%s: key '%s': unknown variant '%s' (use $Key or $Value)\n", label, key,
                       dollar);
            bad = 1;
            continue;
        }
        if (lc_plugins_resolve(plugin_path, base, "transform", path, sizeof(path), err,
                               sizeof(err)) != 0) {
            lc_appendf(errs, errsz, elen, "%s: key '%s': %s\n", label, key, err);
            bad = 1;
            continue;
        }
        s->variant = variant ? strdup(variant) : NULL;
        s->type = strdup(type);
        s->alias = strdup(aliases[i]);
        s->path = strdup(path);
        snprintf(key, sizeof(key), "transforms.%s.", aliases[i]);
        s->config = sub_props(props, key, t_skip);
        snprintf(key, sizeof(key), "transforms.%s.negate", aliases[i]);
        const char *neg = lc_props_get_or(props, key, "false");
        if (strcmp(neg, "true") && strcmp(neg, "false")) {
            lc_appendf(errs, errsz, elen,
                       "%s: key '%s': expected boolean (true or false), got '%s'\n", label, key,
                       neg);
            bad = 1;
        }
        s->negate = strcmp(neg, "true") == 0;
        snprintf(key, sizeof(key), "transforms.%s.predicate", aliases[i]);
        const char *pred = lc_props_get(props, key);
        len++;
        if (!pred || !*pred) continue;
        int listed = 0;
        for (int j = 0; j < np; j++)
            listed |= strcmp(preds[j], pred) == 0;
        if (!listed) {
            lc_appendf(errs, errsz, elen,
                       "%s: key '%s': predicate '%s' is not listed in 'predicates'\n", label, key,
                       pred);
            bad = 1;
            continue;
        }
        snprintf(key, sizeof(key), "predicates.%s.type", pred);
        const char *ptype = lc_props_get(props, key);
        if (!ptype || !*ptype) {
            lc_appendf(errs, errsz, elen, "%s: missing required key '%s'\n", label, key);
            bad = 1;
            continue;
        }
        if (lc_plugins_resolve(plugin_path, ptype, "predicate", path, sizeof(path), err,
                               sizeof(err)) != 0) {
            lc_appendf(errs, errsz, elen, "%s: key '%s': %s\n", label, key, err);
            bad = 1;
            continue;
        }
        s->pred_alias = strdup(pred);
        s->pred_path = strdup(path);
        snprintf(key, sizeof(key), "predicates.%s.", pred);
        s->pred_config = sub_props(props, key, p_skip);
    }
    lc_free_list(aliases, n);
    lc_free_list(preds, np);
    *specs = chain;
    *nspecs = len;
    return bad ? -1 : 0;
}

void lc_chain_free(lc_chain_spec_t *c, int n)
{
    for (int i = 0; c && i < n; i++) {
        free(c[i].alias);
        free(c[i].path);
        free(c[i].type);
        free(c[i].variant);
        lc_props_destroy(c[i].config);
        free(c[i].pred_alias);
        free(c[i].pred_path);
        lc_props_destroy(c[i].pred_config);
    }
    free(c);
}

lc_kv_t lc_chain_kv(const lc_props_t *p)
{
    size_t n = p ? lc_props_count(p) : 0;
    const char **keys = calloc(n + 1, sizeof(char *)), **values = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; keys && values && i < n; i++) {
        keys[i] = lc_props_key(p, i);
        values[i] = lc_props_value(p, i);
    }
    return (lc_kv_t){keys, values, keys && values ? n : 0};
}

void lc_chain_kv_free(lc_kv_t *kv)
{
    free((void *)kv->keys);
    free((void *)kv->values);
    *kv = (lc_kv_t){0};
}

lc_chain_step_t *lc_chain_steps(const lc_chain_spec_t *specs, int n)
{
    lc_chain_step_t *steps = calloc((size_t)(n > 0 ? n : 1), sizeof(*steps));
    for (int i = 0; steps && i < n; i++) {
        const lc_chain_spec_t *s = &specs[i];
        steps[i] = (lc_chain_step_t){.alias = s->alias,
                                     .path = s->path,
                                     .type = s->type,
                                     .variant = s->variant,
                                     .config = lc_chain_kv(s->config),
                                     .negate = s->negate,
                                     .pred_alias = s->pred_alias,
                                     .pred_path = s->pred_path,
                                     .pred_config = lc_chain_kv(s->pred_config)};
    }
    return steps;
}

void lc_chain_steps_free(lc_chain_step_t *steps, int n)
{
    for (int i = 0; steps && i < n; i++) {
        lc_chain_kv_free(&steps[i].config);
        lc_chain_kv_free(&steps[i].pred_config);
    }
    free(steps);
}
