/* Mailbox commands through svc-index: LIST, LSUB, CREATE, DELETE, RENAME,
 * SUBSCRIBE, UNSUBSCRIBE, STATUS, SELECT, EXAMINE, CLOSE, UNSELECT, CHECK.
 * The index owns names, GUIDs, UIDs and auto-created folders; this file
 * owns the IMAP syntax and replies. */
#include "imap-index.h"
#include "imap-quota.h"
#include "imap-mail-log.h"
#include "imap-utf7.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void imap_index_fail(struct imap_cmd *cmd, const struct rpc_reply *reply,
		     const char *mailbox)
{
	struct buf name = BUF_INIT;
	if (mailbox != NULL && imap_utf7_to_utf8(mailbox, &name) < 0)
		buf_append_str(&name, mailbox);
	switch (reply->status) {
	case STRATUS__STATUS__STATUS_NOT_FOUND:
		imap_cmd_reply(cmd, "NO", "[NONEXISTENT] Mailbox doesn't "
			       "exist: %s", name.data != NULL ? name.data : "");
		break;
	case STRATUS__STATUS__STATUS_EXISTS:
		imap_cmd_reply(cmd, "NO", "[ALREADYEXISTS] Mailbox already "
			       "exists");
		break;
	case STRATUS__STATUS__STATUS_INVALID:
		imap_cmd_reply(cmd, "NO", "Invalid mailbox name");
		break;
	case STRATUS__STATUS__STATUS_DENIED:
		imap_cmd_reply(cmd, "NO", "[CANNOT] %s", reply->error != NULL ?
			       reply->error : "Permission denied");
		break;
	case STRATUS__STATUS__STATUS_OVER_QUOTA:
		imap_cmd_reply(cmd, "NO", "[OVERQUOTA] Quota exceeded");
		break;
	default:
		log_error(&cmd->client->log, "%s failed: %s", cmd->c.name,
			  reply->error != NULL ? reply->error :
			  rpc_status_name(reply->status));
		imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Internal error "
			       "occurred. Refer to server log for more "
			       "information.");
		break;
	}
	buf_free(&name);
	imap_cmd_done(cmd);
}

static bool is_astring_atom(const char *s)
{
	if (*s == '\0' || strcasecmp(s, "NIL") == 0)
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\", c) != NULL)
			return false;
	}
	return true;
}

void imap_append_astring(struct buf *out, const char *s)
{
	if (is_astring_atom(s))
		buf_append_str(out, s);
	else
		imap_quote_string(out, s);
}

const char *imap_mailbox_arg(struct imap_cmd *cmd, const struct imap_arg *arg,
			     bool strip_sep)
{
	const struct imap_settings *set = &cmd->client->ctx->set;
	char sep = imap_settings_inbox_ns(set)->sep;
	if (!imap_arg_is_astring(arg)) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return NULL;
	}
	char *name = imap_pool_strndup(&cmd->pool, arg->str, arg->len);
	size_t len = strlen(name);
	if ((strip_sep || (set->workarounds & IMAP_WA_TB_EXTRA_MAILBOX_SEP)) &&
	    len > 1 && name[len - 1] == sep)
		name[--len] = '\0';
	if (strcasecmp(name, "INBOX") == 0)
		return "INBOX";
	if (len > 5 && strncasecmp(name, "INBOX", 5) == 0 && name[5] == sep)
		memcpy(name, "INBOX", 5);
	if (len == 0 || !imap_utf7_is_valid(name)) {
		imap_cmd_reply(cmd, "NO", len == 0 ? "Empty mailbox name." :
			       "Mailbox name is not valid mUTF-7");
		return NULL;
	}
	return name;
}

/* ---- LIST / LSUB ---- */

