/* An RPC call svc-auth is still working on: it may wait for a penalty
 * or failure-delay timer or for an LDAP worker. Ops are listed in
 * struct auth so shutdown can answer them all. */
#ifndef AUTH_OP_H
#define AUTH_OP_H

#include "auth-common.h"
#include "rpc.h"
#include "auth.pb-c.h"

struct auth_op {
	struct auth *auth;
	struct rpc_call *call;
	struct auth_request *req;
	struct loop_timer *timer;
	uint64_t delay_ms;		/* applied so far */
	Stratus__SaslResult result;	/* Sasl: what to send after delay */
	char *reason;
	struct auth_op *prev, *next;
};

/* The service's state, from a call (the handler ctx is the service). */
struct auth *auth_from_call(struct rpc_call *call);

struct auth_op *auth_op_new(struct auth *auth, struct rpc_call *call);
/* Unlinks and frees (the call must have been answered). */
void auth_op_free(struct auth_op *op);
/* Copies fields into a reply array (pointers into f; free the array
 * with auth_reply_fields_free). */
Stratus__AuthField **auth_reply_fields(const struct auth_fields *f);
void auth_reply_fields_free(Stratus__AuthField **v, size_t n);

void auth_sasl_handle(struct rpc_call *call, const ProtobufCMessage *msg);
/* Drops SASL sessions older than the timeout or (conn_id != 0) those of
 * one client connection. */
void auth_sasl_sweep(struct auth *auth, uint64_t conn_id);
void auth_sasl_deinit(struct auth *auth);

#endif
