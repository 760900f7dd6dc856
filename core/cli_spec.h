/* cli_spec: the `luaconnect spec [FILES|DIRS]` command — runs *_spec.lua files with the spec
 * runner the SDK ships (lua/_spec_runner.lua, the one the project's own tests/lua use), each file
 * in a Lua state of its own, so a connector repository's CI is one line. Depends on
 * plugins, cli_api. */
#ifndef LC_CLI_SPEC_H
#define LC_CLI_SPEC_H

/** Runs `luaconnect spec ARGS` (argv without the command): the given files, the *_spec.lua
 * files under the given directories, or under the current directory when none. Returns the
 * exit status: 0 when every spec passed, 1 otherwise. */
int lc_cli_spec_main(int argc, char **argv);

#endif
