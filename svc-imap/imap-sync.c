/* Untagged updates of the selected mailbox (see imap_sync_reply() in
 * imap-common.h and imap-sync.h). svc-index's Wait with a zero timeout
 * says what changed since the session's highest modseq and uidnext; the
 * session's view (client->uids) follows, one EXPUNGE at a time so the
 * sequence numbers the client sees always match ours. */
#include "imap-index.h"
#include "imap-msgset.h"
#include "imap-sync.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define IMAP_MAX_OWN_CHANGES 100000

void imap_client_own_change(struct imap_client *client, uint32_t uid,
			    uint64_t modseq)
{
	/* Past the bound the next sync merely repeats a few FLAGS. */
	if (client->n_own >= IMAP_MAX_OWN_CHANGES)
		return;
	client->own = xreallocarray(client->own, client->n_own + 1,
				    sizeof(*client->own));
	client->own[client->n_own].uid = uid;
	client->own[client->n_own].modseq = modseq;
	client->n_own++;
}

static bool own_change(const struct imap_client *client, uint32_t uid,
		       uint64_t modseq)
{
	for (size_t i = 0; i < client->n_own; i++) {
		if (client->own[i].uid == uid &&
		    client->own[i].modseq == modseq)
			return true;
	}
	return false;
}

void imap_append_flags(struct buf *out, char *const *flags, size_t n,
		       bool recent)
{
	buf_append_str(out, "FLAGS (");
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "%s%s", i > 0 ? " " : "", flags[i]);
	if (recent)
		buf_printf(out, "%s\\Recent", n > 0 ? " " : "");
	buf_append_c(out, ')');
}

static void imap_client_expunge_uid(struct imap_client *client, uint32_t uid)
{
	uint32_t seq = imap_client_seq(client, uid);
	if (seq == 0)
		return;
	memmove(&client->uids[seq - 1], &client->uids[seq],
		(client->n_uids - seq) * sizeof(uint32_t));
	client->n_uids--;
	imap_client_send(client, "* %u EXPUNGE", seq);
}

void imap_client_expunged(struct imap_client *client, const uint32_t *uids,
			  size_t n)
{
	for (size_t i = 0; i < n; i++)
		imap_client_expunge_uid(client, uids[i]);
}

bool imap_sync_apply(struct imap_client *client,
		     const Stratus__IndexWaitReply *r)
{
	if (r->mailbox_gone || r->resync) {
		imap_client_send(client, r->mailbox_gone ?
			"* BYE Selected mailbox was deleted, have to "
			"disconnect." : "* BYE Mailbox changed too much, "
			"please reconnect.");
		imap_client_disconnect(client, r->mailbox_gone ?
			"Selected mailbox was deleted" : "Mailbox resync");
		return false;
	}
	imap_client_expunged(client, r->expunged, r->n_expunged);

	size_t added = 0;
	for (size_t i = 0; i < r->n_appended; i++) {
		uint32_t uid = r->appended[i]->uid;
		if (uid < client->uidnext ||
		    (client->n_uids > 0 && uid <= client->uids[client->n_uids - 1]))
			continue;
		client->uids = xreallocarray(client->uids, client->n_uids + 1,
					     sizeof(uint32_t));
		client->uids[client->n_uids++] = uid;
		client->n_recent += r->appended[i]->recent;
		added++;
	}
	if (added > 0) {
		imap_client_send(client, "* %zu EXISTS", client->n_uids);
		imap_client_send(client, "* %u RECENT", client->n_recent);
	}

	struct buf out = BUF_INIT;
	for (size_t i = 0; i < r->n_flag_changes; i++) {
		const Stratus__IndexFlagUpdate *f = r->flag_changes[i];
		uint32_t seq = imap_client_seq(client, f->uid);
		if (seq == 0 || own_change(client, f->uid, f->modseq))
			continue;
		buf_reset(&out);
		buf_printf(&out, "* %u FETCH (UID %u ", seq, f->uid);
		imap_append_flags(&out, f->flags, f->n_flags, false);
		buf_append_c(&out, ')');
		imap_client_send(client, "%s", out.data);
	}
	buf_free(&out);
	free(client->own);
	client->own = NULL;
	client->n_own = 0;
	if (r->highest_modseq > client->highest_modseq)
		client->highest_modseq = r->highest_modseq;
	if (r->uidnext > client->uidnext)
		client->uidnext = r->uidnext;
	return true;
}

void imap_sync_wait_request(struct imap_client *client,
			    Stratus__IndexWaitRequest *req, uint32_t timeout)
{
	stratus__index_wait_request__init(req);
	req->user = client->user;
	req->mailbox = client->selected;
	req->since_modseq = client->highest_modseq;
	req->since_uidnext = client->uidnext;
	req->timeout_ms = timeout;
}

struct sync_ctx {
	char *resp;
	char *text;
};

static void sync_finish(struct imap_cmd *cmd, struct sync_ctx *s)
{
	imap_cmd_reply(cmd, s->resp, "%s", s->text);
	imap_cmd_done(cmd);
}

static void sync_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct sync_ctx *s = cmd->sync;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		/* The command itself succeeded: report it, sync next time. */
		log_warning(&cmd->client->log, "sync after %s failed: %s",
			    cmd->c.name, reply->error != NULL ? reply->error :
			    rpc_status_name(reply->status));
	} else if (!imap_sync_apply(cmd->client,
				    (const Stratus__IndexWaitReply *)reply->msg)) {
		imap_cmd_done(cmd);
		return;
	}
	sync_finish(cmd, s);
}

void imap_sync_reply(struct imap_cmd *cmd, const char *resp,
		     const char *fmt, ...)
{
	struct imap_client *client = cmd->client;
	struct sync_ctx *s = imap_pool_alloc(&cmd->pool, sizeof(*s));
	va_list ap;
	struct buf text = BUF_INIT;
	va_start(ap, fmt);
	buf_vprintf(&text, fmt, ap);
	va_end(ap);
	s->resp = imap_pool_strndup(&cmd->pool, resp, strlen(resp));
	s->text = imap_pool_strndup(&cmd->pool, text.data != NULL ?
				    text.data : "", text.len);
	buf_free(&text);
	if (client->state != IMAP_STATE_SELECTED || client->selected == NULL) {
		sync_finish(cmd, s);
		return;
	}
	cmd->sync = s;
	Stratus__IndexWaitRequest req;
	imap_sync_wait_request(client, &req, 0);
	imap_index_call(cmd, IMAP_INDEX_WAIT, &req.base, sync_reply);
}
