/* The RPC backend of the POP3 engine: SASL through svc-auth (USER/PASS as
 * a PLAIN exchange) and its connection count (mail_max_userip_connections);
 * the maildrop from svc-index (the INBOX as it was at login); bodies from
 * svc-blob; at QUIT the \\Seen flags and the expunge, whose unreferenced
 * objects are deleted from svc-blob (see pop3-update.c). */
#include "pop3-maildrop.h"
#include "pop3-rpc.h"
#include "tls-stream.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.pb-c.h"
#include "blob.pb-c.h"
#include "index.pb-c.h"
#include "quota.pb-c.h"
#include "rpc-versions.h"
#include "sasl-client.h"
#include "service.h"

struct pop3_sasl_req {
	struct pop3_client *client;
	pop3_auth_cb *cb;
};

void pop3_rpc_context(const struct pop3_client *client,
		      Stratus__Context *ctx)
{
	storage_context(ctx, client->session, client->user, client->client_ip,
			client->client_port, "pop3");
}

static enum pop3_auth_result pop3_auth_result_of(enum sasl_client_result r)
{
	switch (r) {
	case SASL_CLIENT_CONTINUE:
		return POP3_AUTH_CONTINUE;
	case SASL_CLIENT_OK:
		return POP3_AUTH_OK;
	case SASL_CLIENT_FAILED:
		return POP3_AUTH_FAILED;
	case SASL_CLIENT_LIMIT:
		return POP3_AUTH_LIMIT;
	case SASL_CLIENT_TEMPFAIL:
	default:
		return POP3_AUTH_TEMPFAIL;
	}
}

static void pop3_sasl_answer(const struct sasl_client_answer *r, void *ctx)
{
	struct pop3_sasl_req *req = ctx;
	struct pop3_client *client = req->client;
	enum pop3_auth_result result = pop3_auth_result_of(r->result);
	if (r->error != NULL)
		log_error(&client->log, "auth Sasl failed: %s", r->error);
	else
		client->sasl_id = r->sasl_id;
	if (result != POP3_AUTH_OK && result != POP3_AUTH_CONTINUE &&
	    *r->reason != '\0')
		log_info(&client->log, "Authentication failed: %s", r->reason);
	req->cb(client, result, r->challenge, r->challenge_len,
		result == POP3_AUTH_OK ? r->user : NULL);
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
	struct sasl_client_step step = {
		.mechanism = mech,
		.sasl_id = sasl_id,
		.response = resp,
		.response_len = resp_len,
		.has_response = has_resp,
		.abort = abort,
		.protocol = "pop3",
		/* TLS, loopback or our own address, as in Dovecot */
		.secured = pop3_client_secured(client),
		.valid_client_cert =
			tls_stream_has_valid_client_cert(client->tls_stream),
	};
	Stratus__Context ctx;
	pop3_rpc_context(client, &ctx);
	sasl_client_send(be->sc.auth, &ctx, &step, RPC_DEFAULT_TIMEOUT_MS,
			 pop3_sasl_answer, req);
}

/* ---- the maildrop: Connect, MailboxOpen, Fetch ---- */

struct pop3_maildrop_req {
	struct pop3_rpc_backend *be;
	struct pop3_client *client;
	pop3_maildrop_cb *cb;
	uint32_t uidvalidity;
	uint32_t expected;	/* messages MailboxOpen reported */
	uint32_t last_uid;	/* the highest UID at open */
	struct pop3_message *msgs;
	unsigned int n_msgs;
};

static void pop3_maildrop_finish(struct pop3_maildrop_req *req,
				 enum pop3_maildrop_result result)
{
	if (result != POP3_MAILDROP_OK) {
		pop3_messages_free(req->msgs, req->n_msgs);
		req->msgs = NULL;
		req->n_msgs = 0;
	}
	req->cb(req->client, result, req->msgs, req->n_msgs, req->uidvalidity);
	free(req);
}

