#ifndef AGENTLIVE_CLIBPQ_SHIM_H
#define AGENTLIVE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
