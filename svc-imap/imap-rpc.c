/* svc-imap's RPC clients and calls (see imap-rpc.h). */
#include "imap-index.h"
#include "imap-sync.h"
#include "blob.pb-c.h"
#include "quota.pb-c.h"
#include "rpc-versions.h"

#include <stdlib.h>
#include <string.h>

struct imap_rpc_pending {
	struct imap_rpc_pending *prev, *next;
	struct imap_client *client;
	uint64_t cmd_id;
	imap_rpc_cb *cb;
	int sync_method;	/* index method whose reply may carry a sync */
	imap_rpc_client_cb *client_cb;	/* imap_rpc_call_client() */
	uint64_t arg;
};

struct imap_rpc_detached {
	struct imap_rpc_detached *prev, *next;
	struct imap_ctx *ctx;
	char *what, *user, *session, *ip;
};

static void detached_free(struct imap_rpc_detached *d)
{
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		d->ctx->rpc_detached = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	free(d->what);
	free(d->user);
	free(d->session);
	free(d->ip);
	free(d);
}

static struct rpc_client *client_for(struct imap_ctx *ctx, const char *svc,
				     const ProtobufCServiceDescriptor *desc,
				     uint32_t major, uint32_t minor)
{
	char *path = service_rpc_socket_path(ctx->svc->cfg, svc);
	struct rpc_client *rc = rpc_client_new(ctx->svc->loop, path, desc,
					       major, minor);
	free(path);
	return rc;
}

void imap_rpc_init(struct imap_ctx *ctx)
{
	ctx->index = client_for(ctx, "index", &stratus__index__descriptor,
				INDEX_RPC_MAJOR, INDEX_RPC_MINOR);
	ctx->blob = client_for(ctx, "blob", &stratus__blob__descriptor,
			       BLOB_RPC_MAJOR, BLOB_RPC_MINOR);
	ctx->quota = client_for(ctx, "quota", &stratus__quota__descriptor,
				QUOTA_RPC_MAJOR, QUOTA_RPC_MINOR);
	struct imap_rpc_methods *m = &ctx->methods;
	m->blob_put = rpc_method_index(&stratus__blob__descriptor, "Put");
	m->blob_get = rpc_method_index(&stratus__blob__descriptor, "Get");
	m->blob_delete = rpc_method_index(&stratus__blob__descriptor,
					  "Delete");
	m->quota_get = rpc_method_index(&stratus__quota__descriptor, "Get");
	m->quota_check = rpc_method_index(&stratus__quota__descriptor,
					  "Check");
	m->quota_commit = rpc_method_index(&stratus__quota__descriptor,
					   "Commit");
	m->quota_changed = rpc_method_index(&stratus__quota__descriptor,
					    "Changed");
}

void imap_rpc_deinit(struct imap_ctx *ctx)
{
	rpc_client_free(&ctx->index);
	rpc_client_free(&ctx->blob);
	rpc_client_free(&ctx->quota);
	while (ctx->rpc_pending != NULL) {
		struct imap_rpc_pending *p = ctx->rpc_pending;
		ctx->rpc_pending = p->next;
		imap_client_unref(p->client);
		free(p);
	}
	while (ctx->rpc_detached != NULL)
		detached_free(ctx->rpc_detached);
}

static void pending_unlink(struct imap_ctx *ctx, struct imap_rpc_pending *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		ctx->rpc_pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
}

static void imap_rpc_context(struct imap_client *client, Stratus__Context *c)
{
	stratus__context__init(c);
	c->session = client->session;
	c->user = client->user != NULL ? client->user : (char *)"";
	c->client_ip = client->ip;
	c->client_port = client->port;
	c->service = (char *)"imap";
}

static void imap_rpc_reply(const struct rpc_reply *reply, void *ctx)
{
	struct imap_rpc_pending *p = ctx;
	struct imap_client *client = p->client;
	imap_rpc_cb *cb = p->cb;
	uint64_t id = p->cmd_id;
	int sync_method = p->sync_method;
	imap_rpc_client_cb *client_cb = p->client_cb;
	uint64_t arg = p->arg;
	pending_unlink(client->ctx, p);
	free(p);
	if (client_cb != NULL) {
		if (imap_client_unref(client))
			client_cb(client, reply, arg);
		return;
	}
	/* The command may have ended meanwhile (IDLE's DONE): a reply for
	 * an older command is dropped, never handed to the next one. */
	if (!imap_client_unref(client) || client->cmd == NULL ||
	    client->cmd->id != id)
		return;
	Stratus__IndexWaitReply **ahead = reply->msg == NULL ? NULL :
		imap_sync_reply_slot(sync_method, reply->msg);
	if (ahead != NULL && *ahead != NULL) {
		imap_sync_ahead_keep(client->cmd, *ahead);
		*ahead = NULL;
	}
	cb(client->cmd, reply);
}

