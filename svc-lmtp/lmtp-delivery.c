/* The RPC backend of the LMTP engine: recipient lookups through svc-auth's
 * UserdbLookup, and delivery through lmtp-store.c (svc-index, svc-blob,
 * svc-quota). Method numbers are looked up by name once, at start. */
#include "lmtp-delivery.h"
#include "lmtp-rpc.h"
#include "lmtp-sieve.h"

#include <stdlib.h>
#include <string.h>

#include "auth.pb-c.h"

struct lmtp_lookup_req {
	struct lmtp_server *server;
	struct lmtp_client *client;
	struct lmtp_rcpt *rcpt;
	lmtp_lookup_cb *cb;
};

void lmtp_rpc_context(const struct lmtp_client *client, const char *user,
		      Stratus__Context *ctx)
{
	storage_context(ctx, client->session, user, client->client_ip,
			client->client_port, "lmtp");
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
			/* the mailbox lookup runs while the client sends */
			lmtp_store_prefetch(req->server, req->client,
					    req->rcpt);
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
	rpc_client_call(be->sc.auth, be->sc.m.auth_userdb, &ctx, &ureq.base,
			NULL, 0, RPC_DEFAULT_TIMEOUT_MS, lmtp_lookup_reply,
			req);
}

static const struct lmtp_backend lmtp_rpc_backend_ops = {
	.rcpt_lookup = lmtp_rpc_rcpt_lookup,
	.deliver = lmtp_sieve_deliver,	/* lmtp_store when no sieve */
	.trust = NULL,
};

const struct lmtp_backend *
lmtp_rpc_backend_new(struct loop *loop, const struct config *cfg,
		     void **ctx_r)
{
	struct lmtp_rpc_backend *be = xcalloc(1, sizeof(*be));
	storage_client_open(&be->sc, loop, cfg);
	be->blob = be->sc.blob;
	be->m_put = be->sc.m.blob_put;
	be->m_get = be->sc.m.blob_get;
	char *error = NULL;
	if (mail_log_settings_parse(NULL,
			config_plugin_get(cfg, "lmtp", "mail_log_fields"),
			&be->mail_log, &error) < 0) {
		log_warning(NULL, "plugin/mail_log_fields: %s; logging "
			    "Dovecot's default fields", error);
		free(error);
		(void)mail_log_settings_parse(NULL, NULL, &be->mail_log,
					      &error);
	}
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
	rpc_status_add_counter(reply, "blob_deletes", be->sc.n_blob_deletes);
	rpc_status_add_counter(reply, "index_append_failures",
			       be->n_append_failures);
}

void lmtp_rpc_backend_free(void *ctx)
{
	struct lmtp_rpc_backend *be = ctx;
	if (be == NULL)
		return;
	lmtp_store_prefetch_drop_all(be);
	storage_client_close(&be->sc);
	lmtp_sieve_settings_free(&be->sieve);
	free(be);
}