static void list_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct imap_client *client = cmd->client;
	bool lsub = strcasecmp(cmd->c.name, "LSUB") == 0;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, NULL);
		return;
	}
	const Stratus__IndexListReply *r =
		(const Stratus__IndexListReply *)reply->msg;
	char sep = imap_settings_inbox_ns(&client->ctx->set)->sep;
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < r->n_entries; i++) {
		const Stratus__IndexListEntry *e = r->entries[i];
		buf_reset(&out);
		buf_printf(&out, "* %s (", cmd->c.name);
		size_t start = out.len;
		if (lsub) {
			if (e->nonexistent)
				buf_append_str(&out, "\\Noselect");
		} else {
			if (e->nonexistent)
				buf_append_str(&out, "\\Noselect");
			buf_append_str(&out, out.len > start ? " " : "");
			buf_append_str(&out, e->has_children ?
				       "\\HasChildren" : "\\HasNoChildren");
			for (size_t j = 0; j < e->n_special_use; j++)
				buf_printf(&out, " %s", e->special_use[j]);
		}
		buf_printf(&out, ") \"%s%c\" ", sep == '\\' || sep == '"' ?
			   "\\" : "", sep);
		imap_append_astring(&out, e->name);
		imap_client_send(client, "%s", out.data);
	}
	buf_free(&out);
	imap_cmd_reply(cmd, "OK", "%s completed.", lsub ? "Lsub" : "List");
	imap_cmd_done(cmd);
}

bool cmd_list(struct imap_cmd *cmd)
{
	const struct imap_arg *args = cmd->c.args;
	struct imap_client *client = cmd->client;
	char sep = imap_settings_inbox_ns(&client->ctx->set)->sep;

	if (cmd->c.n_args != 2 || !imap_arg_is_astring(&args[0]) ||
	    !imap_arg_is_astring(&args[1])) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *ref = args[0].str, *pattern = args[1].str;
	if (pattern[0] == '\0' && strcasecmp(cmd->c.name, "LIST") == 0) {
		/* The hierarchy delimiter and root name of the reference. */
		imap_client_send(client, "* LIST (\\Noselect) \"%s%c\" \"\"",
				 sep == '\\' || sep == '"' ? "\\" : "", sep);
		imap_cmd_reply(cmd, "OK", "List completed.");
		return true;
	}
	char *full = imap_pool_printf(&cmd->pool, "%s%s",
				      pattern[0] == sep ? "" : ref, pattern);
	Stratus__IndexListRequest req = STRATUS__INDEX_LIST_REQUEST__INIT;
	req.user = client->user;
	req.patterns = &full;
	req.n_patterns = 1;
	req.subscribed_only = strcasecmp(cmd->c.name, "LSUB") == 0;
	imap_index_call(cmd, IMAP_INDEX_LIST, &req.base, list_reply);
	return false;
}

/* ---- CREATE / DELETE / RENAME / (UN)SUBSCRIBE ---- */

static void simple_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, cmd->ctx);
		return;
	}
	const char *n = cmd->c.name;
	imap_cmd_reply(cmd, "OK", "%c%s completed.", n[0] & ~0x20, n + 1);
	imap_cmd_done(cmd);
}

/* A command's reply text is "Create completed." etc.: lower-case the
 * name once so the text matches Dovecot's. */
static void cmd_name_lower(struct imap_cmd *cmd)
{
	char *n = imap_pool_strndup(&cmd->pool, cmd->c.name,
				    strlen(cmd->c.name));
	for (char *p = n + 1; *p != '\0'; p++)
		*p = (char)(*p | 0x20);
	cmd->c.name = n;
}

bool cmd_create(struct imap_cmd *cmd)
{
	if (cmd->c.n_args != 1) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *name = imap_mailbox_arg(cmd, &cmd->c.args[0], true);
	if (name == NULL)
		return true;
	cmd_name_lower(cmd);
	Stratus__IndexMailboxCreateRequest req =
		STRATUS__INDEX_MAILBOX_CREATE_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)name;
	cmd->ctx = (void *)name;
	imap_mail_log_index_call(cmd, IMAP_INDEX_CREATE, &req.base,
				 simple_reply);
	return false;
}

