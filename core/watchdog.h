/* watchdog: gets a task thread out of a script that never returns. A count hook stops an
 * interpreted loop (bridge.c), but LuaJIT does not run hooks inside compiled code, so
 * `while true do end` would spin for ever. The stopping thread sends the task thread a
 * signal; its handler jumps back to the task's entry (siglongjmp) when the thread is
 * inside an SDK call and executing Lua — compiled machine code or LuaJIT's own VM — and
 * never when it is in libc, librdkafka or the core, where it could hold a lock. The
 * lua_State and Kafka client it leaves are never touched again (their memory stays
 * allocated): plugins are trusted code, and this is the last resort after
 * task.shutdown.graceful.timeout.ms.
 * Depends on bridge (lc_lua_current_call), task_api (where LuaJIT's code is), pthreads, the
 * dynamic loader. */
#ifndef LC_WATCHDOG_H
#define LC_WATCHDOG_H

#include <pthread.h>
#include <setjmp.h>

/** Arms the calling thread: an interrupt jumps to *escape (sigsetjmp'd by the caller with
 * savemask 1); NULL disarms. */
void lc_watchdog_arm(sigjmp_buf *escape);
/** Signals thread every 20 ms for up to wait_ms until it has ended (returns 0, joined) or
 * the time is up (-1: it was in C code each time, or is not armed). */
int lc_watchdog_interrupt(pthread_t thread, long wait_ms);

#endif
