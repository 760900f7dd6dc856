/* watchdog: see watchdog.h. */
#include "watchdog.h"
#include "bridge.h"
#include "task_api.h"

#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#define WATCHDOG_SIGNAL SIGURG /* ignored by default: a stray one harms nobody */
#define MAX_RANGES 512

/* Executable segments of every loaded object but LuaJIT: code that may hold a lock. JIT
 * machine code lives in anonymous mappings, outside every range. */
static struct {
    uintptr_t lo, hi;
} unsafe[MAX_RANGES];
static volatile int nunsafe;
static pthread_mutex_t ranges_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
static __thread sigjmp_buf *volatile escape;

static int add_object(struct dl_phdr_info *info, size_t size, void *luajit_base)
{
    if ((void *)info->dlpi_addr == luajit_base) return 0;
    for (int i = 0; i < info->dlpi_phnum && nunsafe < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        unsafe[nunsafe].lo = info->dlpi_addr + ph->p_vaddr;
        unsafe[nunsafe].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        nunsafe++;
    }
    return 0;
}

/* Refreshes the ranges (objects may have been loaded since, e.g. by ffi.load). */
static void load_ranges(void)
{
    Dl_info di;
    void *luajit_base = dladdr(lc_task_api_vm_address(), &di) ? di.dli_fbase : NULL;
    pthread_mutex_lock(&ranges_lock);
    nunsafe = 0;
    dl_iterate_phdr(add_object, luajit_base);
    pthread_mutex_unlock(&ranges_lock);
}

static uintptr_t pc_of(void *ucontext)
{
    const ucontext_t *uc = ucontext;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0; /* unknown architecture: never jump */
#endif
}

static void on_signal(int sig, siginfo_t *si, void *ucontext)
{
    (void)sig;
    (void)si;
    sigjmp_buf *to = escape;
    if (!to || !lc_lua_current_call()) return;
    uintptr_t pc = pc_of(ucontext);
    if (!pc) return;
    for (int i = 0; i < nunsafe; i++)
        if (pc >= unsafe[i].lo && pc < unsafe[i].hi) return; /* C code: try again later */
    escape = NULL;
    siglongjmp(*to, 1);
}

static void install_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(WATCHDOG_SIGNAL, &sa, NULL);
}

void lc_watchdog_arm(sigjmp_buf *to)
{
    pthread_once(&handler_once, install_handler);
    escape = to;
}

int lc_watchdog_interrupt(pthread_t thread, long wait_ms)
{
    pthread_once(&handler_once, install_handler);
    load_ranges();
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long end = now.tv_sec * 1000LL + now.tv_nsec / 1000000 + wait_ms;
    for (;;) {
        if (pthread_kill(thread, WATCHDOG_SIGNAL) != 0) return -1;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        if (pthread_timedjoin_np(thread, NULL, &ts) == 0) return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec * 1000LL + now.tv_nsec / 1000000 >= end) return -1;
    }
}
