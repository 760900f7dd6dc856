/* main: the luaconnect command line.
 *
 *   luaconnect standalone [--embedded-kafka] WORKER.properties CONNECTOR.properties...
 *   luaconnect distributed WORKER.properties
 *   luaconnect plugins [WORKER.properties]
 *   luaconnect test / spec / new       offline runs, specs, scaffolding (core/cli_*.c)
 *   luaconnect lua FILE [ARGS...]      run a Lua file in a task-like state (tools)
 *   luaconnect config-docs             the core's config keys as Markdown
 *   luaconnect --help | --version */
#include "bridge.h"
#include "chain.h"
#include "cli_api.h"
#include "cli_new.h"
#include "cli_spec.h"
#include "cli_test.h"
#include "config.h"
#include "lc_build.h"
#include "log.h"
#include "plugins.h"
#include "props.h"
#include "rest.h"
#include "watch.h"
#include "distributed.h"
#include "standalone.h"
#include "status_cli.h"
#include "worker.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert((int)LC_LUA_LOG_ERROR == (int)LC_LOG_ERROR &&
                   (int)LC_LUA_LOG_TRACE == (int)LC_LOG_TRACE,
               "bridge.h numbers log levels as log.h does");

/* Scripts' log lines (luaconnect.core.log) go to the worker's log: the bridge's sink. */
static void script_log(int level, const char *ctx, const char *msg)
{
    lc_log((lc_log_level_t)level, ctx, "%s", msg);
}

static int script_log_level(void)
{
    return (int)lc_log_get_level();
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: luaconnect COMMAND [ARGS]\n"
            "\n"
            "Commands:\n"
            "  standalone [--embedded-kafka] WORKER.properties CONNECTOR.properties...\n"
            "        Run a standalone worker with the given connectors (Kafka Connect's\n"
            "        connect-standalone arguments). --embedded-kafka starts an in-memory\n"
            "        broker for trying things out; its data is lost on exit.\n"
            "  distributed WORKER.properties\n"
            "        Run a worker of a cluster (Kafka Connect's connect-distributed arguments\n"
            "        and worker keys): workers with the same group.id share connectors and\n"
            "        tasks through Kafka Connect's config, offset and status topics\n"
            "        (docs/distributed.md).\n"
            "  plugins [WORKER.properties]\n"
            "        List the connectors, transforms and predicates on plugin.path.\n"
            "  test [--worker WORKER.properties] [--connector] CONNECTOR.properties [INPUT.jsonl]\n"
            "        Run a connector offline (no Kafka), printing records as JSON lines\n"
            "        "
            "{\"topic\",\"partition\",\"offset\",\"timestamp\",\"key\",\"value\",\"headers\"}.\n"
            "        Without --connector: its transforms and predicates over the input lines\n"
            "        (stdin when no file). A source with no input (or --connector): its poll()\n"
            "        until --max-records N (100) or --idle-ms MS (1000) without records, with\n"
            "        --offsets OFFSETS.json as task.offsets. A sink with --connector: its put()\n"
            "        (--batch-size N, 500) and flush() over the input lines. Errors on stderr as\n"
            "        'error: record N: STAGE: message', then the offsets it would commit;\n"
            "        exit status 1 if anything failed.\n"
            "  new source|sink|transform|predicate NAME [DIR]\n"
            "        Create a plugin in DIR (./NAME): the script, its spec, an example\n"
            "        connector and worker .properties and a README, ready to run.\n"
            "  spec [FILES|DIRS]\n"
            "        Run *_spec.lua files (those under the current directory when none are\n"
            "        given) with the SDK's spec runner, each in a Lua state of its own; exit\n"
            "        status 1 if any failed.\n"
            "  lua FILE [ARGS...]\n"
            "        Run a Lua file with the luaconnect SDK available (tools, scripts).\n"
            "  status [--url URL] [--interval SECONDS]\n"
            "        A worker's connectors and tasks: states, records/s, totals, errors.\n"
            "  config-docs\n"
            "        Print the worker and connector keys the core reads, as Markdown\n"
            "        (docs/configuration.md).\n"
            "\n"
            "Options:\n"
            "  --help       show this help\n"
            "  --version    show the version\n"
            "\n"
            "SIGINT/SIGTERM stop the worker cleanly: polling stops, producers flush, offsets\n"
            "are committed and scripts are closed.\n");
}

