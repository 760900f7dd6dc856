/* cli_new: the `luaconnect new source|sink|transform|predicate NAME [DIR]` command — checks
 * the arguments, creates DIR (./NAME by default) and runs the SDK's templates (lua/_new.lua)
 * in it: a plugin script, its spec, example .properties and input, and a README that run as
 * generated. Depends on plugins, cli_api. */
#ifndef LC_CLI_NEW_H
#define LC_CLI_NEW_H

/** Runs `luaconnect new ARGS` (argv without the command); returns the exit status: 0, 1 when
 * a file exists or cannot be written, 2 on a usage error. */
int lc_cli_new_main(int argc, char **argv);

#endif
