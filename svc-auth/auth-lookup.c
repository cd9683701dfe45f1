/* PassdbLookup (auth 1.3): the passdb chain without a password, for
 * `stratusctl auth lookup` (doveadm auth lookup). The non-master passdbs
 * are asked in order; the first that knows the user answers with its
 * fields, the stored password included, as the administrator asked for
 * them over the root-only RPC socket. Drivers without a lookup are
 * skipped; deny passdbs too (they list users to refuse, not fields). */
#include "auth-rpc.h"
#include "auth-op.h"
#include "sasl-mech.h"

#include <stdlib.h>
#include <string.h>

static void passdb_lookup_next(struct auth_request *req);

static void passdb_lookup_reply(struct auth_op *op, bool found)
{
	struct auth_request *req = op->req;
	Stratus__UserdbReply reply = STRATUS__USERDB_REPLY__INIT;
	reply.found = found;
	reply.user = req->user;
	if (found) {
		reply.n_fields = req->passdb_fields.n;
		reply.fields = auth_reply_fields(&req->passdb_fields);
	}
	rpc_call_reply(op->call, &reply.base, NULL, 0);
	auth_reply_fields_free(reply.fields, reply.n_fields);
	auth_op_free(op);
}

static void passdb_lookup_done(struct auth_request *req,
			       enum passdb_result r)
{
	struct auth_op *op = req->ctx;
	if (r == PASSDB_RESULT_OK) {
		passdb_lookup_reply(op, true);
		return;
	}
	if (r == PASSDB_RESULT_INTERNAL_FAILURE)
		req->seen_internal_failure = true;
	req->db_index++;
	passdb_lookup_next(req);
}

static void passdb_lookup_next(struct auth_request *req)
{
	struct auth *auth = req->auth;
	struct auth_op *op = req->ctx;
	while (req->db_index < auth->n_passdbs &&
	       (auth->passdbs[req->db_index]->master ||
		auth->passdbs[req->db_index]->deny ||
		auth->passdbs[req->db_index]->drv->lookup == NULL))
		req->db_index++;
	if (req->db_index >= auth->n_passdbs || auth->stopping) {
		if (req->seen_internal_failure || auth->stopping) {
			rpc_call_fail(op->call, STRATUS__STATUS__STATUS_TEMPFAIL,
				      "passdb temporarily unavailable");
			auth_op_free(op);
			return;
		}
		passdb_lookup_reply(op, false);
		return;
	}
	struct passdb *db = auth->passdbs[req->db_index];
	auth_fields_clear(&req->passdb_fields);
	db->drv->lookup(db, req, passdb_lookup_done);
}

void auth_handle_passdb_lookup(struct rpc_call *call,
			       const ProtobufCMessage *msg)
{
	struct auth *auth = auth_from_call(call);
	const Stratus__UserdbRequest *ur = (const void *)msg;
	const Stratus__Context *ctx = rpc_call_context(call);
	struct buf user = BUF_INIT;
	const char *error;
	size_t len = strlen(ur->user);
	if (len > AUTH_MAX_USERNAME_LEN || strlen(ur->protocol) > 64 ||
	    !sasl_utf8_valid((const unsigned char *)ur->user, len) ||
	    auth_request_format_user(auth, ur->user, &user, &error) < 0) {
		Stratus__UserdbReply reply = STRATUS__USERDB_REPLY__INIT;
		reply.user = (char *)"";
		buf_free(&user);
		rpc_call_reply(call, &reply.base, NULL, 0);
		return;
	}
	struct auth_op *op = auth_op_new(auth, call);
	op->req = auth_request_new(auth, user.data, ur->protocol,
				   ctx->session, ctx->client_ip, NULL);
	op->req->ctx = op;
	buf_free(&user);
	op->req->db_index = 0;
	passdb_lookup_next(op->req);
}
