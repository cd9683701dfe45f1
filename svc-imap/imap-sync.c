/* Untagged updates of the selected mailbox (see imap_sync_reply() in
 * imap-common.h and imap-sync.h). svc-index's Wait with a zero timeout
 * says what changed since the session's highest modseq and uidnext; the
 * session's view (client->uids) follows, one EXPUNGE at a time so the
 * sequence numbers the client sees always match ours. */
#include "imap-index.h"
#include "imap-msgset.h"
#include "imap-sync.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static size_t recent_pos(const struct imap_client *client, uint32_t uid)
{
	size_t lo = 0, hi = client->n_recent_uids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (client->recent_uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool imap_client_is_recent(const struct imap_client *client, uint32_t uid)
{
	if (client->imap4rev2)
		return false;	/* RFC 9051 removed \Recent */
	size_t i = recent_pos(client, uid);
	return i < client->n_recent_uids && client->recent_uids[i] == uid;
}

static void recent_add(struct imap_client *client, uint32_t uid)
{
	client->recent_uids = xreallocarray(client->recent_uids,
					    client->n_recent_uids + 1,
					    sizeof(uint32_t));
	client->recent_uids[client->n_recent_uids++] = uid;
}

void imap_client_claimed_recent(struct imap_client *client, uint32_t uid)
{
	if (client->n_recent_uids == 0 ||
	    client->recent_uids[client->n_recent_uids - 1] < uid)
		recent_add(client, uid);
}

static void recent_remove(struct imap_client *client, uint32_t uid)
{
	size_t i = recent_pos(client, uid);
	if (i >= client->n_recent_uids || client->recent_uids[i] != uid)
		return;
	memmove(&client->recent_uids[i], &client->recent_uids[i + 1],
		(client->n_recent_uids - i - 1) * sizeof(uint32_t));
	client->n_recent_uids--;
}

/* Drops uid from the view; returns its old sequence number or 0. */
static uint32_t imap_client_expunge_uid(struct imap_client *client,
					uint32_t uid)
{
	uint32_t seq = imap_client_seq(client, uid);
	if (seq == 0)
		return 0;
	recent_remove(client, uid);
	memmove(&client->uids[seq - 1], &client->uids[seq],
		(client->n_uids - seq) * sizeof(uint32_t));
	client->n_uids--;
	return seq;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void held_expunges_add(struct imap_client *client,
			      const uint32_t *uids, size_t n)
{
	if (n == 0)
		return;
	client->held_expunges = xreallocarray(client->held_expunges,
					      client->n_held_expunges + n,
					      sizeof(uint32_t));
	memcpy(&client->held_expunges[client->n_held_expunges], uids,
	       n * sizeof(uint32_t));
	client->n_held_expunges += n;
}

static void expunged_send(struct imap_client *client, const uint32_t *uids,
			  size_t n)
{
	if (!client->qresync) {
		for (size_t i = 0; i < n; i++) {
			uint32_t seq = imap_client_expunge_uid(client, uids[i]);
			if (seq != 0)
				imap_client_send(client, "* %u EXPUNGE", seq);
		}
		return;
	}
	/* RFC 7162 3.2.10: one VANISHED with the UIDs instead. */
	uint32_t *gone = xcalloc(n + 1, sizeof(uint32_t));
	size_t n_gone = 0;
	for (size_t i = 0; i < n; i++) {
		if (imap_client_expunge_uid(client, uids[i]) != 0)
			gone[n_gone++] = uids[i];
	}
	if (n_gone > 0) {
		qsort(gone, n_gone, sizeof(uint32_t), uid_cmp);
		struct buf out = BUF_INIT;
		buf_append_str(&out, "* VANISHED ");
		imap_append_uidset(&out, gone, n_gone);
		imap_client_send(client, "%s", out.data);
		buf_free(&out);
	}
	free(gone);
}

void imap_client_expunged(struct imap_client *client, const uint32_t *uids,
			  size_t n)
{
	if (client->hold_expunges) {
		held_expunges_add(client, uids, n);
		return;
	}
	if (client->n_held_expunges > 0) {
		uint32_t *held = client->held_expunges;
		size_t n_held = client->n_held_expunges;
		client->held_expunges = NULL;
		client->n_held_expunges = 0;
		expunged_send(client, held, n_held);
		free(held);
	}
	expunged_send(client, uids, n);
}

void imap_client_held_expunges_clear(struct imap_client *client)
{
	free(client->held_expunges);
	client->held_expunges = NULL;
	client->n_held_expunges = 0;
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
	for (size_t i = 0; i < r->n_appended && !client->hold_new_mail; i++) {
		uint32_t uid = r->appended[i]->uid;
		if (uid < client->uidnext ||
		    (client->n_uids > 0 && uid <= client->uids[client->n_uids - 1]))
			continue;
		client->uids = xreallocarray(client->uids, client->n_uids + 1,
					     sizeof(uint32_t));
		client->uids[client->n_uids++] = uid;
		if (r->appended[i]->recent && !client->selected_readonly)
			recent_add(client, uid);
		added++;
	}
	if (added > 0) {
		imap_client_send(client, "* %zu EXISTS", client->n_uids);
		if (!client->imap4rev2)
			imap_client_send(client, "* %zu RECENT",
					 client->n_recent_uids);
	}

	struct buf out = BUF_INIT;
	for (size_t i = 0; i < r->n_flag_changes; i++) {
		const Stratus__IndexFlagUpdate *f = r->flag_changes[i];
		uint32_t seq = imap_client_seq(client, f->uid);
		if (seq == 0 || own_change(client, f->uid, f->modseq))
			continue;
		buf_reset(&out);
		buf_printf(&out, "* %u FETCH (UID %u ", seq, f->uid);
		imap_append_flags(&out, f->flags, f->n_flags,
				  imap_client_is_recent(client, f->uid));
		if (client->condstore)
			buf_printf(&out, " MODSEQ (%llu)",
				   (unsigned long long)f->modseq);
		buf_append_c(&out, ')');
		imap_client_send(client, "%s", out.data);
	}
	buf_free(&out);
	free(client->own);
	client->own = NULL;
	client->n_own = 0;
	if (r->highest_modseq > client->highest_modseq)
		client->highest_modseq = r->highest_modseq;
	if (r->uidnext > client->uidnext && !client->hold_new_mail)
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
	req->claim_recent = !client->selected_readonly &&
		!client->hold_new_mail;
}

/* delay-newmail: EXISTS/RECENT only in NOOP and CHECK replies, for
 * clients that ignore them elsewhere (Dovecot's workaround). */
static bool imap_sync_holds_new_mail(const struct imap_cmd *cmd)
{
	return (cmd->client->ctx->set.workarounds &
		IMAP_WA_DELAY_NEWMAIL) != 0 &&
		strcasecmp(cmd->c.name, "NOOP") != 0 &&
		strcasecmp(cmd->c.name, "CHECK") != 0;
}

/* Where the sync field sits in the request and reply of each index
 * method that carries one. */
static const struct {
	int method;
	size_t req_offset, reply_offset;
} imap_sync_slots[] = {
#define IMAP_SYNC_SLOT(M, NAME) { M, \
	offsetof(Stratus__Index##NAME##Request, sync), \
	offsetof(Stratus__Index##NAME##Reply, sync) }
	IMAP_SYNC_SLOT(IMAP_INDEX_FETCH, Fetch),
	IMAP_SYNC_SLOT(IMAP_INDEX_STORE, Store),
	IMAP_SYNC_SLOT(IMAP_INDEX_SEARCH, Search),
	IMAP_SYNC_SLOT(IMAP_INDEX_EXPUNGE, Expunge),
	IMAP_SYNC_SLOT(IMAP_INDEX_APPEND, Append),
	IMAP_SYNC_SLOT(IMAP_INDEX_COPY, Copy),
#undef IMAP_SYNC_SLOT
};

static void *imap_sync_slot(int method, ProtobufCMessage *msg, bool reply)
{
	for (size_t i = 0; i < N_ELEMENTS(imap_sync_slots); i++) {
		if (imap_sync_slots[i].method == method)
			return (char *)msg + (reply ?
				imap_sync_slots[i].reply_offset :
				imap_sync_slots[i].req_offset);
	}
	return NULL;
}

Stratus__IndexWaitRequest **imap_sync_request_slot(int method,
						   ProtobufCMessage *req)
{
	return imap_sync_slot(method, req, false);
}

Stratus__IndexWaitReply **imap_sync_reply_slot(int method,
					       ProtobufCMessage *reply)
{
	return imap_sync_slot(method, reply, true);
}

void imap_sync_ahead_request(struct imap_cmd *cmd,
			     Stratus__IndexWaitRequest *req)
{
	imap_sync_wait_request(cmd->client, req, 0);
	req->claim_recent = !cmd->client->selected_readonly &&
		!imap_sync_holds_new_mail(cmd);
}

void imap_sync_ahead_keep(struct imap_cmd *cmd, Stratus__IndexWaitReply *r)
{
	imap_sync_ahead_clear(cmd);
	cmd->sync_ahead = r;
}

void imap_sync_ahead_clear(struct imap_cmd *cmd)
{
	if (cmd->sync_ahead != NULL)
		protobuf_c_message_free_unpacked(cmd->sync_ahead, NULL);
	cmd->sync_ahead = NULL;
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

static void sync_finish_with(struct imap_cmd *cmd,
			     const Stratus__IndexWaitReply *r)
{
	struct sync_ctx *s = cmd->sync;
	struct imap_client *client = cmd->client;
	if (r != NULL && !imap_sync_apply(client, r)) {
		/* The BYE may have destroyed the client and cmd with it
		 * (the pending call's reference keeps client itself). */
		client->hold_new_mail = false;
		client->hold_expunges = false;
		if (!client->destroyed)
			imap_cmd_done(cmd);
		return;
	}
	cmd->client->hold_new_mail = false;
	cmd->client->hold_expunges = false;
	sync_finish(cmd, s);
}

static void sync_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		/* The command itself succeeded: report it, sync next time. */
		log_warning(&cmd->client->log, "sync after %s failed: %s",
			    cmd->c.name, reply->error != NULL ? reply->error :
			    rpc_status_name(reply->status));
		sync_finish_with(cmd, NULL);
		return;
	}
	sync_finish_with(cmd, (const Stratus__IndexWaitReply *)reply->msg);
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
	client->hold_new_mail = imap_sync_holds_new_mail(cmd);
	client->hold_expunges = cmd->sync_holds_expunges;
	if (cmd->sync_ahead != NULL) {
		/* The command's index call answered the Wait already. */
		Stratus__IndexWaitReply *ahead = cmd->sync_ahead;
		cmd->sync_ahead = NULL;
		imap_client_ref(client);	/* a BYE may destroy it */
		sync_finish_with(cmd, ahead);
		protobuf_c_message_free_unpacked(&ahead->base, NULL);
		imap_client_unref(client);
		return;
	}
	Stratus__IndexWaitRequest req;
	imap_sync_wait_request(client, &req, 0);
	imap_index_call(cmd, IMAP_INDEX_WAIT, &req.base, sync_reply);
}