static void pop3_maildrop_fail(struct pop3_maildrop_req *req,
			       const char *what, const struct rpc_reply *reply)
{
	log_error(&req->client->log, "%s failed: %s", what,
		  reply->error != NULL ? reply->error :
		  rpc_status_name(reply->status));
	pop3_maildrop_finish(req, POP3_MAILDROP_TEMPFAIL);
}

static void pop3_maildrop_fetch(struct pop3_maildrop_req *req,
				uint32_t from_uid);

static void pop3_fetch_reply(const struct rpc_reply *reply, void *ctx)
{
	struct pop3_maildrop_req *req = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		pop3_maildrop_fail(req, "svc-index Fetch of INBOX", reply);
		return;
	}
	const Stratus__IndexFetchReply *r = (const void *)reply->msg;
	req->msgs = xreallocarray(req->msgs, req->n_msgs + r->n_messages + 1,
				  sizeof(*req->msgs));
	for (size_t i = 0; i < r->n_messages; i++) {
		const Stratus__IndexMessage *im = r->messages[i];
		/* Messages delivered after the open are not part of this
		 * session's maildrop (RFC 1939: the maildrop is fixed). */
		if (im->uid > req->last_uid)
			continue;
		struct pop3_message *m = &req->msgs[req->n_msgs++];
		memset(m, 0, sizeof(*m));
		m->uid = im->uid;
		m->guid = xstrdup(im->guid);
		m->object_id = xstrdup(im->object_id);
		m->size = im->virtual_size;
	}
	if (r->next_uid != 0 && r->next_uid <= req->last_uid) {
		pop3_maildrop_fetch(req, r->next_uid);
		return;
	}
	pop3_maildrop_finish(req, POP3_MAILDROP_OK);
}

static void pop3_maildrop_fetch(struct pop3_maildrop_req *req,
				uint32_t from_uid)
{
	struct pop3_client *client = req->client;
	Stratus__IndexFetchRequest freq = STRATUS__INDEX_FETCH_REQUEST__INIT;
	Stratus__IndexUidRange range = STRATUS__INDEX_UID_RANGE__INIT;
	Stratus__IndexUidRange *ranges[] = { &range };
	Stratus__Context ctx;
	pop3_rpc_context(client, &ctx);
	range.first = from_uid;
	range.last = req->last_uid;
	freq.user = client->user;
	freq.mailbox = (char *)"INBOX";
	freq.uids = ranges;
	freq.n_uids = 1;
	rpc_client_call(req->be->sc.index, req->be->sc.m.index_fetch, &ctx,
			&freq.base, NULL, 0, RPC_DEFAULT_TIMEOUT_MS,
			pop3_fetch_reply, req);
}

static void pop3_open_reply(const struct rpc_reply *reply, void *ctx)
{
	struct pop3_maildrop_req *req = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		pop3_maildrop_fail(req, "svc-index MailboxOpen of INBOX", reply);
		return;
	}
	const Stratus__IndexOpenReply *r = (const void *)reply->msg;
	req->uidvalidity = r->status != NULL ? r->status->uidvalidity : 0;
	if (r->n_uids == 0) {
		pop3_maildrop_finish(req, POP3_MAILDROP_OK);
		return;
	}
	req->expected = (uint32_t)r->n_uids;
	req->last_uid = r->uids[r->n_uids - 1];
	pop3_maildrop_fetch(req, r->uids[0]);
}

static void pop3_maildrop_open(struct pop3_maildrop_req *req)
{
	struct pop3_client *client = req->client;
	Stratus__IndexOpenRequest oreq = STRATUS__INDEX_OPEN_REQUEST__INIT;
	Stratus__Context ctx;
	pop3_rpc_context(client, &ctx);
	oreq.user = client->user;
	oreq.mailbox = (char *)"INBOX";
	rpc_client_call(req->be->sc.index, req->be->sc.m.index_open, &ctx,
			&oreq.base, NULL, 0, RPC_DEFAULT_TIMEOUT_MS,
			pop3_open_reply, req);
}

