/* The RPC backend's state, shared by pop3-maildrop.c (SASL, connection
 * count, maildrop, bodies) and pop3-update.c (QUIT's UPDATE state). */
#ifndef POP3_RPC_H
#define POP3_RPC_H

#include "pop3-common.h"
#include "rpc.h"
#include "storage-client.h"

struct pop3_rpc_backend {
	struct storage_client sc;	/* auth, index, blob, quota */
	bool quota_enabled;
	uint64_t n_gets;
};

void pop3_rpc_context(const struct pop3_client *client,
		      Stratus__Context *ctx);

/* pop3-update.c: \Seen for seen, then the expunge of expunge. */
void pop3_rpc_update(struct pop3_server *server, struct pop3_client *client,
		     const uint32_t *expunge, unsigned int n_expunge,
		     const uint32_t *seen, unsigned int n_seen,
		     pop3_update_cb *cb);

#endif