bool cmd_delete(struct imap_cmd *cmd)
{
	if (cmd->c.n_args != 1) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *name = imap_mailbox_arg(cmd, &cmd->c.args[0], false);
	if (name == NULL)
		return true;
	if (strcmp(name, "INBOX") == 0) {
		imap_cmd_reply(cmd, "NO", "INBOX can't be deleted.");
		return true;
	}
	const struct imap_client *client = cmd->client;
	const struct imap_namespace *ns = imap_settings_inbox_ns(&client->ctx->set);
	for (size_t i = 0; i < ns->n_mailboxes; i++) {
		if (ns->mailboxes[i].autocreate != IMAP_AUTO_NO &&
		    strcmp(ns->mailboxes[i].name, name) == 0) {
			imap_cmd_reply(cmd, "NO", "[CANNOT] Can't delete "
				       "autocreated mailbox");
			return true;
		}
	}
	if (client->state == IMAP_STATE_SELECTED &&
	    strcmp(client->selected, name) == 0) {
		imap_cmd_reply(cmd, "NO", "[CANNOT] Can't delete selected "
			       "mailbox");
		return true;
	}
	cmd_name_lower(cmd);
	Stratus__IndexMailboxRequest req = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = (char *)name;
	cmd->ctx = (void *)name;
	imap_mail_log_index_call(cmd, IMAP_INDEX_DELETE, &req.base,
				 simple_reply);
	return false;
}

bool cmd_rename(struct imap_cmd *cmd)
{
	if (cmd->c.n_args != 2) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *from = imap_mailbox_arg(cmd, &cmd->c.args[0], false);
	if (from == NULL)
		return true;
	const char *to = imap_mailbox_arg(cmd, &cmd->c.args[1], true);
	if (to == NULL)
		return true;
	cmd_name_lower(cmd);
	Stratus__IndexMailboxRenameRequest req =
		STRATUS__INDEX_MAILBOX_RENAME_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)from;
	req.new_name = (char *)to;
	cmd->ctx = (void *)from;
	imap_mail_log_index_call(cmd, IMAP_INDEX_RENAME, &req.base,
				 simple_reply);
	return false;
}

static bool subscribe(struct imap_cmd *cmd, bool on)
{
	if (cmd->c.n_args != 1) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *name = imap_mailbox_arg(cmd, &cmd->c.args[0], false);
	if (name == NULL)
		return true;
	const struct imap_namespace *ns =
		imap_settings_inbox_ns(&cmd->client->ctx->set);
	for (size_t i = 0; !on && i < ns->n_mailboxes; i++) {
		if (ns->mailboxes[i].autocreate == IMAP_AUTO_SUBSCRIBE &&
		    strcmp(ns->mailboxes[i].name, name) == 0) {
			imap_cmd_reply(cmd, "NO", "[CANNOT] Can't unsubscribe "
				       "autosubscribed mailbox");
			return true;
		}
	}
	cmd_name_lower(cmd);
	Stratus__IndexSubscribeRequest req =
		STRATUS__INDEX_SUBSCRIBE_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)name;
	req.subscribe = on;
	cmd->ctx = (void *)name;
	imap_index_call(cmd, IMAP_INDEX_SUBSCRIBE, &req.base, simple_reply);
	return false;
}

bool cmd_subscribe(struct imap_cmd *cmd)
{
	return subscribe(cmd, true);
}

bool cmd_unsubscribe(struct imap_cmd *cmd)
{
	return subscribe(cmd, false);
}

/* ---- STATUS ---- */

