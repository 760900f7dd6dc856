/* status_cli: `luaconnect status [--url U] [--interval S]`, a terminal view of a worker's
 * connectors and tasks (state, worker, records/s, totals, errors, the first line of a
 * failure) in 80 columns, from its REST API: GET /connectors?expand=status&expand=info and
 * two samples of GET /metrics, --interval seconds apart (records/s = the difference). Works
 * against Kafka Connect too (without /metrics the rates show '-').
 * Depends on http_client, jansson. */
#ifndef LC_STATUS_CLI_H
#define LC_STATUS_CLI_H

/** Runs the command with its arguments (after "status"); returns the exit status: 0, 1 when
 * the worker cannot be reached or answers with an error, 2 on bad arguments. */
int lc_status_cli_main(int argc, char **argv);

#endif