static int cmd_plugins(int argc, char **argv)
{
    lc_props_t *wp = argc > 0 ? lc_props_load_or_report(argv[0]) : lc_props_new();
    if (!wp) return 1;
    char *pp = lc_plugin_path(lc_props_get(wp, "plugin.path"));
    size_t n;
    lc_plugin_info_t *list = lc_plugins_scan(pp, &n);
    printf("%-22s %-10s %-8s %s\n", "NAME", "KIND", "VERSION", "DESCRIPTION");
    for (size_t i = 0; i < n; i++) {
        printf("%-22s %-10s %-8s %s\n", list[i].name, list[i].kind, list[i].version, list[i].doc);
        if (*list[i].aliases)
            printf("%-22s %-10s %-8s   aliases: %s\n", "", "", "", list[i].aliases);
    }
    printf("(plugin.path: %s)\n", pp);
    lc_plugins_free(list, n);
    free(pp);
    lc_props_destroy(wp);
    return 0;
}

static int cmd_lua(int argc, char **argv)
{
    char err[8192];
    if (argc < 1) {
        fprintf(stderr, "luaconnect lua: missing FILE\n");
        return 2;
    }
    char *pp = lc_plugin_path(NULL);
    int status = 0;
    int rc = lc_cli_api_run_file(lc_sdk_dir(), pp, argc, argv, &status, err, sizeof(err));
    free(pp);
    if (rc != 0) {
        fprintf(stderr, "luaconnect: %s\n", err);
        return 1;
    }
    return status;
}