static void pop3_connect_answer(const struct sasl_client_connect_answer *r,
				void *ctx)
{
	struct pop3_maildrop_req *req = ctx;
	if (r->error != NULL) {
		/* svc-auth cannot count right now: serving the user beats
		 * locking everyone out (the IMAP service does the same). */
		req->client->counted = false;
		log_warning(&req->client->log, "connection counting failed "
			    "(%s); mail_max_userip_connections not enforced "
			    "for this session", r->error);
	} else if (!r->allowed) {
		log_info(&req->client->log, "Login refused: "
			 "mail_max_userip_connections=%u reached", r->limit);
		pop3_maildrop_finish(req, POP3_MAILDROP_IN_USE);
		return;
	}
	pop3_maildrop_open(req);
}

static void pop3_rpc_maildrop(struct pop3_server *server,
			      struct pop3_client *client, pop3_maildrop_cb *cb)
{
	struct pop3_rpc_backend *be = server->backend_ctx;
	struct pop3_maildrop_req *req = xcalloc(1, sizeof(*req));
	req->be = be;
	req->client = client;
	req->cb = cb;
	Stratus__Context ctx;
	pop3_rpc_context(client, &ctx);
	sasl_client_connect(be->sc.auth, &ctx, client->user, "pop3",
			    client->client_ip, false, RPC_DEFAULT_TIMEOUT_MS,
			    pop3_connect_answer, req);
}

static void pop3_rpc_logout(struct pop3_server *server,
			    struct pop3_client *client)
{
	struct pop3_rpc_backend *be = server->backend_ctx;
	Stratus__Context ctx;
	pop3_rpc_context(client, &ctx);
	sasl_client_connect(be->sc.auth, &ctx, client->user, "pop3",
			    client->client_ip, true, RPC_DEFAULT_TIMEOUT_MS,
			    NULL, NULL);
}

/* ---- bodies ---- */

/* Each body is one svc-blob Get round trip before its first byte can go
 * out. POP3 clients read in order (a download-everything client RETRs
 * 1..n, a leave-on-server one the new messages, in order), so the Gets of
 * the messages after the one asked for are sent ahead and their fds kept
 * in client->ahead, in message order: the next RETR finds its fd and is
 * answered in the loop iteration that read it, without waiting for
 * svc-blob. The window (POP3_AHEAD_MAX) grows from one message as the
 * client keeps reading the next ones and is refilled once half of it was
 * used, so its Gets leave in one frame batch and svc-blob answers them
 * together (a few sendmsg/recvmsg per 8 messages instead of one pair
 * each). A RETR of anything else closes the window's fds and starts over
 * with one. Bounds: POP3_AHEAD_MAX fds and Gets per session, at most
 * server->ahead_fds_max for the process; no body bytes are held. */
struct pop3_body_req {
	struct pop3_client *client;
	pop3_body_cb *cb;	/* NULL: a read-ahead, named by seq */
	uint32_t uid;
	uint32_t seq;
};

static void pop3_body_get(struct pop3_server *server,
			  struct pop3_client *client,
			  const struct pop3_message *msg, pop3_body_cb *cb,
			  uint32_t seq);

static void pop3_ahead_remove(struct pop3_client *client, unsigned int i)
{
	memmove(&client->ahead[i], &client->ahead[i + 1],
		(client->n_ahead - i - 1) * sizeof(client->ahead[0]));
	client->n_ahead--;
}

/* Drops the first n entries: open fds are closed, a Get in flight is
 * forgotten (its answer closes the fd). */
