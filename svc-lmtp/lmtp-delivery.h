/* The production backend of the LMTP engine (RPC to svc-auth, svc-blob,
 * svc-index). */
#ifndef LMTP_DELIVERY_H
#define LMTP_DELIVERY_H

#include "lmtp-common.h"
#include "rpc.h"

const struct lmtp_backend *
lmtp_rpc_backend_new(struct loop *loop, const struct config *cfg,
		     void **ctx_r);
void lmtp_rpc_backend_free(void *ctx);
/* Adds the backend's counters (object PUTs, failures) to a status reply. */
void lmtp_rpc_backend_status(void *ctx, Stratus__StatusReply *reply);

#endif
