/* COPY/UID COPY and MOVE/UID MOVE (RFC 6851) through svc-index Copy: the
 * copies share the source objects, no body is copied. UIDPLUS COPYUID in
 * the tagged OK (COPY) or an untagged OK before the EXPUNGEs (MOVE). */
#include "imap-index.h"
#include "imap-mail-log.h"
#include "imap-msgset.h"
#include "imap-sync.h"
#include "imap-utf7.h"

#include <string.h>
#include <strings.h>

struct copy_ctx {
	const char *dest;
	bool move, uid_cmd;
};

static void copy_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct copy_ctx *c = cmd->ctx;
	struct imap_client *client = cmd->client;
	if (reply->status == STRATUS__STATUS__STATUS_NOT_FOUND) {
		struct buf name = BUF_INIT;
		if (imap_utf7_to_utf8(c->dest, &name) < 0)
			buf_append_str(&name, c->dest);
		imap_cmd_reply(cmd, "NO", "[TRYCREATE] Mailbox doesn't exist: "
			       "%s", name.data != NULL ? name.data : "");
		buf_free(&name);
		imap_cmd_done(cmd);
		return;
	}
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, c->dest);
		return;
	}
	const Stratus__IndexCopyReply *r = (const void *)reply->msg;
	struct buf src = BUF_INIT, dst = BUF_INIT;
	imap_append_uidset(&src, r->src_uids, r->n_src_uids);
	imap_append_uidset(&dst, r->dest_uids, r->n_dest_uids);
	char *code = r->n_src_uids == 0 ? NULL :
		imap_pool_printf(&cmd->pool, "[COPYUID %u %s %s] ",
				 r->dest_uidvalidity, src.data, dst.data);
	buf_free(&src);
	buf_free(&dst);
	if (!c->move) {
		imap_sync_reply(cmd, "OK", "%s%s", code != NULL ? code : "",
				r->n_src_uids == 0 ? "No messages found." :
				"Copy completed.");
		return;
	}
	if (code != NULL)
		imap_client_send(client, "* OK %sMoved UIDs.", code);
	imap_client_expunged(client, r->expunged, r->n_expunged);
	imap_sync_reply(cmd, "OK", "Move completed.");
}

static bool copy_start(struct imap_cmd *cmd, bool uid_cmd, bool move,
		       const struct imap_arg *args, size_t n_args)
{
	struct imap_client *client = cmd->client;
	if (n_args != 2 || args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *dest = imap_mailbox_arg(cmd, &args[1], false);
	if (dest == NULL)
		return true;
	struct imap_msgset ms;
	const char *error;
	if (imap_msgset_parse(cmd, args[0].str, uid_cmd, &ms, &error) < 0) {
		imap_cmd_bad(cmd, error);
		return true;
	}
	if (move && client->selected_readonly) {
		imap_cmd_reply(cmd, "NO", "Mailbox is read-only.");
		return true;
	}
	if (ms.n_uids == 0) {
		imap_cmd_reply(cmd, "OK", "No messages found.");
		return true;
	}
	struct copy_ctx *c = imap_pool_alloc(&cmd->pool, sizeof(*c));
	c->dest = dest;
	c->move = move;
	c->uid_cmd = uid_cmd;
	cmd->ctx = c;
	Stratus__IndexCopyRequest req = STRATUS__INDEX_COPY_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = client->selected;
	req.dest = (char *)dest;
	req.uids = ms.ranges;
	req.n_uids = ms.n_ranges;
	req.move = move;
	imap_mail_log_index_call(cmd, IMAP_INDEX_COPY, &req.base, copy_reply);
	return false;
}

bool imap_copy_start(struct imap_cmd *cmd, bool uid_cmd, bool move,
		     const struct imap_arg *args, size_t n_args)
{
	return copy_start(cmd, uid_cmd, move, args, n_args);
}

bool cmd_copy(struct imap_cmd *cmd)
{
	bool move = strcasecmp(cmd->c.name, "MOVE") == 0;
	return copy_start(cmd, false, move, cmd->c.args, cmd->c.n_args);
}
