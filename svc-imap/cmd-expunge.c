/* EXPUNGE and UID EXPUNGE (UIDPLUS) through svc-index Expunge. The index
 * answers which objects no mailbox references any more: they are deleted
 * from svc-blob, then svc-quota is told the usage changed. CLOSE uses the
 * same clean-up. */
#include "imap-index.h"
#include "imap-mail-log.h"
#include "imap-msgset.h"
#include "imap-sync.h"
#include "blob.pb-c.h"
#include "quota.pb-c.h"

#include <stdlib.h>

void imap_expunge_cleanup(struct imap_client *client,
			  const Stratus__IndexExpungeReply *r)
{
	struct imap_ctx *ctx = client->ctx;
	if (r->n_unreferenced_object_ids > 0) {
		char **keys = xcalloc(r->n_unreferenced_object_ids,
				      sizeof(char *));
		for (size_t i = 0; i < r->n_unreferenced_object_ids; i++)
			keys[i] = (char *)imap_object_key(
				r->unreferenced_object_ids[i]);
		Stratus__BlobDeleteRequest req =
			STRATUS__BLOB_DELETE_REQUEST__INIT;
		req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
		req.user = client->user;
		req.keys = keys;
		req.n_keys = r->n_unreferenced_object_ids;
		imap_rpc_send(client, ctx->blob, ctx->methods.blob_delete,
			      &req.base, "blob Delete of expunged messages");
		free(keys);
	}
	if (ctx->set.quota && r->n_expunged > 0) {
		Stratus__QuotaChangedRequest req =
			STRATUS__QUOTA_CHANGED_REQUEST__INIT;
		req.user = client->user;
		imap_rpc_send(client, ctx->quota, ctx->methods.quota_changed,
			      &req.base, "quota Changed");
	}
}

static void expunge_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, NULL);
		return;
	}
	const Stratus__IndexExpungeReply *r = (const void *)reply->msg;
	imap_client_expunged(cmd->client, r->expunged, r->n_expunged);
	imap_expunge_cleanup(cmd->client, r);
	imap_sync_reply(cmd, "OK", "Expunge completed.");
}

bool imap_expunge_start(struct imap_cmd *cmd, bool uid_cmd,
			const struct imap_arg *args, size_t n_args)
{
	struct imap_client *client = cmd->client;
	struct imap_msgset ms = { 0 };
	if (n_args != (uid_cmd ? 1 : 0) ||
	    (uid_cmd && args[0].type != IMAP_ARG_ATOM)) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *error;
	if (uid_cmd &&
	    imap_msgset_parse(cmd, args[0].str, true, &ms, &error) < 0) {
		imap_cmd_bad(cmd, error);
		return true;
	}
	if (client->selected_readonly) {
		imap_cmd_reply(cmd, "NO", "Mailbox is read-only.");
		return true;
	}
	if (uid_cmd && ms.n_uids == 0) {
		imap_sync_reply(cmd, "OK", "Expunge completed.");
		return false;
	}
	Stratus__IndexExpungeRequest req = STRATUS__INDEX_EXPUNGE_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = client->selected;
	req.only_deleted = true;
	if (uid_cmd) {
		req.uids = ms.ranges;
		req.n_uids = ms.n_ranges;
	} else if (client->n_uids > 0) {
		/* Only what the session knows: a message appended meanwhile
		 * by someone else must not vanish unseen. */
		Stratus__IndexUidRange *r = imap_pool_alloc(&cmd->pool,
							    sizeof(*r));
		stratus__index_uid_range__init(r);
		r->first = 1;
		r->last = client->uids[client->n_uids - 1];
		Stratus__IndexUidRange **rp = imap_pool_alloc(&cmd->pool,
							      sizeof(*rp));
		rp[0] = r;
		req.uids = rp;
		req.n_uids = 1;
	} else {
		imap_sync_reply(cmd, "OK", "Expunge completed.");
		return false;
	}
	imap_mail_log_index_call(cmd, IMAP_INDEX_EXPUNGE, &req.base,
				 expunge_reply);
	return false;
}

bool cmd_expunge(struct imap_cmd *cmd)
{
	return imap_expunge_start(cmd, false, cmd->c.args, cmd->c.n_args);
}
