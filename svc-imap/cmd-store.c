/* STORE and UID STORE: FLAGS, +FLAGS, -FLAGS, each with .SILENT, through
 * svc-index Store. The new flags of changed messages are reported with
 * untagged FETCH (unless .SILENT) and remembered, so the next sync does
 * not report this session's own changes again. */
#include "imap-flags.h"
#include "imap-index.h"
#include "imap-mail-log.h"
#include "imap-msgset.h"
#include "imap-sync.h"

#include <string.h>
#include <strings.h>

struct store_ctx {
	bool uid_cmd, silent;
};

static void store_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct store_ctx *s = cmd->ctx;
	struct imap_client *client = cmd->client;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, NULL);
		return;
	}
	const Stratus__IndexStoreReply *r = (const void *)reply->msg;
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < r->n_updated; i++) {
		const Stratus__IndexFlagUpdate *u = r->updated[i];
		imap_client_own_change(client, u->uid, u->modseq);
		uint32_t seq = imap_client_seq(client, u->uid);
		if (s->silent || seq == 0)
			continue;
		buf_reset(&out);
		buf_printf(&out, "* %u FETCH (", seq);
		if (s->uid_cmd)
			buf_printf(&out, "UID %u ", u->uid);
		imap_append_flags(&out, u->flags, u->n_flags, false);
		buf_append_c(&out, ')');
		imap_client_send(client, "%s", out.data);
	}
	buf_free(&out);
	if (s->uid_cmd) {
		imap_sync_reply(cmd, "OK", "Store completed.");
		return;
	}
	imap_cmd_reply(cmd, "OK", "Store completed.");
	imap_cmd_done(cmd);
}

bool imap_store_start(struct imap_cmd *cmd, bool uid_cmd,
		      const struct imap_arg *args, size_t n_args)
{
	struct imap_client *client = cmd->client;
	if (n_args < 3 || args[0].type != IMAP_ARG_ATOM ||
	    args[1].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *item = args[1].str;
	Stratus__IndexStoreMode mode;
	if (item[0] == '+') {
		mode = STRATUS__INDEX_STORE_MODE__INDEX_STORE_ADD;
		item++;
	} else if (item[0] == '-') {
		mode = STRATUS__INDEX_STORE_MODE__INDEX_STORE_REMOVE;
		item++;
	} else {
		mode = STRATUS__INDEX_STORE_MODE__INDEX_STORE_REPLACE;
	}
	bool silent = strcasecmp(item, "FLAGS.SILENT") == 0;
	if (!silent && strcasecmp(item, "FLAGS") != 0) {
		imap_cmd_bad(cmd, "Invalid STORE item");
		return true;
	}
	/* "+FLAGS (\Seen \Deleted)" or "+FLAGS \Seen \Deleted" */
	struct imap_arg list = { .type = IMAP_ARG_LIST, .fd = -1 };
	if (n_args == 3 && args[2].type == IMAP_ARG_LIST) {
		list = args[2];
	} else {
		list.list = (struct imap_arg *)&args[2];
		list.list_count = n_args - 2;
	}
	char **flags;
	size_t n_flags;
	const char *error;
	struct imap_msgset ms;
	if (imap_flags_parse(cmd, &list, &flags, &n_flags, &error) < 0 ||
	    imap_msgset_parse(cmd, args[0].str, uid_cmd, &ms, &error) < 0) {
		imap_cmd_bad(cmd, error);
		return true;
	}
	if (client->selected_readonly) {
		imap_cmd_reply(cmd, "NO", "Mailbox is read-only.");
		return true;
	}
	if (ms.n_uids == 0) {
		imap_cmd_reply(cmd, "OK", "Store completed.");
		return true;
	}
	struct store_ctx *s = imap_pool_alloc(&cmd->pool, sizeof(*s));
	s->uid_cmd = uid_cmd;
	s->silent = silent;
	cmd->ctx = s;
	Stratus__IndexStoreRequest req = STRATUS__INDEX_STORE_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = client->selected;
	req.uids = ms.ranges;
	req.n_uids = ms.n_ranges;
	req.mode = mode;
	req.flags = flags;
	req.n_flags = n_flags;
	imap_mail_log_index_call(cmd, IMAP_INDEX_STORE, &req.base,
				 store_reply);
	return false;
}

bool cmd_store(struct imap_cmd *cmd)
{
	return imap_store_start(cmd, false, cmd->c.args, cmd->c.n_args);
}
