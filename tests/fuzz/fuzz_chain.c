/* fuzz_chain: the transform-chain config parser (core/chain.c) on arbitrary connector
 * configs: the input is .properties text (transforms=, transforms.<alias>.type/.negate/
 * .predicate/.<key>, predicates=, predicates.<alias>.type/.<key>), resolved against the
 * fixture plugin.path tests/fuzz/plugins (a transform and a predicate with Kafka class-name
 * aliases, a connector, a broken script).
 *
 * Properties checked: the result agrees with the config it came from (every step's alias is
 * listed in transforms, its type, variant ($Key/$Value), negate flag and predicate are the
 * configured ones, its config is exactly the transforms.<alias>.* keys other than type,
 * predicate and negate, each with its value); every resolved script lies inside plugin.path;
 * the return code is -1 exactly when an error line was written, and errors name the
 * connector; the binding (lc_chain_api_push) builds one Lua table per step. */
#include "fuzz_common.h"
#include "chain.h"
#include "props.h"
#include "util.h"

#include <limits.h>

static const char *plugin_dir;
static char plugin_real[PATH_MAX];
static lua_State *L;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    plugin_dir = LC_FUZZ_DIR "/plugins";
    if (!realpath(plugin_dir, plugin_real)) abort();
    L = fuzz_state();
    return 0;
}

static int listed(char **list, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0) return 1;
    return 0;
}

/* lc_props_get(p, fmt...), "" for an absent key. */
static const char *getf(const lc_props_t *p, const char *fmt, const char *a, const char *b)
{
    char key[8192];
    snprintf(key, sizeof(key), fmt, a, b ? b : "");
    return lc_props_get(p, key);
}

static void check_config(const lc_props_t *props, const lc_props_t *cfg, const char *prefix,
                         const char *alias, const char *const *skip)
{
    size_t pl = strlen(prefix), al = strlen(alias), want = 0;
    /* Count the configured keys under prefix.alias. that the step should carry. */
    for (size_t i = 0; i < lc_props_count(props); i++) {
        const char *k = lc_props_key(props, i);
        if (strncmp(k, prefix, pl) || strncmp(k + pl, alias, al) || k[pl + al] != '.') continue;
        int skipped = 0;
        for (int j = 0; skip[j]; j++)
            skipped |= strcmp(k + pl + al + 1, skip[j]) == 0;
        want += !skipped;
    }
    for (size_t i = 0; i < lc_props_count(cfg); i++) {
        const char *k = lc_props_key(cfg, i), *v = lc_props_value(cfg, i);
        for (int j = 0; skip[j]; j++)
            FUZZ_ASSERT(strcmp(k, skip[j]) != 0, "%s%s config carries '%s'", prefix, alias, k);
        char full[8192];
        snprintf(full, sizeof(full), "%s%s.%s", prefix, alias, k);
        const char *have = lc_props_get(props, full);
        FUZZ_ASSERT(have && strcmp(have, v) == 0,
                    "%s%s config key '%s'='%s' is not the configured '%s' (%s)", prefix, alias, k,
                    v, full, have ? have : "absent");
    }
    FUZZ_ASSERT(lc_props_count(cfg) == want, "%s%s config has %zu keys, the config %zu", prefix,
                alias, lc_props_count(cfg), want);
}

