/* cli_new: see cli_new.h. */
#include "cli_new.h"
#include "cli_api.h"
#include "plugins.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define USAGE "usage: luaconnect new source|sink|transform|predicate NAME [DIR]\n"

/* A plugin's name is its file name and what connector.class / transforms.x.type say: a
 * letter, then letters, digits, '_' or '-' (a leading '_' would make it a private module). */
static int valid_name(const char *s)
{
    if (!isalpha((unsigned char)*s)) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
    return 1;
}

int lc_cli_new_main(int argc, char **argv)
{
    static const char *const kinds[] = {"source", "sink", "transform", "predicate"};
    char err[8192], runner[PATH_MAX];
    if (argc < 2 || argc > 3) {
        fputs(USAGE, stderr);
        return 2;
    }
    int known = 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
        known |= strcmp(argv[0], kinds[i]) == 0;
    if (!known) {
        fprintf(stderr,
                "luaconnect new: unknown kind '%s' (source, sink, transform or predicate)\n",
                argv[0]);
        return 2;
    }
    if (!valid_name(argv[1])) {
        fprintf(stderr,
                "luaconnect new: invalid name '%s': a letter, then letters, digits, '_' or '-'\n",
                argv[1]);
        return 2;
    }
    const char *dir = argc == 3 ? argv[2] : argv[1];
    if (lc_make_dirs(dir, 0777) != 0) {
        fprintf(stderr, "luaconnect new: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(runner, sizeof(runner), "%s/_new.lua", lc_sdk_dir());
    char *args[] = {runner, argv[0], argv[1], (char *)dir, (char *)lc_sdk_dir()};
    int status = 0;
    char *pp = lc_plugin_path(NULL);
    int rc = lc_cli_api_run_file(lc_sdk_dir(), pp, 5, args, &status, err, sizeof(err));
    free(pp);
    if (rc != 0) {
        fprintf(stderr, "luaconnect new: %s\n", err);
        return 1;
    }
    return status;
}