static void status_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	const struct imap_status_ctx *sc = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, sc->mailbox);
		return;
	}
	const Stratus__IndexMailboxStatus *st =
		((const Stratus__IndexMailboxStatusReply *)reply->msg)->status;
	const struct imap_arg *items = &cmd->c.args[1];
	struct buf out = BUF_INIT;
	buf_append_str(&out, "* STATUS ");
	imap_append_astring(&out, sc->mailbox);
	buf_append_str(&out, " (");
	for (size_t i = 0; st != NULL && i < items->list_count; i++) {
		const char *it = items->list[i].str;
		unsigned long long v = 0;
		if (strcasecmp(it, "MESSAGES") == 0)
			v = st->messages;
		else if (strcasecmp(it, "RECENT") == 0)
			v = st->recent;
		else if (strcasecmp(it, "UIDNEXT") == 0)
			v = st->uidnext;
		else if (strcasecmp(it, "UIDVALIDITY") == 0)
			v = st->uidvalidity;
		else if (strcasecmp(it, "UNSEEN") == 0)
			v = st->unseen;
		else if (strcasecmp(it, "SIZE") == 0)
			v = st->vsize;
		else if (sc->want_deleted)
			v = imap_quota_status_value(sc, it);
		buf_printf(&out, "%s%s %llu", i > 0 ? " " : "", it, v);
	}
	buf_append_c(&out, ')');
	imap_client_send(cmd->client, "%s", out.data);
	buf_free(&out);
	imap_cmd_reply(cmd, "OK", "Status completed.");
	imap_cmd_done(cmd);
}

static void status_send(struct imap_cmd *cmd)
{
	const struct imap_status_ctx *sc = cmd->ctx;
	Stratus__IndexMailboxRequest req = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)sc->mailbox;
	imap_index_call(cmd, IMAP_INDEX_STATUS, &req.base, status_reply);
}

bool cmd_status(struct imap_cmd *cmd)
{
	static const char *const known[] = { "MESSAGES", "RECENT", "UIDNEXT",
		"UIDVALIDITY", "UNSEEN", "SIZE" };
	const struct imap_arg *args = cmd->c.args;
	if (cmd->c.n_args != 2 || args[1].type != IMAP_ARG_LIST ||
	    args[1].list_count == 0) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	struct imap_status_ctx *sc = imap_pool_alloc(&cmd->pool, sizeof(*sc));
	for (size_t i = 0; i < args[1].list_count; i++) {
		const struct imap_arg *item = &args[1].list[i];
		bool ok = false;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok |= imap_arg_atom_equals(item, known[k]);
		if (!ok && imap_quota_status_item(cmd->client, item)) {
			ok = sc->want_deleted = true;
			sc->want_storage |= imap_arg_atom_equals(item,
							"DELETED-STORAGE");
		}
		if (!ok) {
			imap_cmd_bad(cmd, "Invalid status item");
			return true;
		}
	}
	const char *name = imap_mailbox_arg(cmd, &args[0], false);
	if (name == NULL)
		return true;
	sc->mailbox = name;
	sc->done = status_send;
	cmd->ctx = sc;
	if (sc->want_deleted)
		imap_quota_status_count(cmd, sc);
	else
		status_send(cmd);
	return false;
}

/* ---- SELECT / EXAMINE / CLOSE / UNSELECT / CHECK ---- */

void imap_client_unselect(struct imap_client *client)
{
	free(client->selected);
	client->selected = NULL;
	free(client->uids);
	client->uids = NULL;
	client->n_uids = 0;
	free(client->own);
	client->own = NULL;
	client->n_own = 0;
	if (client->state == IMAP_STATE_SELECTED)
		imap_client_set_state(client, IMAP_STATE_AUTH);
}

