/* svc-index: the RPC handler table for proto/index.proto (index-rpc.c). */
#ifndef STRATUS_INDEX_RPC_H
#define STRATUS_INDEX_RPC_H

#include <stddef.h>
#include "rpc.h"

/* One per method of the Index service, in descriptor order. */
#define INDEX_RPC_N_HANDLERS 19
extern rpc_handler_fn *const index_rpc_handlers[];
extern const size_t index_rpc_n_handlers;

#endif
