/* The RPC backend's state, shared by pop3-maildrop.c (SASL, connection
 * count, maildrop, bodies) and pop3-update.c (QUIT's UPDATE state). */
#ifndef POP3_RPC_H
#define POP3_RPC_H

#include "pop3-common.h"
#include "rpc.h"

struct pop3_rpc_backend {
	struct rpc_client *auth, *index, *blob, *quota;
	/* descriptor indexes, looked up by name once */
	uint32_t m_sasl, m_connect;
	uint32_t m_open, m_fetch, m_store, m_expunge;
	uint32_t m_get, m_delete;
	uint32_t m_changed;
	bool quota_enabled;
	uint64_t n_gets, n_deletes;
};

void pop3_rpc_context(const struct pop3_client *client,
		      Stratus__Context *ctx);
void pop3_rpc_ignore_reply(const struct rpc_reply *reply, void *ctx);
/* The svc-blob key (relative to the user's prefix) of an object id. */
const char *pop3_object_key(const char *object_id);
/* quota in mail_plugins (pop3 filter) and plugin/quota set. */
bool pop3_quota_enabled(const struct config *cfg);

/* pop3-update.c: \Seen for seen, then the expunge of expunge. */
void pop3_rpc_update(struct pop3_server *server, struct pop3_client *client,
		     const uint32_t *expunge, unsigned int n_expunge,
		     const uint32_t *seen, unsigned int n_seen,
		     pop3_update_cb *cb);

#endif