static void check_inside(const char *path)
{
    char real[PATH_MAX];
    FUZZ_ASSERT(realpath(path, real) != NULL, "resolved script '%s' does not exist", path);
    size_t l = strlen(plugin_real);
    FUZZ_ASSERT(strncmp(real, plugin_real, l) == 0 && real[l] == '/',
                "resolved script '%s' (%s) is outside plugin.path %s", path, real, plugin_real);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const t_skip[] = {"type", "predicate", "negate", NULL};
    static const char *const p_skip[] = {"type", NULL};
    char err[512], errs[4096];
    size_t elen = 0;
    lc_chain_spec_t *specs = NULL;
    int n = 0, na = 0, np = 0;

    lc_props_t *props = lc_props_new();
    if (lc_props_parse_string(props, "fuzz.properties", (const char *)data, size, err,
                              sizeof(err)) != 0) {
        lc_props_destroy(props);
        return 0;
    }
    errs[0] = '\0';
    int rc = lc_chain_parse(plugin_dir, props, "fuzz", &specs, &n, errs, sizeof(errs), &elen);
    FUZZ_ASSERT(elen < sizeof(errs) && strlen(errs) == elen, "error length %zu, text %zu", elen,
                strlen(errs));
    FUZZ_ASSERT((rc != 0) == (elen > 0), "rc %d with errors '%s'", rc, errs);
    /* Aliases may hold any character (\n included), so only the first line is sure to be
     * one error's start; a full buffer cuts the last line. */
    FUZZ_ASSERT(elen == 0 || strncmp(errs, "fuzz: ", 6) == 0, "error without the connector: %s",
                errs);
    FUZZ_ASSERT(elen == 0 || errs[elen - 1] == '\n' || elen == sizeof(errs) - 1,
                "error text does not end a line: %s", errs);

    char **aliases = lc_split_list(lc_props_get(props, "transforms"), &na);
    char **preds = lc_split_list(lc_props_get(props, "predicates"), &np);
    FUZZ_ASSERT(n >= 0 && n <= na, "%d steps from %d aliases", n, na);
    for (int i = 0; i < n; i++) {
        const lc_chain_spec_t *s = &specs[i];
        FUZZ_ASSERT(s->alias && listed(aliases, na, s->alias), "step %d alias '%s' not listed", i,
                    s->alias ? s->alias : "(null)");
        const char *type = getf(props, "transforms.%s.type", s->alias, NULL);
        FUZZ_ASSERT(type && s->type && strcmp(type, s->type) == 0,
                    "step %s type '%s', configured '%s'", s->alias, s->type ? s->type : "(null)",
                    type ? type : "(absent)");
        const char *dollar = strrchr(type, '$');
        const char *variant = !dollar                         ? NULL
                              : strcmp(dollar, "$Key") == 0   ? "key"
                              : strcmp(dollar, "$Value") == 0 ? "value"
                                                              : "(bad)";
        FUZZ_ASSERT((!variant && !s->variant) ||
                        (variant && s->variant && strcmp(variant, s->variant) == 0),
                    "step %s type '%s' gave variant %s", s->alias, type,
                    s->variant ? s->variant : "(none)");
        check_inside(s->path);
        const char *neg = getf(props, "transforms.%s.negate", s->alias, NULL);
        FUZZ_ASSERT(s->negate == (neg && strcmp(neg, "true") == 0), "step %s negate %d for '%s'",
                    s->alias, s->negate, neg ? neg : "(absent)");
        check_config(props, s->config, "transforms.", s->alias, t_skip);
        const char *pred = getf(props, "transforms.%s.predicate", s->alias, NULL);
        if (s->pred_path) {
            FUZZ_ASSERT(pred && s->pred_alias && strcmp(pred, s->pred_alias) == 0 &&
                            listed(preds, np, pred),
                        "step %s predicate '%s', configured '%s'", s->alias, s->pred_alias,
                        pred ? pred : "(absent)");
            check_inside(s->pred_path);
            check_config(props, s->pred_config, "predicates.", s->pred_alias, p_skip);
        } else {
            FUZZ_ASSERT(rc != 0 || !pred || !*pred, "step %s lost its predicate '%s'", s->alias,
                        pred);
        }
    }

    int top = lua_gettop(L);
    lc_chain_step_t *steps = lc_chain_steps(specs, n);
    lc_chain_api_push(L, steps, n);
    FUZZ_ASSERT(lua_gettop(L) == top + 1 && (int)lua_objlen(L, -1) == n,
                "lc_chain_api_push: %d steps in Lua, %d in C", (int)lua_objlen(L, -1), n);
    lua_settop(L, top);
    lc_chain_steps_free(steps, n);

    lc_free_list(aliases, na);
    lc_free_list(preds, np);
    lc_chain_free(specs, n);
    lc_props_destroy(props);
    return 0;
}
