#ifndef AGENTLIVE_CFASTCGI_SHIM_H
#define AGENTLIVE_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#include <sys/prctl.h>
#include <signal.h>

// prctl is variadic, which Swift cannot call: a worker uses this to die with its
// supervisor instead of serving on as an orphan.
static inline int agentlive_exit_with_parent(void) {
    return prctl(PR_SET_PDEATHSIG, SIGTERM);
}
#endif
