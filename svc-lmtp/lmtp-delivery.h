/* The production backend of the LMTP engine (RPC to svc-auth, svc-blob,
 * svc-index). */
#ifndef LMTP_DELIVERY_H
#define LMTP_DELIVERY_H

#include "lmtp-common.h"

const struct lmtp_backend *
lmtp_rpc_backend_new(struct loop *loop, const struct config *cfg,
		     void **ctx_r);
void lmtp_rpc_backend_free(void *ctx);

#endif
