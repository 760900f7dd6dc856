/* cli_test: see cli_test.h. */
#include "cli_test.h"
#include "chain.h"
#include "cli_api.h"
#include "plan_api.h"
#include "plugin_api.h"
#include "log.h"
#include "plugins.h"
#include "props.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE                                                                                      \
    "usage: luaconnect test [--worker WORKER.properties] [--connector] [--max-records N]\n"        \
    "                       [--idle-ms MS] [--offsets OFFSETS.json] [--batch-size N]\n"            \
    "                       CONNECTOR.properties [INPUT.jsonl]\n"

/* The converter of part ("key"/"value"): the connector's, else the worker's, else
 * JsonConverter; schemas.enable defaults to false offline. */
static void test_converter(const lc_props_t *cp, const lc_props_t *wp, const char *part,
                           const char **cls, const char **schemas)
{
    char key[64], skey[64];
    snprintf(key, sizeof(key), "%s.converter", part);
    snprintf(skey, sizeof(skey), "%s.converter.schemas.enable", part);
    const lc_props_t *from = lc_props_get(cp, key) ? cp : wp;
    *cls = lc_props_get_or(from, key, "org.apache.kafka.connect.json.JsonConverter");
    *schemas = lc_props_get_or(from, skey, "false");
}

/* A positive number option; prints the usage error and returns -1 when it is not one. */
static int number_arg(const char *opt, const char *value, long *out)
{
    char *end = NULL;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || *end || v < 0 || (v == 0 && strcmp(opt, "--idle-ms") != 0)) {
        fprintf(stderr, "luaconnect test: %s needs a positive number, got '%s'\n", opt,
                value ? value : "");
        return -1;
    }
    *out = v;
    return 0;
}

/* Validates the connector config as the worker does and fills task 0's config (JSON) and the
 * script's kind. Prints the errors; returns 0 or -1. */
static int plan(const char *file, const char *pp, const char *script, const lc_props_t *cp,
                const char *label, lc_plan_t *p)
{
    char errs[16384];
    size_t elen = 0;
    errs[0] = 0;
    lc_plan_in_t in = {.sdk_dir = lc_sdk_dir(),
                       .plugin_path = pp,
                       .script_path = script,
                       .label = label,
                       .config = lc_chain_kv(cp),
                       .max_tasks = 1};
    int rc = lc_plan_run(&in, p, errs, sizeof(errs), &elen);
    lc_chain_kv_free(&in.config);
    if (rc == 0 && p->ntasks < 1) {
        snprintf(errs, sizeof(errs), "%s: task_configs() returned no task\n", label);
        rc = -1;
    }
    if (rc != 0) fprintf(stderr, "luaconnect: %s: %s", file, errs);
    return rc;
}

/* 1 when the script at path loads and is a source; 0 otherwise (its errors come later). */
static int is_source_script(const char *pp, const char *path)
{
    char err[1024];
    lc_plugin_desc_t d;
    int yes = 0;
    lc_plugin_api_t *api = lc_plugin_api_new(lc_sdk_dir(), pp, err, sizeof(err));
    if (api && lc_plugin_api_describe(api, path, &d, err, sizeof(err)) == 0) {
        yes = strcmp(d.kind, "source") == 0;
        free(d.kind);
        free(d.version);
        free(d.doc);
        free(d.aliases);
    }
    lc_plugin_api_destroy(api);
    return yes;
}

