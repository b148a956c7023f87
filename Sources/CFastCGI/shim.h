#ifndef AGENTLIVE_CFASTCGI_SHIM_H
#define AGENTLIVE_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#include <sys/prctl.h>
#include <stddef.h>
#include <sys/select.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

// prctl is variadic, which Swift cannot call: a worker uses this to die with its
// supervisor instead of serving on as an orphan.
static inline int agentlive_exit_with_parent(void) {
    return prctl(PR_SET_PDEATHSIG, SIGTERM);
}

// The name ps -o comm, top and pgrep show (at most 15 bytes are kept).
static inline int agentlive_set_comm(const char *name) {
    return prctl(PR_SET_NAME, name, 0, 0, 0);
}

// glibc's pointer to the original argv[0]; the argument strings follow it in one
// block, which is where ps reads a process's command line (/proc/<pid>/cmdline).
// Declared here because glibc declares it only under _GNU_SOURCE.
extern char *program_invocation_name;
static inline char *agentlive_argv_start(void) {
    return program_invocation_name;
}

// Waits until fd is readable, with `mask` as the signal mask for the duration of
// the wait only (pselect swaps it in and out atomically): signals blocked
// everywhere else can interrupt this wait and nothing else. FD_SET is a macro,
// hence C. 1 readable, 0 timeout, -1 error (EINTR: a signal came).
static inline int agentlive_wait_readable(int fd, long timeout_ms, const sigset_t *mask) {
    if (fd < 0 || fd >= FD_SETSIZE) return -1;
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(fd, &readable);
    struct timespec timeout = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
    return pselect(fd + 1, &readable, NULL, NULL, &timeout, mask);
}
// The pool's scoreboard (Scoreboard.swift): counters in memory shared by the
// supervisor and its workers. Each slot has one writer (its worker) and the
// supervisor reads it while it runs, so each 64-bit word is read and written
// whole (relaxed atomics: a scrape sees every word at some recent value).
static inline void agentlive_word_add(uint64_t *word, uint64_t value) {
    __atomic_fetch_add(word, value, __ATOMIC_RELAXED);
}
static inline void agentlive_word_store(uint64_t *word, uint64_t value) {
    __atomic_store_n(word, value, __ATOMIC_RELAXED);
}
static inline uint64_t agentlive_word_load(const uint64_t *word) {
    return __atomic_load_n(word, __ATOMIC_RELAXED);
}

// accept4 with SOCK_CLOEXEC (glibc declares accept4 only under _GNU_SOURCE): a
// worker spawned meanwhile must not inherit a metrics connection.
static inline int agentlive_accept_cloexec(int fd) {
    return (int)syscall(SYS_accept4, fd, (void *)0, (void *)0, 02000000 /* SOCK_CLOEXEC */);
}

// memfd_create through syscall(): glibc declares memfd_create only under
// _GNU_SOURCE. The descriptor is inherited by spawned workers (no MFD_CLOEXEC).
static inline int agentlive_memfd(const char *name) {
    return (int)syscall(SYS_memfd_create, name, 0u);
}
#endif
