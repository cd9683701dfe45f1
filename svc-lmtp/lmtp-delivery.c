/* The RPC backend of the LMTP engine: recipient lookups through svc-auth's
 * UserdbLookup, and delivery through lmtp-store.c (svc-index, svc-blob,
 * svc-quota). Method numbers are looked up by name once, at start. */
#include "lmtp-delivery.h"
#include "lmtp-rpc.h"
#include "lmtp-sieve.h"

#include <stdlib.h>
#include <string.h>

#include "auth.pb-c.h"
#include "blob.pb-c.h"
#include "index.pb-c.h"
#include "quota.pb-c.h"
#include "rpc-versions.h"
#include "service.h"

struct lmtp_lookup_req {
	struct lmtp_server *server;
	struct lmtp_client *client;
	struct lmtp_rcpt *rcpt;
	lmtp_lookup_cb *cb;
};

void lmtp_rpc_context(const struct lmtp_client *client, const char *user,
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
	lmtp_rpc_context(client, rcpt->lookup_user, &ctx);
	rpc_client_call(be->auth, be->m_userdb, &ctx, &ureq.base,
			NULL, 0, RPC_DEFAULT_TIMEOUT_MS, lmtp_lookup_reply,
			req);
}

static const struct lmtp_backend lmtp_rpc_backend_ops = {
	.rcpt_lookup = lmtp_rpc_rcpt_lookup,
	.deliver = lmtp_sieve_deliver,	/* lmtp_store when no sieve */
	.trust = NULL,
};

static struct rpc_client *
lmtp_rpc_client(struct loop *loop, const struct config *cfg, const char *name,
		const ProtobufCServiceDescriptor *desc, uint32_t major,
		uint32_t minor)
{
	char *path = service_rpc_socket_path(cfg, name);
	struct rpc_client *c = rpc_client_new(loop, path, desc, major, minor);
	free(path);
	return c;
}

static uint32_t lmtp_method(const ProtobufCServiceDescriptor *desc,
			    const char *name)
{
	int i = rpc_method_index(desc, name);
	if (i < 0)
		log_panic("%s has no method %s", desc->name, name);
	return (uint32_t)i;
}

const struct lmtp_backend *
lmtp_rpc_backend_new(struct loop *loop, const struct config *cfg,
		     void **ctx_r)
{
	struct lmtp_rpc_backend *be = xcalloc(1, sizeof(*be));
	be->auth = lmtp_rpc_client(loop, cfg, "auth", &stratus__auth__descriptor,
				   AUTH_RPC_MAJOR, AUTH_RPC_MINOR);
	be->index = lmtp_rpc_client(loop, cfg, "index",
				    &stratus__index__descriptor,
				    INDEX_RPC_MAJOR, INDEX_RPC_MINOR);
	be->blob = lmtp_rpc_client(loop, cfg, "blob", &stratus__blob__descriptor,
				   BLOB_RPC_MAJOR, BLOB_RPC_MINOR);
	be->quota = lmtp_rpc_client(loop, cfg, "quota",
				    &stratus__quota__descriptor,
				    QUOTA_RPC_MAJOR, QUOTA_RPC_MINOR);
	be->m_userdb = lmtp_method(&stratus__auth__descriptor, "UserdbLookup");
	be->m_status = lmtp_method(&stratus__index__descriptor,
				   "MailboxStatus");
	be->m_create = lmtp_method(&stratus__index__descriptor,
				   "MailboxCreate");
	be->m_subscribe = lmtp_method(&stratus__index__descriptor,
				      "MailboxSubscribe");
	be->m_append = lmtp_method(&stratus__index__descriptor, "Append");
	be->m_put = lmtp_method(&stratus__blob__descriptor, "Put");
	be->m_delete = lmtp_method(&stratus__blob__descriptor, "Delete");
	be->m_get = lmtp_method(&stratus__blob__descriptor, "Get");
	be->m_check = lmtp_method(&stratus__quota__descriptor, "Check");
	be->m_commit = lmtp_method(&stratus__quota__descriptor, "Commit");
	be->sieve = lmtp_sieve_settings_new(cfg);
	*ctx_r = be;
	return &lmtp_rpc_backend_ops;
}

void lmtp_rpc_backend_status(void *ctx, Stratus__StatusReply *reply)
{
	struct lmtp_rpc_backend *be = ctx;
	if (be == NULL)
		return;
	rpc_status_add_counter(reply, "blob_puts", be->n_puts);
	rpc_status_add_counter(reply, "blob_put_failures", be->n_put_failures);
	rpc_status_add_counter(reply, "blob_deletes", be->n_deletes);
	rpc_status_add_counter(reply, "index_append_failures",
			       be->n_append_failures);
}

void lmtp_rpc_backend_free(void *ctx)
{
	struct lmtp_rpc_backend *be = ctx;
	if (be == NULL)
		return;
	rpc_client_free(&be->auth);
	rpc_client_free(&be->index);
	rpc_client_free(&be->blob);
	rpc_client_free(&be->quota);
	lmtp_sieve_settings_free(&be->sieve);
	free(be);
}