static void imap_rpc_call_sync(struct imap_cmd *cmd, struct rpc_client *rc,
			       int method, const ProtobufCMessage *req,
			       const int *fds, size_t n_fds, imap_rpc_cb *cb,
			       int sync_method)
{
	struct imap_client *client = cmd->client;
	struct imap_rpc_pending *p = xcalloc(1, sizeof(*p));
	p->sync_method = sync_method;
	Stratus__Context c;
	imap_rpc_context(client, &c);
	p->client = client;
	p->cmd_id = cmd->id;
	p->cb = cb;
	p->next = client->ctx->rpc_pending;
	if (p->next != NULL)
		p->next->prev = p;
	client->ctx->rpc_pending = p;
	imap_client_ref(client);
	rpc_client_call(rc, (uint32_t)method, &c, req, fds, n_fds,
			IMAP_RPC_TIMEOUT_MS, imap_rpc_reply, p);
}

void imap_rpc_call(struct imap_cmd *cmd, struct rpc_client *rc,
		   int method, const ProtobufCMessage *req, const int *fds,
		   size_t n_fds, imap_rpc_cb *cb)
{
	imap_rpc_call_sync(cmd, rc, method, req, fds, n_fds, cb, -1);
}

void imap_rpc_call_client(struct imap_client *client, struct rpc_client *rc,
			  int method, const ProtobufCMessage *req,
			  imap_rpc_client_cb *cb, uint64_t arg)
{
	struct imap_rpc_pending *p = xcalloc(1, sizeof(*p));
	Stratus__Context c;
	imap_rpc_context(client, &c);
	p->client = client;
	p->client_cb = cb;
	p->arg = arg;
	p->next = client->ctx->rpc_pending;
	if (p->next != NULL)
		p->next->prev = p;
	client->ctx->rpc_pending = p;
	imap_client_ref(client);
	rpc_client_call(rc, (uint32_t)method, &c, req, NULL, 0,
			IMAP_RPC_TIMEOUT_MS, imap_rpc_reply, p);
}

static void imap_rpc_detached_reply(const struct rpc_reply *reply, void *ctx)
{
	struct imap_rpc_detached *d = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		struct log_ctx log = { .user = d->user, .session = d->session,
				       .client_ip = d->ip };
		log_error(&log, "%s failed: %s", d->what, reply->error != NULL ?
			  reply->error : rpc_status_name(reply->status));
	}
	detached_free(d);
}

void imap_rpc_send(struct imap_client *client, struct rpc_client *rc,
		   int method, const ProtobufCMessage *req, const char *what)
{
	struct imap_rpc_detached *d = xcalloc(1, sizeof(*d));
	Stratus__Context c;
	imap_rpc_context(client, &c);
	d->ctx = client->ctx;
	d->next = d->ctx->rpc_detached;
	if (d->next != NULL)
		d->next->prev = d;
	d->ctx->rpc_detached = d;
	d->what = xstrdup(what);
	d->user = xstrdup(c.user);
	d->session = xstrdup(client->session);
	d->ip = xstrdup(client->ip);
	rpc_client_call(rc, (uint32_t)method, &c, req, NULL, 0,
			IMAP_RPC_TIMEOUT_MS, imap_rpc_detached_reply, d);
}

void imap_index_init(struct imap_ctx *ctx)
{
	imap_rpc_init(ctx);
}

void imap_index_deinit(struct imap_ctx *ctx)
{
	imap_rpc_deinit(ctx);
}

void imap_index_call(struct imap_cmd *cmd, enum imap_index_method method,
		     const ProtobufCMessage *req, imap_index_cb *cb)
{
	/* In the selected state the call carries the Wait that
	 * imap_sync_reply() would make next (one round trip, not two). */
	struct imap_client *client = cmd->client;
	Stratus__IndexWaitRequest **slot =
		client->state == IMAP_STATE_SELECTED && client->selected ?
		imap_sync_request_slot((int)method, (ProtobufCMessage *)req) :
		NULL;
	Stratus__IndexWaitRequest sync;
	if (slot != NULL) {
		imap_sync_ahead_request(cmd, &sync);
		*slot = &sync;
	}
	imap_rpc_call_sync(cmd, client->ctx->index, (int)method, req, NULL, 0,
			   cb, slot != NULL ? (int)method : -1);
	if (slot != NULL)
		*slot = NULL;
}

const char *imap_object_key(const char *object_id)
{
	/* The id is "<user prefix>/<mailbox-guid>/<message-guid>": the key
	 * is its last two components, whatever the prefix template. */
	const char *last = strrchr(object_id, '/');
	if (last == NULL)
		return object_id;
	const char *p = last;
	while (p > object_id && p[-1] != '/')
		p--;
	return p;
}

void imap_rpc_fail(struct imap_cmd *cmd, const char *what,
		   const struct rpc_reply *reply)
{
	log_error(&cmd->client->log, "%s: %s failed: %s", cmd->c.name, what,
		  reply->error != NULL ? reply->error :
		  rpc_status_name(reply->status));
	imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Internal error occurred. "
		       "Refer to server log for more information.");
	imap_cmd_done(cmd);
}
