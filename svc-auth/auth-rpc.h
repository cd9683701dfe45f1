/* svc-auth's RPC methods (proto/auth.proto): Sasl, UserdbLookup,
 * UserList, Connect, CacheFlush, Trust. Handlers validate every request
 * field again (bounds, UTF-8, NULs) before using it. */
#ifndef AUTH_RPC_H
#define AUTH_RPC_H

#include "auth-common.h"
#include "rpc.h"

/* Handler table in descriptor order, for the service definition. */
extern rpc_handler_fn *const auth_rpc_handlers[];
/* auth-lookup.c */
void auth_handle_passdb_lookup(struct rpc_call *call,
			       const ProtobufCMessage *msg);
extern const size_t auth_rpc_n_handlers;

/* Starts the session sweeper and hooks disconnects. */
void auth_rpc_init(struct auth *auth, struct rpc_server *server);
/* Answers every in-flight call with a temporary failure. */
void auth_rpc_deinit(struct auth *auth);
/* An RPC client went away: drop its SASL sessions and connection
 * counts. */
void auth_rpc_conn_closed(uint64_t conn_id, void *ctx);

#endif
