/* The RPC backend of the LMTP engine: recipient lookups through svc-auth's
 * UserdbLookup; delivery (headers, svc-blob Put, svc-index Append) once
 * svc-index's redesigned Append contract has landed. Until then every
 * delivery answers 451 4.3.0, so nothing is acknowledged that was not
 * stored. */
#include "lmtp-delivery.h"

#include <stdlib.h>
#include <string.h>

#include "auth.pb-c.h"
#include "rpc-versions.h"
#include "service.h"

struct lmtp_rpc_backend {
	struct rpc_client *auth;
};

struct lmtp_lookup_req {
	struct lmtp_server *server;
	struct lmtp_client *client;
	struct lmtp_rcpt *rcpt;
	lmtp_lookup_cb *cb;
};

static void lmtp_context(const struct lmtp_client *client, const char *user,
			 Stratus__Context *ctx)
{
	stratus__context__init(ctx);
	ctx->session = (char *)client->session;
	ctx->user = (char *)(user != NULL ? user : "");
	ctx->client_ip = client->client_ip;
	ctx->client_port = client->client_port;
	ctx->service = (char *)"lmtp";
}

static void lmtp_lookup_reply(const struct rpc_reply *reply, void *ctx)
{
	struct lmtp_lookup_req *req = ctx;
	enum lmtp_result result = LMTP_RESULT_TEMPFAIL;
	if (reply->status == STRATUS__STATUS__STATUS_OK) {
		const Stratus__UserdbReply *r =
			(const Stratus__UserdbReply *)reply->msg;
		if (!r->found) {
			result = LMTP_RESULT_NOT_FOUND;
		} else {
			result = LMTP_RESULT_OK;
			free(req->rcpt->user);
			req->rcpt->user = xstrdup(*r->user != '\0' ? r->user :
						  req->rcpt->lookup_user);
		}
	} else if (reply->status == STRATUS__STATUS__STATUS_NOT_FOUND) {
		result = LMTP_RESULT_NOT_FOUND;
	} else {
		log_error(&req->client->log, "userdb lookup of %s failed: "
			  "%s (%s)", req->rcpt->lookup_user,
			  rpc_status_name(reply->status),
			  reply->error != NULL ? reply->error : "");
	}
	req->cb(req->client, req->rcpt, result);
	free(req);
}

static void lmtp_rpc_rcpt_lookup(struct lmtp_server *server,
				 struct lmtp_client *client,
				 struct lmtp_rcpt *rcpt, lmtp_lookup_cb *cb)
{
	struct lmtp_rpc_backend *be = server->backend_ctx;
	struct lmtp_lookup_req *req = xcalloc(1, sizeof(*req));
	req->server = server;
	req->client = client;
	req->rcpt = rcpt;
	req->cb = cb;
	Stratus__UserdbRequest ureq = STRATUS__USERDB_REQUEST__INIT;
	ureq.user = rcpt->lookup_user;
	ureq.protocol = (char *)"lmtp";
	Stratus__Context ctx;
	lmtp_context(client, rcpt->lookup_user, &ctx);
	rpc_client_call(be->auth, 1 /* UserdbLookup */, &ctx, &ureq.base,
			NULL, 0, RPC_DEFAULT_TIMEOUT_MS, lmtp_lookup_reply,
			req);
}

static void lmtp_rpc_deliver(struct lmtp_server *server,
			     struct lmtp_client *client,
			     const struct lmtp_txn *txn,
			     struct lmtp_rcpt *rcpt, lmtp_deliver_cb *cb)
{
	(void)server;
	(void)txn;
	cb(client, rcpt, LMTP_RESULT_TEMPFAIL,
	   "storage (svc-index append) is not wired yet");
}

static const struct lmtp_backend lmtp_rpc_backend_ops = {
	.rcpt_lookup = lmtp_rpc_rcpt_lookup,
	.deliver = lmtp_rpc_deliver,
	.trust = NULL,
};

const struct lmtp_backend *
lmtp_rpc_backend_new(struct loop *loop, const struct config *cfg,
		     void **ctx_r)
{
	struct lmtp_rpc_backend *be = xcalloc(1, sizeof(*be));
	char *path = service_rpc_socket_path(cfg, "auth");
	be->auth = rpc_client_new(loop, path, &stratus__auth__descriptor,
				  AUTH_RPC_MAJOR, AUTH_RPC_MINOR);
	free(path);
	*ctx_r = be;
	return &lmtp_rpc_backend_ops;
}

void lmtp_rpc_backend_free(void *ctx)
{
	struct lmtp_rpc_backend *be = ctx;
	if (be == NULL)
		return;
	rpc_client_free(&be->auth);
	free(be);
}