static void select_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct imap_client *client = cmd->client;
	bool examine = strcasecmp(cmd->c.name, "EXAMINE") == 0;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, cmd->ctx);
		return;
	}
	const Stratus__IndexOpenReply *r =
		(const Stratus__IndexOpenReply *)reply->msg;
	const Stratus__IndexMailboxStatus *st = r->status;
	if (st == NULL) {
		imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Internal error "
			       "occurred. Refer to server log for more "
			       "information.");
		imap_cmd_done(cmd);
		return;
	}
	client->selected = xstrdup(cmd->ctx);
	client->selected_readonly = examine;
	client->uidvalidity = st->uidvalidity;
	client->highest_modseq = st->highest_modseq;
	client->uidnext = st->uidnext;
	client->n_recent = st->recent;
	client->n_uids = r->n_uids;
	client->uids = xreallocarray(NULL, r->n_uids + 1, sizeof(uint32_t));
	if (r->n_uids > 0)
		memcpy(client->uids, r->uids, r->n_uids * sizeof(uint32_t));
	imap_client_set_state(client, IMAP_STATE_SELECTED);

	struct buf kw = BUF_INIT;
	for (size_t i = 0; i < st->n_keywords; i++)
		buf_printf(&kw, " %s", st->keywords[i]);
	imap_client_send(client, "* FLAGS (\\Answered \\Flagged \\Deleted "
			 "\\Seen \\Draft%s)", kw.data != NULL ? kw.data : "");
	if (examine)
		imap_client_send(client, "* OK [PERMANENTFLAGS ()] Read-only "
				 "mailbox.");
	else
		imap_client_send(client, "* OK [PERMANENTFLAGS (\\Answered "
				 "\\Flagged \\Deleted \\Seen \\Draft%s \\*)] "
				 "Flags permitted.", kw.data != NULL ?
				 kw.data : "");
	buf_free(&kw);
	imap_client_send(client, "* %u EXISTS", st->messages);
	imap_client_send(client, "* %u RECENT", st->recent);
	if (st->first_unseen_seq != 0)
		imap_client_send(client, "* OK [UNSEEN %u] First unseen.",
				 st->first_unseen_seq);
	imap_client_send(client, "* OK [UIDVALIDITY %u] UIDs valid",
			 st->uidvalidity);
	imap_client_send(client, "* OK [UIDNEXT %u] Predicted next UID",
			 st->uidnext);
	imap_cmd_reply(cmd, "OK", "[%s] %s completed.", examine ?
		       "READ-ONLY" : "READ-WRITE", examine ? "Examine" :
		       "Select");
	imap_cmd_done(cmd);
}

bool cmd_select(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	if (cmd->c.n_args != 1) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *name = imap_mailbox_arg(cmd, &cmd->c.args[0], false);
	if (name == NULL)
		return true;
	if (client->state == IMAP_STATE_SELECTED) {
		/* RFC 3501 6.3.1: the old mailbox is closed without
		 * expunging, even if the new SELECT fails. */
		imap_client_unselect(client);
		imap_client_send(client, "* OK [CLOSED] Previous mailbox "
				 "closed.");
	}
	Stratus__IndexOpenRequest req = STRATUS__INDEX_OPEN_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = (char *)name;
	req.readonly = strcasecmp(cmd->c.name, "EXAMINE") == 0;
	cmd->ctx = (void *)name;
	imap_index_call(cmd, IMAP_INDEX_OPEN, &req.base, select_reply);
	return false;
}

static void close_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	if (reply->status == STRATUS__STATUS__STATUS_OK)
		imap_expunge_cleanup(cmd->client,
				     (const Stratus__IndexExpungeReply *)reply->msg);
	else if (reply->status != STRATUS__STATUS__STATUS_NOT_FOUND)
		log_error(&cmd->client->log, "CLOSE: expunge failed: %s",
			  reply->error != NULL ? reply->error :
			  rpc_status_name(reply->status));
	imap_client_unselect(cmd->client);
	imap_cmd_reply(cmd, "OK", "Close completed.");
	imap_cmd_done(cmd);
}

bool cmd_close(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	if (client->selected_readonly) {
		imap_client_unselect(client);
		imap_cmd_reply(cmd, "OK", "Close completed.");
		return true;
	}
	Stratus__IndexExpungeRequest req = STRATUS__INDEX_EXPUNGE_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = client->selected;
	req.only_deleted = true;
	imap_mail_log_index_call(cmd, IMAP_INDEX_EXPUNGE, &req.base,
				 close_reply);
	return false;
}

bool cmd_unselect(struct imap_cmd *cmd)
{
	imap_client_unselect(cmd->client);
	imap_cmd_reply(cmd, "OK", "Unselect completed.");
	return true;
}

bool cmd_check(struct imap_cmd *cmd)
{
	imap_sync_reply(cmd, "OK", "Check completed.");
	return false;
}