static void pop3_ahead_drop(struct pop3_client *client, unsigned int n)
{
	struct pop3_server *server = client->server;
	for (unsigned int i = 0; i < n; i++) {
		struct pop3_ahead *a = &client->ahead[i];
		if (a->fd >= 0) {
			close(a->fd);
			server->ahead_fds--;
		}
	}
	memmove(&client->ahead[0], &client->ahead[n],
		(client->n_ahead - n) * sizeof(client->ahead[0]));
	client->n_ahead -= n;
}

/* Tops the window up to ahead_depth once it is at most half full. */
static void pop3_ahead_fill(struct pop3_server *server,
			    struct pop3_client *client)
{
	if (client->disconnected || client->ahead_next < 0 ||
	    client->n_ahead > client->ahead_depth / 2)
		return;
	unsigned int j = client->n_ahead > 0 ?
		client->ahead[client->n_ahead - 1].idx + 1 :
		(unsigned int)client->ahead_next;
	for (; j < client->n_msgs && client->n_ahead < client->ahead_depth &&
	       server->ahead_fds < server->ahead_fds_max; j++) {
		if (client->msgs[j].deleted)
			continue;
		struct pop3_ahead *a = &client->ahead[client->n_ahead++];
		a->idx = j;
		a->seq = ++client->ahead_seq;
		a->fd = -1;
		a->busy = true;
		a->cb = NULL;
		server->ahead_fds++;
		pop3_client_ref(client);	/* the Get's */
		pop3_body_get(server, client, &client->msgs[j], NULL, a->seq);
	}
}

static void pop3_ahead_reply(struct pop3_client *client,
			     struct pop3_body_req *req, int fd)
{
	struct pop3_server *server = client->server;
	unsigned int i = 0;
	while (i < client->n_ahead && client->ahead[i].seq != req->seq)
		i++;
	struct pop3_ahead *a = i < client->n_ahead ? &client->ahead[i] : NULL;
	if (a == NULL || (a->cb == NULL && client->disconnected)) {
		/* dropped meanwhile, or nobody will read it */
		if (a != NULL)
			pop3_ahead_remove(client, i);
		if (fd >= 0)
			close(fd);
		server->ahead_fds--;
		return;
	}
	a->busy = false;
	a->fd = fd;
	if (fd < 0)
		server->ahead_fds--;	/* a RETR of it asks again */
	if (a->cb == NULL)
		return;
	/* a RETR/TOP waits for it (it is the window's first entry) */
	pop3_body_cb *cb = a->cb;
	unsigned int idx = a->idx;
	pop3_ahead_remove(client, i);
	if (fd < 0 && !client->disconnected) {
		pop3_body_get(server, client, &client->msgs[idx], cb, 0);
		pop3_ahead_fill(server, client);
		return;
	}
	if (fd >= 0)
		server->ahead_fds--;	/* the transfer's now */
	cb(client, fd);
	pop3_ahead_fill(server, client);
}

static void pop3_get_reply(const struct rpc_reply *reply, void *ctx)
{
	struct pop3_body_req *req = ctx;
	struct pop3_client *client = req->client;
	int fd = -1;
	if (reply->status == STRATUS__STATUS__STATUS_OK && reply->n_fds > 0) {
		fd = reply->fds[0];
		reply->fds[0] = -1;	/* ours now */
	} else if (!client->disconnected) {
		log_error(&client->log, "svc-blob Get of uid %u%s failed: %s",
			  req->uid, req->cb == NULL ? " (read-ahead)" : "",
			  reply->error != NULL ? reply->error :
			  rpc_status_name(reply->status));
	}
	if (req->cb != NULL) {
		req->cb(client, fd);	/* the engine's reference ends there */
		free(req);
		return;
	}
	pop3_ahead_reply(client, req, fd);
	free(req);
	pop3_client_unref(&client);	/* the read-ahead Get's */
}

