/* The production backend of the POP3 engine (RPC to svc-auth, svc-index,
 * svc-blob). */
#ifndef POP3_MAILDROP_H
#define POP3_MAILDROP_H

#include "pop3-common.h"
#include "rpc.h"

const struct pop3_backend *
pop3_rpc_backend_new(struct loop *loop, const struct config *cfg,
		     void **ctx_r);
void pop3_rpc_backend_free(void *ctx);
/* Adds the backend's counters (object GETs, deletes) to a status reply. */
void pop3_rpc_backend_status(void *ctx, Stratus__StatusReply *reply);

#endif
