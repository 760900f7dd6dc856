/* task_api: the Lua side of one task — its lua_State, the task table the SDK's batch
 * functions take (luaconnect._task_open: the script loaded, its open() run, the chain
 * built), `task.offsets:get(partition)`, a transforms-only reload (_rechain) and close().
 * The state is the task's handle: the core keeps the lua_State pointer and never looks
 * inside it. Offsets come from the core through a callback, so the binding does not know
 * the offset store.
 * Depends on bridge, codec, chain_api. */
#ifndef LC_TASK_API_H
#define LC_TASK_API_H

#include <stdatomic.h>
#include <stddef.h>

#include "chain_api.h"

/** The stored offset (JSON text, malloc'd: the binding frees it) under key, Kafka
 * Connect's ["<connector>",{partition}] with partition keys sorted; NULL when none. */
typedef char *(*lc_offsets_get_fn)(void *opaque, const char *key);

/** What a task's state is opened with; strings and arrays are borrowed for the call. */
typedef struct lc_task_api_in {
    const char *sdk_dir, *plugin_path; /* for require() */
    atomic_int *stop_flag;             /* polled by the count hook (may be NULL) */
    const char *script_path;           /* the connector script */
    const char *config_json;           /* this task's config (a JSON object) */
    int id;                            /* task id */
    const char *name;                  /* connector name */
    const lc_chain_step_t *chain;      /* the transform chain */
    int chain_len;
    int tolerant;                  /* errors.tolerance=all */
    long retry_timeout_ms;         /* errors.retry.timeout */
    long retry_delay_max_ms;       /* errors.retry.delay.max.ms */
    lc_offsets_get_fn offsets_get; /* task.offsets:get */
    void *offsets_opaque;          /* its first argument */
} lc_task_api_in_t;

/** Creates the task's state and runs _task_open (the script's open()); the task table is
 * kept in the state (lc_task_api_push). NULL with errstr on failure. */
lua_State *lc_task_api_open(const lc_task_api_in_t *in, char *errstr, size_t errstr_size);
/** Pushes the task table created by lc_task_api_open. */
void lc_task_api_push(lua_State *L);
/** Replaces the task's transform chain with the n steps (built in L, the scripts loaded
 * anew). Returns 0, or -1 with errstr. */
int lc_task_api_rechain(lua_State *L, const lc_chain_step_t *steps, int n, char *errstr,
                        size_t errstr_size);
/** Runs the script's close() (also after the stop flag interrupted the script); L stays
 * open. Returns 0, or -1 with errstr. */
int lc_task_api_close(lua_State *L, char *errstr, size_t errstr_size);
/** Frees the task's state; NULL is a no-op. */
void lc_task_api_free(lua_State *L);
/** Calls fn(opaque, alias, dropped, timed, timed_ns) for each transform of the task's chain:
 * the records it dropped since the chain was built (open or a hot reload), and the records it
 * was timed on (one in 256, luaconnect.lua's sampling) with the ns they took. */
void lc_task_api_chain_dropped(lua_State *L,
                               void (*fn)(void *opaque, const char *alias, double dropped,
                                          double timed, double timed_ns),
                               void *opaque);
/** The memory L uses, in bytes (Lua's own count; the metrics page shows it per task). */
size_t lc_task_api_memory(lua_State *L);
/** An address inside the LuaJIT library, so the watchdog can tell LuaJIT's code (where a
 * stuck script spins) from code that may hold a lock. */
const void *lc_task_api_vm_address(void);

#endif
