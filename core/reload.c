/* reload: see reload.h. */
#include "reload.h"
#include "task.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* transforms, predicates and their transforms.* / predicates.* settings. */
static int is_chain_key(const char *k)
{
    return strcmp(k, "transforms") == 0 || strcmp(k, "predicates") == 0 ||
           strncmp(k, "transforms.", 11) == 0 || strncmp(k, "predicates.", 11) == 0;
}

/* 1 when a and b hold the same keys and values (the chain's keys left out if skip_chain). */
int lc_reload_props_equal(const lc_props_t *a, const lc_props_t *b, int skip_chain)
{
    size_t n[2] = {0, 0};
    for (int pass = 0; pass < 2; pass++) {
        const lc_props_t *x = pass ? b : a, *y = pass ? a : b;
        for (size_t i = 0; i < lc_props_count(x); i++) {
            const char *k = lc_props_key(x, i);
            if (skip_chain && is_chain_key(k)) continue;
            const char *v = lc_props_get(y, k);
            if (!v || strcmp(v, lc_props_value(x, i)) != 0) return 0;
            n[pass]++;
        }
    }
    return n[0] == n[1];
}

/* Keys whose change needs new Kafka clients or a new task layout: the tasks restart. */
int lc_reload_restart_keys_differ(const lc_props_t *a, const lc_props_t *b)
{
    static const char *const prefixes[] = {"topics",
                                           "key.converter",
                                           "value.converter",
                                           "producer.override.",
                                           "consumer.override.",
                                           "errors.deadletterqueue.",
                                           "tasks.max"};
    for (int pass = 0; pass < 2; pass++) {
        const lc_props_t *x = pass ? b : a, *y = pass ? a : b;
        for (size_t i = 0; i < lc_props_count(x); i++) {
            const char *k = lc_props_key(x, i);
            for (size_t j = 0; j < sizeof(prefixes) / sizeof(*prefixes); j++)
                if (strncmp(k, prefixes[j], strlen(prefixes[j])) == 0) {
                    const char *v = lc_props_get(y, k);
                    if (!v || strcmp(v, lc_props_value(x, i)) != 0) return 1;
                }
        }
    }
    return 0;
}

/* 1 when a file of c changed since it was validated; *only_chain tells whether every
 * changed file is a transform or predicate script. */
int lc_reload_files_changed(const lc_connector_t *c, int *only_chain)
{
    int changed = 0;
    *only_chain = 1;
    for (int i = 0; i < c->nfiles; i++) {
        unsigned long long h;
        if (lc_file_hash(c->files[i], &h) == 0 && h == c->hashes[i]) continue;
        changed = 1;
        if (!lc_connector_is_chain_file(c, c->files[i])) *only_chain = 0;
    }
    return changed;
}

/* Prefixes each error line that names a key of the .properties file with FILE:LINE. */
void lc_reload_locate_errors(const lc_props_t *props, const char *file, char *errs, size_t errsz)
{
    char out[16384];
    size_t len = 0;
    out[0] = 0;
    for (char *line = errs; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        const char *k = strstr(line, "key '");
        int at = 0;
        if (k) {
            char key[512];
            const char *q = strchr(k + 5, '\'');
            snprintf(key, sizeof(key), "%.*s", q ? (int)(q - k - 5) : 0, k + 5);
            at = lc_props_line(props, key);
        }
        if (at)
            lc_appendf(out, sizeof(out), &len, "%s%s:%d: %s", len ? "\n" : "", file, at, line);
        else
            lc_appendf(out, sizeof(out), &len, "%s%s", len ? "\n" : "", line);
        line = nl ? nl + 1 : NULL;
    }
    snprintf(errs, errsz, "%s", out);
}

/* An error as a user reads it after a save: "<file>:<line>: <message>", without the
 * connector prefix and the SDK's stack traceback. Edits errs in place. */
char *lc_reload_strip_error(char *errs, const char *name)
{
    char prefix[1024];
    snprintf(prefix, sizeof(prefix), "connector '%s': ", name);
    char *tb = strstr(errs, "\nstack traceback:");
    if (tb) *tb = 0;
    size_t pl = strlen(prefix);
    for (char *p = strstr(errs, prefix); p; p = strstr(p, prefix))
        memmove(p, p + pl, strlen(p + pl) + 1);
    return errs;
}

/* Hands n to every task of c and waits until each has taken it at a batch boundary.
 * Returns 1 when all did. Caller holds op. */
int lc_reload_hand_over(lc_connector_t *c, lc_connector_t *n, int mode)
{
    for (int i = 0; i < c->ntasks; i++) {
        lc_task_t *t = c->tasks[i];
        t->swap_config = strdup(n->tasks[i]->config_json);
        t->swap_mode = mode;
        atomic_store_explicit(&t->swap_conn, n, memory_order_release);
    }
    long long deadline = lc_now_ms() + 4 * c->env->shutdown_ms + 10000;
    for (;;) {
        int pending = 0, dead = 0;
        for (int i = 0; i < c->ntasks; i++) {
            lc_task_t *t = c->tasks[i];
            if (!atomic_load_explicit(&t->swap_conn, memory_order_acquire)) continue;
            pending++;
            dead |= t->started != 1 || t->state == LC_TASK_FAILED || t->state == LC_TASK_STOPPED;
        }
        if (!pending) return 1;
        if (dead || lc_now_ms() > deadline) return 0;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* 1 when every task of c runs (or is paused): they can take new code in place. */
int lc_reload_tasks_running(const lc_connector_t *c)
{
    int running = c->script_path && c->ntasks > 0 &&
                  (c->state == LC_TASK_RUNNING || c->state == LC_TASK_PAUSED);
    for (int i = 0; running && i < c->ntasks; i++)
        running = c->tasks[i]->started == 1 &&
                  (c->tasks[i]->state == LC_TASK_RUNNING || c->tasks[i]->state == LC_TASK_PAUSED);
    return running;
}

/* See reload.h. */
void lc_reload_move_tasks(lc_connector_t *c, lc_connector_t *n)
{
    lc_connector_tasks_free(n->tasks, n->ntasks);
    n->tasks = c->tasks;
    n->ntasks = c->ntasks;
    n->state = c->state;
    c->tasks = NULL;
    c->ntasks = 0;
}

/* 1 when a transform or predicate script of c changed, or the transforms config did. */
int lc_reload_chain_changed(const lc_connector_t *c, const lc_props_t *props)
{
    if (!lc_reload_props_equal(c->props, props, 0)) return 1;
    for (int i = 0; i < c->nfiles; i++) {
        unsigned long long h;
        if (lc_connector_is_chain_file(c, c->files[i]) &&
            (lc_file_hash(c->files[i], &h) != 0 || h != c->hashes[i]))
            return 1;
    }
    return 0;
}
