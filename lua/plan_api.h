/* plan_api: planning a connector in a scratch lua_State, before any task starts. The
 * script validates the config against its own definitions and lays out its tasks
 * (luaconnect._plan), the transform chain is built once to validate it (_chain), and the
 * files the code came from are listed (_script_files). The state is closed before
 * returning; nothing of Lua leaves this module but strings.
 * Depends on bridge, codec, chain_api. */
#ifndef LC_PLAN_API_H
#define LC_PLAN_API_H

#include <stddef.h>

#include "chain_api.h"

/** What a connector is planned from; strings are borrowed. */
typedef struct lc_plan_in {
    const char *sdk_dir, *plugin_path; /* for the scratch state's require() */
    const char *script_path;           /* the connector script */
    const char *label;                 /* "connector 'name'": starts error lines */
    lc_kv_t config;                    /* the connector config as given */
    int max_tasks;                     /* tasks.max */
    const lc_chain_step_t *chain;      /* the transform chain, validated when check_chain */
    int chain_len;
    int check_chain; /* 0 when the chain config had errors already (listed by the caller) */
} lc_plan_in_t;

/** What planning yields; every string and array is owned (lc_plan_free). */
typedef struct lc_plan {
    int is_source;       /* the script's kind: 1 source, 0 sink */
    char **task_configs; /* one JSON object per task (keys sorted), from task_configs() */
    int ntasks;
    char **secrets; /* keys whose definition is a password (NULL-terminated) */
    int nsecrets;
    char **files; /* every script loaded and module required, sorted */
    int nfiles;
    char *version; /* the script's version (connect.source{version=...}), or NULL */
} lc_plan_t;

/** Plans in->script_path with in->config in a scratch state and fills *out (zeroed first).
 * Appends one line per error to errs at *elen (as lc_chain_parse does) and returns -1 on
 * any; *out then holds what was planned so far (free it either way). */
int lc_plan_run(const lc_plan_in_t *in, lc_plan_t *out, char *errs, size_t errs_size, size_t *elen);
/** Frees what lc_plan_run filled in p (not p); safe on a zeroed struct. */
void lc_plan_free(lc_plan_t *p);
/** Validates a transform chain on its own in a scratch state (hot reload of transforms).
 * Returns 0, or -1 with errstr. */
int lc_plan_check_chain(const char *sdk_dir, const char *plugin_path, const char *label,
                        const lc_chain_step_t *chain, int chain_len, char *errstr,
                        size_t errstr_size);

#endif
