/* POP3's UPDATE state through svc-index: \Seen on the messages RETR'd
 * (the engine leaves them out with pop3_no_flag_updates), then the
 * expunge of the DELE'd ones. Objects no mailbox references any more are
 * deleted from svc-blob and svc-quota is told the usage changed; neither
 * is awaited, since the expunge is what the client was promised. */
#include "pop3-rpc.h"
#include "pop3-mail-log.h"

#include <stdlib.h>
#include <string.h>

#include "blob.pb-c.h"
#include "index.pb-c.h"
#include "quota.pb-c.h"

struct pop3_update_req {
	struct pop3_rpc_backend *be;
	struct pop3_client *client;
	pop3_update_cb *cb;
	uint32_t *expunge;
	unsigned int n_expunge;
	struct pop3_mail_log *mail_log;	/* with mail_log's expunge event */
};

static void pop3_update_finish(struct pop3_update_req *req, bool ok)
{
	req->cb(req->client, ok);
	pop3_mail_log_free(&req->mail_log);
	free(req->expunge);
	free(req);
}

/* One range per UID: POP3 maildrops are small enough, and the frame
 * limit (1 MiB) holds ~100,000 of them. */
static Stratus__IndexUidRange **
pop3_uid_ranges(const uint32_t *uids, unsigned int n,
		Stratus__IndexUidRange **store_r)
{
	Stratus__IndexUidRange *r = xcalloc(n + 1, sizeof(*r));
	Stratus__IndexUidRange **rp = xcalloc(n + 1, sizeof(*rp));
	for (unsigned int i = 0; i < n; i++) {
		stratus__index_uid_range__init(&r[i]);
		r[i].first = r[i].last = uids[i];
		rp[i] = &r[i];
	}
	*store_r = r;
	return rp;
}

static void pop3_delete_objects(struct pop3_update_req *req,
				const Stratus__IndexExpungeReply *r)
{
	struct pop3_client *client = req->client;
	if (r->n_unreferenced_object_ids == 0)
		return;
	char **keys = xcalloc(r->n_unreferenced_object_ids, sizeof(*keys));
	for (size_t i = 0; i < r->n_unreferenced_object_ids; i++)
		keys[i] = (char *)storage_object_key(
			r->unreferenced_object_ids[i]);
	Stratus__Context ctx;
	pop3_rpc_context(client, &ctx);
	storage_blob_delete(&req->be->sc, &ctx, client->user, keys,
			    r->n_unreferenced_object_ids);
	free(keys);
}

static void pop3_expunge_reply(const struct rpc_reply *reply, void *ctx)
{
	struct pop3_update_req *req = ctx;
	struct pop3_client *client = req->client;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		log_error(&client->log, "svc-index Expunge failed: %s",
			  reply->error != NULL ? reply->error :
			  rpc_status_name(reply->status));
		pop3_update_finish(req, false);
		return;
	}
	const Stratus__IndexExpungeReply *r = (const void *)reply->msg;
	if (req->mail_log != NULL)
		pop3_mail_log_expunged(req->mail_log, r->expunged,
				       r->n_expunged);
	pop3_delete_objects(req, r);
	if (req->be->quota_enabled) {
		Stratus__QuotaChangedRequest q =
			STRATUS__QUOTA_CHANGED_REQUEST__INIT;
		Stratus__Context c;
		pop3_rpc_context(client, &c);
		q.user = client->user;
		rpc_client_call(req->be->sc.quota, req->be->sc.m.quota_changed,
				&c, &q.base, NULL, 0, RPC_DEFAULT_TIMEOUT_MS,
				storage_ignore_reply, NULL);
	}
	pop3_update_finish(req, true);
}

static void pop3_update_expunge_send(void *req_ctx)
{
	struct pop3_update_req *req = req_ctx;
	struct pop3_client *client = req->client;
	Stratus__IndexUidRange *store;
	Stratus__IndexExpungeRequest ereq = STRATUS__INDEX_EXPUNGE_REQUEST__INIT;
	Stratus__Context ctx;
	pop3_rpc_context(client, &ctx);
	ereq.user = client->user;
	ereq.mailbox = (char *)"INBOX";
	ereq.uids = pop3_uid_ranges(req->expunge, req->n_expunge, &store);
	ereq.n_uids = req->n_expunge;
	rpc_client_call(req->be->sc.index, req->be->sc.m.index_expunge, &ctx,
			&ereq.base, NULL, 0, RPC_DEFAULT_TIMEOUT_MS,
			pop3_expunge_reply, req);
	free(ereq.uids);
	free(store);
}

/* With mail_log, the lines' headers are fetched before they are gone. */
static void pop3_update_expunge(struct pop3_update_req *req)
{
	if (req->n_expunge == 0) {
		pop3_update_finish(req, true);
		return;
	}
	if (pop3_mail_log_expunge_enabled(req->client->server->cfg))
		req->mail_log = pop3_mail_log_prefetch(req->be, req->client,
						       req->expunge,
						       req->n_expunge,
						       pop3_update_expunge_send,
						       req);
	else
		pop3_update_expunge_send(req);
}

static void pop3_store_reply(const struct rpc_reply *reply, void *ctx)
{
	struct pop3_update_req *req = ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		/* A lost \Seen is not worth keeping DELE'd mail for. */
		log_warning(&req->client->log, "svc-index Store \\Seen failed: "
			    "%s", reply->error != NULL ? reply->error :
			    rpc_status_name(reply->status));
	}
	pop3_update_expunge(req);
}

void pop3_rpc_update(struct pop3_server *server, struct pop3_client *client,
		     const uint32_t *expunge, unsigned int n_expunge,
		     const uint32_t *seen, unsigned int n_seen,
		     pop3_update_cb *cb)
{
	struct pop3_update_req *req = xcalloc(1, sizeof(*req));
	req->be = server->backend_ctx;
	req->client = client;
	req->cb = cb;
	req->expunge = xcalloc(n_expunge + 1, sizeof(uint32_t));
	memcpy(req->expunge, expunge, n_expunge * sizeof(uint32_t));
	req->n_expunge = n_expunge;
	if (n_seen == 0) {
		pop3_update_expunge(req);
		return;
	}
	static char seen_flag[] = "\\Seen";
	char *flags[] = { seen_flag };
	Stratus__IndexUidRange *store;
	Stratus__IndexStoreRequest sreq = STRATUS__INDEX_STORE_REQUEST__INIT;
	Stratus__Context ctx;
	pop3_rpc_context(client, &ctx);
	sreq.user = client->user;
	sreq.mailbox = (char *)"INBOX";
	sreq.uids = pop3_uid_ranges(seen, n_seen, &store);
	sreq.n_uids = n_seen;
	sreq.mode = STRATUS__INDEX_STORE_MODE__INDEX_STORE_ADD;
	sreq.flags = flags;
	sreq.n_flags = 1;
	rpc_client_call(req->be->sc.index, req->be->sc.m.index_store, &ctx,
			&sreq.base, NULL, 0, RPC_DEFAULT_TIMEOUT_MS,
			pop3_store_reply, req);
	free(sreq.uids);
	free(store);
}