int lc_cli_test_main(int argc, char **argv)
{
    char err[16384], script[4096], label[1024];
    size_t elen = 0;
    int rc = 1, i = 0, nspecs = 0, failed = 0, force = 0;
    lc_props_t *wp = NULL, *cp = NULL;
    lc_chain_spec_t *specs = NULL;
    lc_chain_step_t *steps = NULL;
    lc_plan_t planned = {0};
    char *pp = NULL;
    const char *worker = NULL, *offsets = NULL;
    long max_records = 100, idle_ms = 1000, batch_size = 500;
    /* Scripts' info lines would bury the output; LUACONNECT_LOG_LEVEL shows them. */
    const char *level = getenv("LUACONNECT_LOG_LEVEL");
    lc_log_set_level(level && lc_log_level_parse(level) >= 0 ? lc_log_level_parse(level)
                                                             : LC_LOG_WARN);
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--connector") == 0) {
            force = 1;
            continue;
        }
        if (!val) goto usage;
        if (strcmp(opt, "--worker") == 0)
            worker = val;
        else if (strcmp(opt, "--offsets") == 0)
            offsets = val;
        else if (strcmp(opt, "--max-records") == 0) {
            if (number_arg(opt, val, &max_records) != 0) return 2;
        } else if (strcmp(opt, "--idle-ms") == 0) {
            if (number_arg(opt, val, &idle_ms) != 0) return 2;
        } else if (strcmp(opt, "--batch-size") == 0) {
            if (number_arg(opt, val, &batch_size) != 0) return 2;
        } else {
            fprintf(stderr, "luaconnect test: unknown option '%s'\n", opt);
            goto usage;
        }
        i++;
    }
    if (argc - i < 1 || argc - i > 2) goto usage;
    wp = worker ? lc_props_load_or_report(worker) : lc_props_new();
    if (!wp) return 1;
    if (!(cp = lc_props_load_or_report(argv[i]))) goto out;
    const char *file = argv[i], *input = argc - i == 2 ? argv[i + 1] : NULL;
    const char *name = lc_props_get_or(cp, "name", file);
    snprintf(label, sizeof(label), "connector '%s'", name);
    pp = lc_plugin_path(lc_props_get(wp, "plugin.path"));
    err[0] = 0;
    if (lc_chain_parse(pp, cp, label, &specs, &nspecs, err, sizeof(err), &elen) != 0) {
        fprintf(stderr, "luaconnect: %s: %s", file, err);
        goto out;
    }
    /* The connector itself runs with --connector, and for a source given no input (there is
     * nothing else to run); otherwise only the chain, as before connectors could run. */
    const char *mode = "chain", *cls = lc_props_get(cp, "connector.class");
    script[0] = 0;
    if (!force && cls && !input &&
        lc_plugins_resolve(pp, cls, "connector", script, sizeof(script), err, sizeof(err)) == 0)
        force = is_source_script(pp, script);
    if (force) {
        if (!cls) {
            fprintf(stderr, "luaconnect: %s: %s: missing required key 'connector.class'\n", file,
                    label);
            goto out;
        }
        if (lc_plugins_resolve(pp, cls, "connector", script, sizeof(script), err, sizeof(err)) !=
            0) {
            fprintf(stderr, "luaconnect: %s: %s: key 'connector.class': %s\n", file, label, err);
            goto out;
        }
        if (plan(file, pp, script, cp, label, &planned) != 0) goto out;
        mode = planned.is_source ? "source" : "sink";
        if (planned.is_source && input) {
            fprintf(stderr,
                    "luaconnect: %s: %s is a source: its records come from poll(), not "
                    "from %s\n",
                    file, label, input);
            goto out;
        }
        if (!planned.is_source && !input) input = "-";
    }
    steps = lc_chain_steps(specs, nspecs);
    lc_cli_test_in_t in = {.sdk_dir = lc_sdk_dir(),
                           .plugin_path = pp,
                           .label = label,
                           .chain = steps,
                           .chain_len = nspecs,
                           .connector_file = file,
                           .input = input,
                           .mode = mode,
                           .name = name,
                           .script_path = script,
                           .task_config = planned.ntasks > 0 ? planned.task_configs[0] : NULL,
                           .offsets_file = offsets,
                           .max_records = max_records,
                           .idle_ms = idle_ms,
                           .batch_size = batch_size};
    test_converter(cp, wp, "key", &in.key_class, &in.key_schemas);
    test_converter(cp, wp, "value", &in.value_class, &in.value_schemas);
    if (lc_cli_api_test(&in, &failed, err, sizeof(err)) != 0) {
        fprintf(stderr, "luaconnect: %s\n", err);
        goto out;
    }
    rc = failed > 0 ? 1 : 0;
out:
    lc_plan_free(&planned);
    lc_chain_steps_free(steps, nspecs);
    lc_chain_free(specs, nspecs);
    free(pp);
    lc_props_destroy(cp);
    lc_props_destroy(wp);
    return rc;
usage:
    fputs(USAGE, stderr);
    lc_props_destroy(wp);
    return 2;
}