static void pop3_body_get(struct pop3_server *server,
			  struct pop3_client *client,
			  const struct pop3_message *msg, pop3_body_cb *cb,
			  uint32_t seq)
{
	struct pop3_rpc_backend *be = server->backend_ctx;
	struct pop3_body_req *req = xcalloc(1, sizeof(*req));
	req->client = client;
	req->cb = cb;
	req->uid = msg->uid;
	req->seq = seq;
	Stratus__BlobGetRequest greq = STRATUS__BLOB_GET_REQUEST__INIT;
	Stratus__Context ctx;
	pop3_rpc_context(client, &ctx);
	greq.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	greq.user = client->user;
	greq.key = (char *)storage_object_key(msg->object_id != NULL ?
					   msg->object_id : "");
	be->n_gets++;
	rpc_client_call(be->sc.blob, be->sc.m.blob_get, &ctx, &greq.base, NULL,
			0, RPC_DEFAULT_TIMEOUT_MS, pop3_get_reply, req);
}

static void pop3_rpc_body(struct pop3_server *server,
			  struct pop3_client *client,
			  const struct pop3_message *msg, pop3_body_cb *cb)
{
	unsigned int idx = (unsigned int)(msg - client->msgs);
	unsigned int i = 0;
	while (i < client->n_ahead && client->ahead[i].idx != idx)
		i++;
	bool in_window = i < client->n_ahead;
	/* the window grows while the client reads on, else starts over */
	if ((in_window || (int)idx == client->ahead_next) &&
	    client->ahead_depth > 0) {
		client->ahead_depth = client->ahead_depth * 2;
		if (client->ahead_depth > POP3_AHEAD_MAX)
			client->ahead_depth = POP3_AHEAD_MAX;
	} else {
		client->ahead_depth = 1;
	}
	client->ahead_next = (int)idx + 1;
	if (!in_window) {
		pop3_ahead_drop(client, client->n_ahead);
		pop3_body_get(server, client, msg, cb, 0);
		pop3_ahead_fill(server, client);
		return;
	}
	pop3_ahead_drop(client, i);	/* the ones it skipped */
	struct pop3_ahead *a = &client->ahead[0];
	if (a->busy) {
		a->cb = cb;	/* its answer goes to this RETR */
		pop3_ahead_fill(server, client);
		return;
	}
	int fd = a->fd;
	pop3_ahead_remove(client, 0);
	if (fd < 0) {		/* its read-ahead failed: ask again */
		pop3_body_get(server, client, msg, cb, 0);
		pop3_ahead_fill(server, client);
		return;
	}
	server->ahead_fds--;	/* the transfer's now */
	/* the next Gets are sent first: they leave at the end of this loop
	 * turn, the body (cb) in it */
	pop3_ahead_fill(server, client);
	cb(client, fd);
}

static const struct pop3_backend pop3_rpc_backend_ops = {
	.sasl = pop3_rpc_sasl,
	.maildrop = pop3_rpc_maildrop,
	.body = pop3_rpc_body,
	.update = pop3_rpc_update,
	.logout = pop3_rpc_logout,
};

const struct pop3_backend *
pop3_rpc_backend_new(struct loop *loop, const struct config *cfg,
		     void **ctx_r)
{
	struct pop3_rpc_backend *be = xcalloc(1, sizeof(*be));
	storage_client_open(&be->sc, loop, cfg);
	be->quota_enabled = storage_quota_enabled(cfg, "pop3");
	*ctx_r = be;
	return &pop3_rpc_backend_ops;
}

void pop3_rpc_backend_status(void *ctx, Stratus__StatusReply *reply)
{
	struct pop3_rpc_backend *be = ctx;
	if (be == NULL)
		return;
	rpc_status_add_counter(reply, "blob_gets", be->n_gets);
	rpc_status_add_counter(reply, "blob_deletes", be->sc.n_blob_deletes);
}

void pop3_rpc_backend_free(void *ctx)
{
	struct pop3_rpc_backend *be = ctx;
	if (be == NULL)
		return;
	storage_client_close(&be->sc);
	free(be);
}