/* Signals go to the main thread only (sigwait below); task threads inherit the mask. */
static void block_signals(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Waits for the next signal of sigs: 1 for SIGHUP, 0 for SIGINT or SIGTERM (stop). */
static int next_signal(sigset_t *sigs)
{
    for (;;) {
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(sigs, NULL, &ts);
        if (sig == SIGHUP) return 1;
        if (sig == SIGINT || sig == SIGTERM) {
            lc_info(NULL, "received %s; stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
            return 0;
        }
    }
}

static int cmd_standalone(int argc, char **argv)
{
    int embedded = 0, i = 0, rc = 1;
    char err[16384];
    lc_props_t *wp = NULL;
    lc_worker_t *w = NULL;
    lc_standalone_t *sh = NULL;
    lc_rest_t *rest = NULL;
    lc_watch_t *watch = NULL;
    sigset_t sigs;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--embedded-kafka") == 0) {
            embedded = 1;
        } else {
            fprintf(stderr, "luaconnect standalone: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (argc - i < 1) {
        fprintf(stderr, "usage: luaconnect standalone [--embedded-kafka] WORKER.properties "
                        "CONNECTOR.properties...\n");
        return 2;
    }
    block_signals(&sigs);

    if (!(wp = lc_props_load_or_report(argv[i]))) goto out;
    const char *level = getenv("LUACONNECT_LOG_LEVEL");
    if (level && lc_log_level_parse(level) >= 0) lc_log_set_level(lc_log_level_parse(level));
    w = lc_worker_new(wp, embedded, err, sizeof(err));
    if (!w) {
        fprintf(stderr, "luaconnect: %s\n", err);
        goto out;
    }
    lc_info(NULL, "luaconnect %s worker started (bootstrap.servers=%s)", LC_VERSION,
            lc_kafka_bootstrap(lc_worker_kafka(w)));
    sh = lc_standalone_new(w);
    rest = lc_rest_start(lc_standalone_herder(sh), wp, err, sizeof(err));
    if (!rest) {
        fprintf(stderr, "luaconnect: %s%s%s: %s\n", "worker config",
                *lc_props_source(wp) ? " " : "", lc_props_source(wp), err);
        goto out;
    }
    lc_worker_set_id(w, lc_rest_id(rest));
    /* Connectors created over REST come back first; files on the command line then apply. */
    lc_standalone_restore(sh);
    for (int k = i + 1; k < argc; k++) {
        lc_props_t *cp = lc_props_load_or_report(argv[k]);
        if (!cp) goto out;
        int bad = lc_standalone_add_connector(sh, cp, err, sizeof(err));
        lc_props_destroy(cp);
        if (bad) {
            fprintf(stderr, "luaconnect: %s: %s\n", argv[k], err);
            goto out;
        }
    }
    lc_standalone_set_ready(sh);
    /* Hot reload: saving a script or a connector file reloads what uses it. */
    if (strcmp(lc_config_string(wp, "hot.reload"), "false") != 0 &&
        !(watch = lc_watch_start(sh, err, sizeof(err))))
        lc_warn(NULL, "%s; reload with SIGHUP or POST /connectors/NAME/reload instead", err);
    while (next_signal(&sigs)) {
        lc_info(NULL, "received SIGHUP; reloading what changed");
        lc_standalone_reload_changed(sh);
    }
    lc_watch_stop(watch);
    watch = NULL;
    lc_rest_stop(rest);
    rest = NULL;
    lc_standalone_stop(sh);
    lc_info(NULL, "worker stopped");
    rc = 0;
out:
    lc_watch_stop(watch);
    lc_rest_stop(rest);
    lc_standalone_destroy(sh);
    lc_worker_destroy(w);
    lc_props_destroy(wp);
    return rc;
}

/* The advertised REST identity of a distributed worker: id "host:port" and its URL. */
static void advertised(const lc_props_t *wp, const char *rest_id, char *id, size_t idsz, char *url,
                       size_t urlsz)
{
    const char *host = lc_config_string(wp, "rest.advertised.host.name");
    const char *port = lc_props_get(wp, "rest.advertised.port");
    const char *lst = lc_config_string(wp, "rest.advertised.listener");
    const char *colon = strrchr(rest_id, ':');
    char h[256];
    snprintf(h, sizeof(h), "%.*s", colon ? (int)(colon - rest_id) : (int)strlen(rest_id), rest_id);
    snprintf(id, idsz, "%s:%s", host && *host ? host : h,
             port && *port && strcmp(port, "0") != 0 ? port
             : colon                                 ? colon + 1
                                                     : "8083");
    const char *scheme = lst && *lst                                                   ? lst
                         : strncmp(lc_config_string(wp, "listeners"), "https", 5) == 0 ? "https"
                                                                                       : "http";
    snprintf(url, urlsz, "%s://%s", scheme, id);
}

static int cmd_distributed(int argc, char **argv)
{
    int rc = 1;
    char err[16384], id[512], url[600];
    lc_props_t *wp = NULL;
    lc_worker_t *w = NULL;
    lc_distributed_t *dh = NULL;
    lc_rest_t *rest = NULL;
    sigset_t sigs;
    if (argc != 1 || argv[0][0] == '-') {
        fprintf(stderr, "usage: luaconnect distributed WORKER.properties\n");
        return 2;
    }
    block_signals(&sigs);
    if (!(wp = lc_props_load_or_report(argv[0]))) goto out;
    const char *level = getenv("LUACONNECT_LOG_LEVEL");
    if (level && lc_log_level_parse(level) >= 0) lc_log_set_level(lc_log_level_parse(level));
    w = lc_worker_new_distributed(wp, err, sizeof(err));
    if (!w || !(dh = lc_distributed_new(w, err, sizeof(err)))) {
        fprintf(stderr, "luaconnect: %s\n", err);
        goto out;
    }
    rest = lc_rest_start(lc_distributed_herder(dh), wp, err, sizeof(err));
    if (!rest) {
        fprintf(stderr, "luaconnect: worker config %s: %s\n", lc_props_source(wp), err);
        goto out;
    }
    advertised(wp, lc_rest_id(rest), id, sizeof(id), url, sizeof(url));
    lc_worker_set_id(w, id);
    lc_info(NULL, "luaconnect %s distributed worker %s started (bootstrap.servers=%s)", LC_VERSION,
            url, lc_kafka_bootstrap(lc_worker_kafka(w)));
    if (lc_distributed_start(dh, url, err, sizeof(err)) != 0) {
        fprintf(stderr, "luaconnect: %s\n", err);
        lc_error(NULL, "%s", err);
        goto out;
    }
    while (next_signal(&sigs))
        lc_info(NULL, "received SIGHUP: nothing to reload in distributed mode");
    lc_rest_stop(rest);
    rest = NULL;
    lc_distributed_stop(dh);
    lc_info(NULL, "worker stopped");
    rc = 0;
out:
    lc_rest_stop(rest);
    lc_distributed_destroy(dh);
    lc_worker_destroy(w);
    lc_props_destroy(wp);
    return rc;
}

int main(int argc, char **argv)
{
    lc_lua_set_log(script_log, script_log_level);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("luaconnect %s (%s, librdkafka %s)\n", LC_VERSION, lc_cli_api_luajit_version(),
               rd_kafka_version_str());
        return 0;
    }
    if (strcmp(argv[1], "standalone") == 0) return cmd_standalone(argc - 2, argv + 2);
    if (strcmp(argv[1], "distributed") == 0) return cmd_distributed(argc - 2, argv + 2);
    if (strcmp(argv[1], "plugins") == 0) return cmd_plugins(argc - 2, argv + 2);
    if (strcmp(argv[1], "lua") == 0) return cmd_lua(argc - 2, argv + 2);
    if (strcmp(argv[1], "status") == 0) return lc_status_cli_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "test") == 0) return lc_cli_test_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "new") == 0) return lc_cli_new_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "spec") == 0) return lc_cli_spec_main(argc - 2, argv + 2);
    if (strcmp(argv[1], "config-docs") == 0) {
        lc_config_write_docs(stdout);
        return 0;
    }
    fprintf(stderr, "luaconnect: unknown command '%s' (try luaconnect --help)\n", argv[1]);
    return 2;
}
