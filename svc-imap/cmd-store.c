/* STORE and UID STORE: FLAGS, +FLAGS, -FLAGS, each with .SILENT, through
 * svc-index Store. The new flags of changed messages are reported with
 * untagged FETCH (unless .SILENT) and remembered, so the next sync does
 * not report this session's own changes again. */
#include "imap-flags.h"
#include "imap-index.h"
#include "imap-mail-log.h"
#include "imap-msgset.h"
#include "imap-sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct store_ctx {
	bool uid_cmd, silent;
	bool unchangedsince;	/* RFC 7162 3.1.3 */
};

/* "OK [MODIFIED set]": the messages UNCHANGEDSINCE kept as they were,
 * as UIDs for UID STORE, else sequence numbers. */
static const char *store_modified(struct imap_cmd *cmd,
				  const Stratus__IndexStoreReply *r)
{
	struct store_ctx *s = cmd->ctx;
	uint32_t *ids = xcalloc(r->n_modified + 1, sizeof(uint32_t));
	size_t n = 0;
	for (size_t i = 0; i < r->n_modified; i++) {
		uint32_t seq = imap_client_seq(cmd->client, r->modified[i]);
		if (seq != 0)
			ids[n++] = s->uid_cmd ? r->modified[i] : seq;
	}
	struct buf set = BUF_INIT;
	imap_append_uidset(&set, ids, n);
	const char *text = imap_pool_printf(&cmd->pool, "[MODIFIED %s] "
		"Conditional store failed.", set.data != NULL ? set.data : "");
	buf_free(&set);
	free(ids);
	return text;
}

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
		/* .SILENT still reports the new MODSEQ after a conditional
		 * store (RFC 7162 3.1.3). */
		if (seq == 0 || (s->silent && !s->unchangedsince))
			continue;
		buf_reset(&out);
		buf_printf(&out, "* %u FETCH (", seq);
		if (s->uid_cmd)
			buf_printf(&out, "UID %u ", u->uid);
		if (!s->silent)
			imap_append_flags(&out, u->flags, u->n_flags,
					  imap_client_is_recent(client,
								u->uid));
		if (client->condstore)
			buf_printf(&out, "%sMODSEQ (%llu)", s->silent ? "" :
				   " ", (unsigned long long)u->modseq);
		buf_append_c(&out, ')');
		imap_client_send(client, "%s", out.data);
	}
	buf_free(&out);
	const char *text = r->n_modified > 0 ? store_modified(cmd, r) :
		"Store completed.";
	cmd->sync_holds_expunges = !s->uid_cmd;
	imap_sync_reply(cmd, "OK", "%s", text);
}

bool imap_store_start(struct imap_cmd *cmd, bool uid_cmd,
		      const struct imap_arg *args, size_t n_args)
{
	struct imap_client *client = cmd->client;
	uint64_t unchangedsince = 0;
	bool conditional = false;
	if (n_args >= 4 && args[1].type == IMAP_ARG_LIST) {
		/* "(UNCHANGEDSINCE n)" before the item (RFC 7162 3.1.3). */
		const struct imap_arg *l = args[1].list;
		char *end;
		if (args[1].list_count != 2 ||
		    !imap_arg_atom_equals(&l[0], "UNCHANGEDSINCE") ||
		    l[1].type != IMAP_ARG_ATOM || l[1].str[0] < '0' ||
		    l[1].str[0] > '9') {
			imap_cmd_bad(cmd, "Invalid STORE modifiers.");
			return true;
		}
		errno = 0;
		unchangedsince = strtoull(l[1].str, &end, 10);
		if (*end != '\0' || errno != 0 ||
		    unchangedsince > INT64_MAX) {
			imap_cmd_bad(cmd, "Invalid UNCHANGEDSINCE value.");
			return true;
		}
		conditional = true;
		struct imap_arg *shifted = imap_pool_alloc(&cmd->pool,
			(n_args - 1) * sizeof(*shifted));
		shifted[0] = args[0];
		memcpy(&shifted[1], &args[2], (n_args - 2) * sizeof(*shifted));
		args = shifted;
		n_args--;
	}
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
	if (conditional)
		imap_client_enable_condstore(client);
	struct store_ctx *s = imap_pool_alloc(&cmd->pool, sizeof(*s));
	s->uid_cmd = uid_cmd;
	s->silent = silent;
	s->unchangedsince = conditional;
	cmd->ctx = s;
	if (conditional && unchangedsince == 0) {
		/* Every message has a modseq above 0: none is stored. */
		Stratus__IndexStoreReply none = STRATUS__INDEX_STORE_REPLY__INIT;
		none.modified = ms.uids;
		none.n_modified = ms.n_uids;
		imap_cmd_reply(cmd, "OK", "%s", store_modified(cmd, &none));
		return true;
	}
	cmd->ctx = s;
	Stratus__IndexStoreRequest req = STRATUS__INDEX_STORE_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = client->selected;
	req.uids = ms.ranges;
	req.n_uids = ms.n_ranges;
	req.mode = mode;
	req.flags = flags;
	req.n_flags = n_flags;
	req.unchanged_since = unchangedsince;
	imap_mail_log_index_call(cmd, IMAP_INDEX_STORE, &req.base,
				 store_reply);
	return false;
}

bool cmd_store(struct imap_cmd *cmd)
{
	return imap_store_start(cmd, false, cmd->c.args, cmd->c.n_args);
}
