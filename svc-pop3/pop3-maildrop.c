/* The RPC backend of the POP3 engine: SASL through svc-auth (USER/PASS as
 * a PLAIN exchange), the maildrop from svc-index and bodies from svc-blob.
 * The maildrop waits for svc-index's redesigned contract: until it lands,
 * a login answers -ERR [SYS/TEMP] after a successful authentication. */
#include "pop3-maildrop.h"

#include <stdlib.h>
#include <string.h>

#include "auth.pb-c.h"
#include "rpc-versions.h"
#include "service.h"

struct pop3_rpc_backend {
	struct rpc_client *auth;
};

struct pop3_sasl_req {
	struct pop3_client *client;
	pop3_auth_cb *cb;
};

static void pop3_context(const struct pop3_client *client,
			 Stratus__Context *ctx)
{
	stratus__context__init(ctx);
	ctx->session = (char *)client->session;
	ctx->user = client->user != NULL ? client->user : (char *)"";
	ctx->client_ip = client->client_ip;
	ctx->client_port = client->client_port;
	ctx->service = (char *)"pop3";
}

static void pop3_sasl_reply(const struct rpc_reply *reply, void *ctx)
{
	struct pop3_sasl_req *req = ctx;
	struct pop3_client *client = req->client;
	enum pop3_auth_result result = POP3_AUTH_TEMPFAIL;
	const void *chal = NULL;
	size_t chal_len = 0;
	const char *user = NULL;
	if (reply->status == STRATUS__STATUS__STATUS_OK) {
		const Stratus__SaslReply *r =
			(const Stratus__SaslReply *)reply->msg;
		client->sasl_id = r->sasl_id;
		switch (r->result) {
		case STRATUS__SASL_RESULT__SASL_CONTINUE:
			result = POP3_AUTH_CONTINUE;
			chal = r->challenge.data;
			chal_len = r->challenge.len;
			break;
		case STRATUS__SASL_RESULT__SASL_SUCCESS:
			result = POP3_AUTH_OK;
			user = r->user;
			break;
		case STRATUS__SASL_RESULT__SASL_FAILURE:
			result = POP3_AUTH_FAILED;
			break;
		case STRATUS__SASL_RESULT__SASL_LIMIT:
			result = POP3_AUTH_LIMIT;
			break;
		default:
			result = POP3_AUTH_TEMPFAIL;
			break;
		}
		if (result != POP3_AUTH_OK && result != POP3_AUTH_CONTINUE &&
		    *r->reason != '\0')
			log_info(&client->log, "Authentication failed: %s",
				 r->reason);
	} else {
		log_error(&client->log, "auth Sasl failed: %s (%s)",
			  rpc_status_name(reply->status),
			  reply->error != NULL ? reply->error : "");
	}
	req->cb(client, result, chal, chal_len, user);
	free(req);
}

static void pop3_rpc_sasl(struct pop3_server *server,
			  struct pop3_client *client, const char *mech,
			  uint64_t sasl_id, const void *resp, size_t resp_len,
			  bool has_resp, bool abort, pop3_auth_cb *cb)
{
	struct pop3_rpc_backend *be = server->backend_ctx;
	struct pop3_sasl_req *req = xcalloc(1, sizeof(*req));
	req->client = client;
	req->cb = cb;
	Stratus__SaslRequest sreq = STRATUS__SASL_REQUEST__INIT;
	sreq.mechanism = (char *)mech;
	sreq.sasl_id = sasl_id;
	sreq.response.data = (uint8_t *)resp;
	sreq.response.len = resp_len;
	sreq.has_response = has_resp;
	sreq.protocol = (char *)"pop3";
	sreq.local_ip = (char *)"";
	/* plaintext on loopback counts as secured, as in Dovecot */
	sreq.secured = strcmp(client->client_ip, "127.0.0.1") == 0 ||
		       strcmp(client->client_ip, "::1") == 0;
	sreq.abort = abort;
	Stratus__Context ctx;
	pop3_context(client, &ctx);
	rpc_client_call(be->auth, 0 /* Sasl */, &ctx, &sreq.base, NULL, 0,
			RPC_DEFAULT_TIMEOUT_MS, pop3_sasl_reply, req);
}

static void pop3_rpc_maildrop(struct pop3_server *server,
			      struct pop3_client *client, pop3_maildrop_cb *cb)
{
	(void)server;
	log_error(&client->log, "the maildrop is not wired to svc-index yet");
	cb(client, false, NULL, 0, 0);
}

static void pop3_rpc_body(struct pop3_server *server,
			  struct pop3_client *client,
			  const struct pop3_message *msg, pop3_body_cb *cb)
{
	(void)server;
	(void)msg;
	cb(client, -1);
}

static void pop3_rpc_update(struct pop3_server *server,
			    struct pop3_client *client,
			    const uint32_t *expunge, unsigned int n_expunge,
			    const uint32_t *seen, unsigned int n_seen,
			    pop3_update_cb *cb)
{
	(void)server;
	(void)expunge;
	(void)n_expunge;
	(void)seen;
	(void)n_seen;
	cb(client, false);
}

static const struct pop3_backend pop3_rpc_backend_ops = {
	.sasl = pop3_rpc_sasl,
	.maildrop = pop3_rpc_maildrop,
	.body = pop3_rpc_body,
	.update = pop3_rpc_update,
};

const struct pop3_backend *
pop3_rpc_backend_new(struct loop *loop, const struct config *cfg,
		     void **ctx_r)
{
	struct pop3_rpc_backend *be = xcalloc(1, sizeof(*be));
	char *path = service_rpc_socket_path(cfg, "auth");
	be->auth = rpc_client_new(loop, path, &stratus__auth__descriptor,
				  AUTH_RPC_MAJOR, AUTH_RPC_MINOR);
	free(path);
	*ctx_r = be;
	return &pop3_rpc_backend_ops;
}

void pop3_rpc_backend_free(void *ctx)
{
	struct pop3_rpc_backend *be = ctx;
	if (be == NULL)
		return;
	rpc_client_free(&be->auth);
	free(be);
}
