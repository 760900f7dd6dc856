/* cli_api: what the command line runs in a Lua state of its own — `luaconnect lua FILE`
 * (a Lua file with the SDK available: the specs and tools) and `luaconnect test` (a
 * connector's transform chain run offline over JSON lines by luaconnect._test_run, with
 * converter objects that convert exactly as tasks do).
 * Depends on bridge, codec, chain_api. */
#ifndef LC_CLI_API_H
#define LC_CLI_API_H

#include <stddef.h>

#include "chain_api.h"

/** The LuaJIT version the binary was built with ("LuaJIT 2.1.x"), for --version. */
const char *lc_cli_api_luajit_version(void);
/** Runs the Lua file argv[0] with arg = argv (arg[0] the file) and argv[1..] as its
 * arguments; *status gets the number the file returns, else 0. Returns 0, or -1 with errstr
 * (a load error, or the error with its traceback). */
int lc_cli_api_run_file(const char *sdk_dir, const char *plugin_path, int argc, char **argv,
                        int *status, char *errstr, size_t errstr_size);

/** What `luaconnect test` runs; strings and arrays are borrowed. */
typedef struct lc_cli_test_in {
    const char *sdk_dir, *plugin_path;
    const char *label;            /* "connector 'name'" */
    const lc_chain_step_t *chain; /* the connector's transform chain */
    int chain_len;
    const char *key_class, *key_schemas; /* key converter class and its schemas.enable */
    const char *value_class, *value_schemas;
    const char *connector_file; /* the connector's .properties: names converter errors */
    const char *input;          /* JSON lines file; NULL or "-": stdin */
    const char *mode;           /* "chain", "source" (poll()) or "sink" (put()/flush()) */
    const char *name;           /* the connector's name (task.name) */
    const char *script_path;    /* source/sink: the connector script */
    const char *task_config;    /* source/sink: task 0's config as planned, JSON */
    const char *offsets_file;   /* source: task.offsets from this KIP-875 JSON file, or NULL */
    long max_records, idle_ms;  /* source: stop after max_records, or idle_ms without any */
    long batch_size;            /* sink: records per put() */
} lc_cli_test_in_t;

/** Runs the chain over the input (or the source's poll(), or the sink's put() over the
 * input), printing output lines on stdout, record errors and offsets on stderr; *failed gets
 * the number of failures. Returns 0, or -1 with errstr
 * (a converter error starts with the connector file). */
int lc_cli_api_test(const lc_cli_test_in_t *in, int *failed, char *errstr, size_t errstr_size);

#endif
