/* fuzz_plugins: the plugin.path resolver (core/plugins.c, lc_plugins_resolve) on arbitrary
 * names: connector.class, transforms.<a>.type and predicates.<p>.type reach it from REST
 * bodies, so the name is untrusted while plugin.path and its contents are trusted.
 *
 * Input: first byte picks the kind (connector, transform, predicate, any), the rest is the
 * name. The fixture, made once in a temporary directory that becomes the working directory:
 *   plugins/a/{x.lua (transform), sub/y.lua, ext -> ../../outside, notes.txt}
 *   plugins/b/p.lua (predicate), plugins/a-evil/z.lua (a sibling whose name extends a's),
 *   outside/evil.lua, outside/link -> ../plugins/a
 * with plugin.path "plugins/a,<absolute>/plugins/b" (one relative, one absolute entry).
 * Property: whatever the name, a resolved path exists and, with symlinks and ".." resolved,
 * lies strictly inside one of the plugin.path directories. */
#include "fuzz_common.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[PATH_MAX], plugin_path[2 * PATH_MAX], real_a[PATH_MAX], real_b[PATH_MAX];

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

static void cleanup(void)
{
    static const char *const files[] = {
        "plugins/a/x.lua",     "plugins/a/sub/y.lua", "plugins/a/ext",
        "plugins/a/notes.txt", "plugins/b/p.lua",     "plugins/a-evil/z.lua",
        "outside/evil.lua",    "outside/link",        NULL};
    static const char *const dirs[] = {"plugins/a/sub", "plugins/a", "plugins/b", "plugins/a-evil",
                                       "plugins",       "outside",   NULL};
    if (!*root || chdir(root) != 0) return;
    for (int i = 0; files[i]; i++)
        unlink(files[i]);
    for (int i = 0; dirs[i]; i++)
        rmdir(dirs[i]);
    if (chdir("/") == 0) rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char transform[] =
        "local c = require 'luaconnect'\n"
        "return c.transform { version = '1', aliases = { 'X', 'org.example.X' },\n"
        "  apply = function(r) return r end }\n";
    static const char predicate[] = "local c = require 'luaconnect'\n"
                                    "return c.predicate { version = '1', aliases = { 'P' }, test = "
                                    "function() return true end }\n";
    static const char source[] = "local c = require 'luaconnect'\n"
                                 "return c.source { version = '1', aliases = { 'Evil' }, poll = "
                                 "function() return {} end }\n";
    snprintf(root, sizeof(root), "/tmp/lc-fuzz-plugins-XXXXXX");
    if (!mkdtemp(root) || chdir(root) != 0) abort();
    atexit(cleanup);
    if (mkdir("plugins", 0700) || mkdir("plugins/a", 0700) || mkdir("plugins/a/sub", 0700) ||
        mkdir("plugins/b", 0700) || mkdir("plugins/a-evil", 0700) || mkdir("outside", 0700))
        abort();
    put_file("plugins/a/x.lua", transform);
    put_file("plugins/a/sub/y.lua", transform);
    put_file("plugins/a/notes.txt", "not a script\n");
    put_file("plugins/b/p.lua", predicate);
    put_file("plugins/a-evil/z.lua", source);
    put_file("outside/evil.lua", source);
    if (symlink("../../outside", "plugins/a/ext") || symlink("../plugins/a", "outside/link"))
        abort();
    if (!realpath("plugins/a", real_a) || !realpath("plugins/b", real_b)) abort();
    snprintf(plugin_path, sizeof(plugin_path), "plugins/a,%s", real_b);
    return 0;
}

static int inside(const char *real, const char *dir)
{
    size_t l = strlen(dir);
    return strncmp(real, dir, l) == 0 && real[l] == '/';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const kinds[] = {"connector", "transform", "predicate", "any"};
    char name[4096], out[PATH_MAX + 256], err[2048], real[PATH_MAX];

    if (size < 1 || size > sizeof(name)) return 0;
    const char *kind = kinds[data[0] % 4];
    memcpy(name, data + 1, size - 1);
    name[size - 1] = '\0';
    if (memchr(data + 1, '\0', size - 1)) return 0; /* names are C strings */

    if (lc_plugins_resolve(plugin_path, name, kind, out, sizeof(out), err, sizeof(err)) != 0) {
        FUZZ_ASSERT(err[0] != '\0', "failed without a message for '%s'", name);
        return 0;
    }
    FUZZ_ASSERT(realpath(out, real) != NULL, "'%s' resolved to '%s', which does not exist", name,
                out);
    FUZZ_ASSERT(inside(real, real_a) || inside(real, real_b),
                "'%s' (%s) resolved to '%s' = %s, outside plugin.path %s", name, kind, out, real,
                plugin_path);
    return 0;
}
