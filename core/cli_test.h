/* cli_test: the `luaconnect test` command — a connector config's transforms run offline over
 * JSON lines, or the connector itself (a source's poll(), a sink's put()/flush()), with no
 * Kafka (docs/errors.md). Parses the arguments and the properties, resolves and plans the
 * connector, and hands the run to cli_api. Depends on props, chain, plugins, plan_api,
 * cli_api. */
#ifndef LC_CLI_TEST_H
#define LC_CLI_TEST_H

/** Runs `luaconnect test ARGS` (argv without the command); returns the exit status: 0, 1 when
 * a record or the run failed, 2 on a usage error. */
int lc_cli_test_main(int argc, char **argv);

#endif
