/* task: one task thread with its own lua_State and Kafka client. The source and sink loops
 * live in source_task.c and sink_task.c; this module holds what they share (the task's Lua
 * side, status reporting, reload hand-over) and the thread lifecycle a herder drives
 * (start, stop and join). A task reads its connector (connector.h) and its
 * environment (task_env.h) and never calls back into a herder.
 * Depends on connector (the data model), task_api (the Lua side), bridge, store, kafka, log. */
#ifndef LC_TASK_H
#define LC_TASK_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>

#include "connector.h"

/* The task's Lua state, opaque here: only lua/ operates on it (lua/task_api.h). */
typedef struct lua_State lua_State;

/* Lifecycle (the herder's side). */
/** Starts t's thread (paused when its connector's target is PAUSED); a thread that cannot
 * be created leaves the task FAILED. */
void lc_task_start(lc_task_t *t);
/** Stops tasks of c (all when only < 0, else task `only`) and waits for their threads:
 * tasks flush within task.shutdown.graceful.timeout.ms, get the same again for close(),
 * then their scripts are interrupted. A thread that still runs is abandoned (c->abandoned:
 * its memory is never freed). */
void lc_tasks_stop(lc_connector_t *c, int only);

/** Thread entry points. */
void *lc_source_task_main(void *task);
void *lc_sink_task_main(void *task);

/* Shared by both loops (task.c). */
/** Records a state change in the status store and the log; trace may be NULL. */
void lc_task_set_state(lc_task_t *t, lc_task_state_t state, const char *trace);
/** As lc_task_set_state, but the status store is not written: for a task fenced by a newer
 * instance of itself (exactly-once), whose status key that instance owns. Whatever this one
 * wrote could only hide the newer one's state (the zombie's view of the status topic may
 * still be from before it was paused). */
void lc_task_set_state_local(lc_task_t *t, lc_task_state_t state, const char *trace);
/** KIP-558: records that t uses topic (once per topic, unless topic.tracking.enable=false);
 * cheap when it is the topic recorded last. */
void lc_task_note_topic(lc_task_t *t, const char *topic);
/** Takes a pending reload in the task's thread: LC_SWAP_CHAIN rebuilds the chain in L;
 * LC_SWAP_FULL closes the script, switches t->conn and its config, and opens the new
 * script in a fresh state (*L replaced). The caller has made its work durable first.
 * Returns 0, or -1 with errstr (the task fails). */
int lc_task_take_swap(lc_task_t *t, lua_State **L, char *errstr, size_t errstr_size);
/** Copy of the task's FAILED trace (caller frees), or NULL. */
char *lc_task_trace(lc_task_t *t);
/** Creates the task's lua_State and runs the script's open(); pushes nothing, leaves the
 * task table in the registry (lua/task_api.h). NULL with errstr on failure. */
lua_State *lc_task_open_lua(lc_task_t *t, char *errstr, size_t errstr_size);
/** Samples what the metrics page shows of the task's Lua state (its memory, the records each
 * transform dropped); the task thread calls it once per commit interval. */
void lc_task_note_lua(lc_task_t *t, lua_State *L);
/** Runs the script's close() and closes L; errors are logged. */
void lc_task_close_lua(lc_task_t *t, lua_State *L);

#endif
