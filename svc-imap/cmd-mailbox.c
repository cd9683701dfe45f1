/* Mailbox commands through svc-index: CREATE, DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE, STATUS, SELECT, EXAMINE, CLOSE, UNSELECT, CHECK (LIST and
 * LSUB are in cmd-list.c).
 * The index owns names, GUIDs, UIDs and auto-created folders; this file
 * owns the IMAP syntax and replies. */
#include "imap-index.h"
#include "imap-mail-log.h"
#include "imap-quota.h"
#include "imap-qresync.h"
#include "imap-msgset.h"
#include "imap-objectid.h"
#include "imap-sync.h"
#include "imap-utf7.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void select_send_list(struct imap_client *client,
			     const Stratus__IndexMailboxStatus *st);

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

void imap_append_mailbox(struct imap_client *client, struct buf *out,
			 const char *name)
{
	struct buf utf8 = BUF_INIT;
	if (imap_client_utf8_names(client) && strchr(name, '&') != NULL &&
	    imap_utf7_to_utf8(name, &utf8) == 0 && utf8.data != NULL)
		name = utf8.data;
	imap_append_astring(out, name);
	buf_free(&utf8);
}

/* IMAP4rev2 and UTF8=ACCEPT names arrive in UTF-8: the index's form is modified UTF-7
 * ("&" itself becomes "&-"). NULL when the name is not UTF-8. */
const char *imap_mailbox_from_client(struct imap_cmd *cmd, const char *name)
{
	if (!imap_client_utf8_names(cmd->client))
		return name;
	struct buf utf7 = BUF_INIT;
	if (imap_utf8_to_utf7(name, &utf7) < 0) {
		buf_free(&utf7);
		return NULL;
	}
	char *r = imap_pool_strndup(&cmd->pool, utf7.data != NULL ?
				    utf7.data : "", utf7.len);
	buf_free(&utf7);
	return r;
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
	const char *in = imap_mailbox_from_client(cmd, arg->str);
	if (in == NULL) {
		imap_cmd_reply(cmd, "NO", "Mailbox name is not valid UTF-8");
		return NULL;
	}
	char *name = imap_pool_strndup(&cmd->pool, in, strlen(in));
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

/* OBJECTID (RFC 8474 4.1): CREATE tells the new mailbox's MAILBOXID. */
static void create_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, cmd->ctx);
		return;
	}
	const Stratus__IndexMailboxStatus *st =
		((const Stratus__IndexMailboxStatusReply *)reply->msg)->status;
	struct buf id = BUF_INIT;
	if (st != NULL && st->guid[0] != '\0')
		imap_objectid_append(&id, IMAP_MAILBOXID_PREFIX, st->guid);
	imap_cmd_reply(cmd, "OK", "%s%s%sCreate completed.",
		       id.len > 0 ? "[MAILBOXID " : "",
		       id.len > 0 ? id.data : "", id.len > 0 ? "] " : "");
	buf_free(&id);
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

/* CREATE-SPECIAL-USE (RFC 6154 3): "(USE (\\Drafts ...))" after the
 * name, each attribute one svc-index keeps; names canonicalised. Returns
 * the count, or -1 with a tagged reply sent. */
static int create_special_use(struct imap_cmd *cmd, const struct imap_arg *a,
			      char ***uses_r)
{
	static const char *const known[] = {
		"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk",
		"\\Sent", "\\Trash", "\\Important",
	};
	if (a->type != IMAP_ARG_LIST || a->list_count != 2 ||
	    !imap_arg_atom_equals(&a->list[0], "USE") ||
	    a->list[1].type != IMAP_ARG_LIST) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return -1;
	}
	const struct imap_arg *l = &a->list[1];
	char **uses = imap_pool_alloc(&cmd->pool,
				      (l->list_count + 1) * sizeof(char *));
	for (size_t i = 0; i < l->list_count; i++) {
		size_t k = 0;
		while (k < sizeof(known) / sizeof(known[0]) &&
		       !imap_arg_atom_equals(&l->list[i], known[k]))
			k++;
		if (k == sizeof(known) / sizeof(known[0])) {
			imap_cmd_reply(cmd, "NO", "[USEATTR] Unsupported "
				       "special-use attribute");
			return -1;
		}
		uses[i] = (char *)known[k];
	}
	*uses_r = uses;
	return (int)l->list_count;
}

bool cmd_create(struct imap_cmd *cmd)
{
	if (cmd->c.n_args != 1 && cmd->c.n_args != 2) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	char **uses = NULL;
	int n_uses = 0;
	if (cmd->c.n_args == 2 &&
	    (n_uses = create_special_use(cmd, &cmd->c.args[1], &uses)) < 0)
		return true;
	const char *name = imap_mailbox_arg(cmd, &cmd->c.args[0], true);
	if (name == NULL)
		return true;
	cmd_name_lower(cmd);
	Stratus__IndexMailboxCreateRequest req =
		STRATUS__INDEX_MAILBOX_CREATE_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)name;
	req.special_use = uses;
	req.n_special_use = (size_t)n_uses;
	cmd->ctx = (void *)name;
	imap_mail_log_index_call(cmd, IMAP_INDEX_CREATE, &req.base,
				 create_reply);
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

void imap_status_format(struct imap_client *client, struct buf *out,
			const char *name, const struct imap_arg *items,
			const Stratus__IndexMailboxStatus *st)
{
	buf_append_str(out, "* STATUS ");
	imap_append_mailbox(client, out, name);
	buf_append_str(out, " (");
	for (size_t i = 0; st != NULL && i < items->list_count; i++) {
		const char *it = items->list[i].str;
		unsigned long long v = 0;
		if (strcasecmp(it, "MAILBOXID") == 0) {
			buf_printf(out, "%sMAILBOXID ", i > 0 ? " " : "");
			imap_objectid_append(out, IMAP_MAILBOXID_PREFIX,
					     st->guid);
			continue;
		}
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
		else if (strcasecmp(it, "DELETED") == 0)
			v = st->deleted;	/* RFC 9051 6.3.11 */
		else if (strcasecmp(it, "HIGHESTMODSEQ") == 0)
			v = st->highest_modseq;
		buf_printf(out, "%s%s %llu", i > 0 ? " " : "", it, v);
	}
	buf_append_c(out, ')');
}

bool imap_status_items_valid(struct imap_client *client,
			     const struct imap_arg *items)
{
	static const char *const known[] = { "MESSAGES", "RECENT", "UIDNEXT",
		"UIDVALIDITY", "UNSEEN", "SIZE", "HIGHESTMODSEQ", "MAILBOXID",
		"DELETED" };
	if (items->type != IMAP_ARG_LIST || items->list_count == 0)
		return false;
	for (size_t i = 0; i < items->list_count; i++) {
		bool ok = false;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok |= imap_arg_atom_equals(&items->list[i], known[k]);
		if (!ok)
			return false;
		/* A CONDSTORE enabling command (RFC 7162 3.1). */
		if (imap_arg_atom_equals(&items->list[i], "HIGHESTMODSEQ"))
			imap_client_enable_condstore(client);
	}
	return true;
}

static void status_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	const struct imap_status_ctx *sc = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, sc->mailbox);
		return;
	}
	const Stratus__IndexMailboxStatus *st =
		((const Stratus__IndexMailboxStatusReply *)reply->msg)->status;
	struct buf out = BUF_INIT;
	imap_status_format(cmd->client, &out, sc->mailbox, &sc->others, st);
	imap_quota_status_append(sc, &out);
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
	const struct imap_arg *args = cmd->c.args;
	if (cmd->c.n_args != 2 || args[1].type != IMAP_ARG_LIST ||
	    args[1].list_count == 0) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	/* DELETED and DELETED-STORAGE (RFC 9208 4.2) are counted apart. */
	struct imap_status_ctx *sc = imap_pool_alloc(&cmd->pool, sizeof(*sc));
	imap_quota_status_split(cmd, &args[1], sc);
	if (sc->others.list_count > 0 &&
	    !imap_status_items_valid(cmd->client, &sc->others)) {
		imap_cmd_bad(cmd, "Invalid status item");
		return true;
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
	free(client->selected_guid);
	client->selected_guid = NULL;
	imap_body_cache_clear(&client->body_cache);
	free(client->uids);
	client->uids = NULL;
	client->n_uids = 0;
	imap_client_held_expunges_clear(client);
	free(client->own);
	client->own = NULL;
	client->n_own = 0;
	free(client->recent_uids);
	client->recent_uids = NULL;
	client->n_recent_uids = 0;
	free(client->saved_uids);
	client->saved_uids = NULL;
	client->n_saved_uids = 0;
	if (client->state == IMAP_STATE_SELECTED)
		imap_client_set_state(client, IMAP_STATE_AUTH);
}

/* SELECT/EXAMINE parameters: (CONDSTORE) or (QRESYNC (uidvalidity
 * modseq [known-uids [seq-match]])) of RFC 7162. */
struct select_ctx {
	const char *name;
	bool qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	const char *known_uids;		/* NULL = all */
	/* The sequence match data: (known-sequence-set known-uid-set). */
	struct imap_seq_range *match_seqs, *match_uids;
	size_t n_match_seqs, n_match_uids;
};

static void select_finish(struct imap_cmd *cmd)
{
	bool examine = strcasecmp(cmd->c.name, "EXAMINE") == 0;
	imap_cmd_reply(cmd, "OK", "[%s] %s completed.", examine ?
		       "READ-ONLY" : "READ-WRITE", examine ? "Examine" :
		       "Select");
	imap_cmd_done(cmd);
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void select_send_changes(struct imap_client *client,
				const Stratus__IndexWaitReply *r)
{
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < r->n_flag_changes; i++) {
		const Stratus__IndexFlagUpdate *f = r->flag_changes[i];
		uint32_t seq = imap_client_seq(client, f->uid);
		if (seq == 0)
			continue;
		buf_reset(&out);
		buf_printf(&out, "* %u FETCH (UID %u ", seq, f->uid);
		imap_append_flags(&out, f->flags, f->n_flags,
				  imap_client_is_recent(client, f->uid));
		buf_printf(&out, " MODSEQ (%llu))",
			   (unsigned long long)f->modseq);
		imap_client_send(client, "%s", out.data);
	}
	buf_free(&out);
}

/* The expunge history does not reach back to the client's modseq: every
 * known UID not in the mailbox now is VANISHED (RFC 7162 3.2.5.1 allows
 * UIDs the client never had), above the highest sequence match pair
 * still true (3.2.5.2: nothing below it went). */
static void select_qresync_partial(struct imap_cmd *cmd,
				   const Stratus__IndexWaitReply *r,
				   const struct imap_seq_range *known,
				   size_t n_known)
{
	struct select_ctx *sc = cmd->ctx;
	struct imap_client *client = cmd->client;
	uint32_t floor = 0;
	if (sc->n_match_seqs > 0 &&
	    imap_qresync_match_floor(sc->match_seqs, sc->n_match_seqs,
				     sc->match_uids, sc->n_match_uids,
				     client->uids, client->n_uids,
				     &floor) < 0)
		floor = 0;
	struct buf out = BUF_INIT;
	buf_append_str(&out, "* VANISHED (EARLIER) ");
	size_t prefix = out.len;
	if (client->uidnext > 1 && floor < UINT32_MAX &&
	    imap_qresync_missing(&out, sc->known_uids != NULL ? known : NULL,
				 n_known, floor + 1, client->uidnext - 1,
				 client->uids, client->n_uids) &&
	    out.len > prefix)
		imap_client_send(client, "%s", out.data);
	buf_free(&out);
	if (r->resync)
		/* The changes did not fit one index reply (or the index
		 * predates partial_history): no FETCHes can be sent. */
		log_warning(&client->log, "QRESYNC: changes since %llu too "
			    "large for one index reply",
			    (unsigned long long)sc->modseq);
	select_send_changes(client, r);
	select_finish(cmd);
}

/* VANISHED (EARLIER) for the known UIDs expunged since the client's
 * modseq, then FETCH for each message changed since then. */
static void select_qresync_reply(struct imap_cmd *cmd,
				 const struct rpc_reply *reply)
{
	struct select_ctx *sc = cmd->ctx;
	struct imap_client *client = cmd->client;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		log_warning(&client->log, "QRESYNC: index Wait failed: %s",
			    reply->error != NULL ? reply->error :
			    rpc_status_name(reply->status));
		select_finish(cmd);
		return;
	}
	const Stratus__IndexWaitReply *r = (const void *)reply->msg;
	struct imap_seq_range *known = NULL;
	size_t n_known = 0;
	const char *error;
	if (sc->known_uids != NULL &&
	    imap_seqset_parse(sc->known_uids, &cmd->pool, &known, &n_known,
			      &error) < 0)
		n_known = 0;
	if (r->history_partial || r->resync) {
		select_qresync_partial(cmd, r, known, n_known);
		return;
	}
	uint32_t *gone = xcalloc(r->n_expunged + 1, sizeof(uint32_t));
	size_t n = 0;
	for (size_t i = 0; i < r->n_expunged; i++) {
		uint32_t uid = r->expunged[i];
		bool in = sc->known_uids == NULL;
		for (size_t k = 0; !in && k < n_known; k++)
			in = uid >= known[k].lo && uid <= known[k].hi;
		if (in && imap_client_seq(client, uid) == 0)
			gone[n++] = uid;
	}
	qsort(gone, n, sizeof(uint32_t), uid_cmp);
	struct buf out = BUF_INIT;
	if (n > 0) {
		buf_append_str(&out, "* VANISHED (EARLIER) ");
		imap_append_uidset(&out, gone, n);
		imap_client_send(client, "%s", out.data);
	}
	free(gone);
	buf_free(&out);
	select_send_changes(client, r);
	select_finish(cmd);
}

static void select_qresync(struct imap_cmd *cmd)
{
	struct select_ctx *sc = cmd->ctx;
	Stratus__IndexWaitRequest req;
	imap_sync_wait_request(cmd->client, &req, 0);
	req.since_modseq = sc->modseq;
	req.since_uidnext = UINT32_MAX;	/* every UID: none is "new" */
	req.claim_recent = false;
	req.partial_history = true;
	imap_index_call(cmd, IMAP_INDEX_WAIT, &req.base, select_qresync_reply);
}

static void select_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct imap_client *client = cmd->client;
	struct select_ctx *sc = cmd->ctx;
	bool examine = strcasecmp(cmd->c.name, "EXAMINE") == 0;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, sc->name);
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
	client->selected = xstrdup(sc->name);
	client->selected_guid = xstrdup(st->guid);
	client->selected_readonly = examine;
	client->uidvalidity = st->uidvalidity;
	client->highest_modseq = st->highest_modseq;
	client->uidnext = st->uidnext;
	client->n_recent_uids = r->n_recent_uids;
	client->recent_uids = xreallocarray(NULL, r->n_recent_uids + 1,
					    sizeof(uint32_t));
	if (r->n_recent_uids > 0)
		memcpy(client->recent_uids, r->recent_uids,
		       r->n_recent_uids * sizeof(uint32_t));
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
	/* RFC 9051 6.3.2: neither RECENT nor [UNSEEN] in IMAP4rev2. */
	if (!client->imap4rev2)
		imap_client_send(client, "* %zu RECENT",
				 client->n_recent_uids);
	if (st->first_unseen_seq != 0 && !client->imap4rev2)
		imap_client_send(client, "* OK [UNSEEN %u] First unseen.",
				 st->first_unseen_seq);
	imap_client_send(client, "* OK [UIDVALIDITY %u] UIDs valid",
			 st->uidvalidity);
	imap_client_send(client, "* OK [UIDNEXT %u] Predicted next UID",
			 st->uidnext);
	/* Modseqs are kept for every mailbox (RFC 7162 3.1.2.1). */
	imap_client_send(client, "* OK [HIGHESTMODSEQ %llu] Highest",
			 (unsigned long long)st->highest_modseq);
	struct buf id = BUF_INIT;
	imap_objectid_append(&id, IMAP_MAILBOXID_PREFIX, st->guid);
	imap_client_send(client, "* OK [MAILBOXID %s] Ok", id.data);
	buf_free(&id);
	if (client->imap4rev2)
		select_send_list(client, st);
	if (sc->qresync && sc->uidvalidity == st->uidvalidity) {
		select_qresync(cmd);
		return;
	}
	select_finish(cmd);
}

/* RFC 9051 6.3.2: under IMAP4rev2 SELECT and EXAMINE answer a LIST of
 * the mailbox, its name as the server spells it (the client's "inbox"
 * is INBOX) with its special-use attributes. */
static void select_send_list(struct imap_client *client,
			     const Stratus__IndexMailboxStatus *st)
{
	char sep = '/';
	const struct imap_settings *set = &client->ctx->set;
	for (size_t i = 0; i < set->n_namespaces; i++) {
		if (set->namespaces[i].inbox && set->namespaces[i].sep != '\0')
			sep = set->namespaces[i].sep;
	}
	struct buf out = BUF_INIT;
	buf_append_str(&out, "* LIST (");
	for (size_t i = 0; i < st->n_special_use; i++)
		buf_printf(&out, "%s%s", i > 0 ? " " : "", st->special_use[i]);
	buf_printf(&out, ") \"%s%c\" ", sep == '\\' || sep == '"' ? "\\" : "",
		   sep);
	imap_append_mailbox(client, &out, st->name);
	imap_client_send(client, "%s", out.data);
	buf_free(&out);
}

/* "(known-sequence-set known-uid-set)", both of one size (RFC 7162
 * 3.2.5.2). */
static bool select_seq_match(struct imap_cmd *cmd, const struct imap_arg *m,
			     struct select_ctx *sc)
{
	const char *error;
	if (m->type != IMAP_ARG_LIST || m->list_count != 2 ||
	    m->list[0].type != IMAP_ARG_ATOM ||
	    m->list[1].type != IMAP_ARG_ATOM ||
	    imap_seqset_parse(m->list[0].str, &cmd->pool, &sc->match_seqs,
			      &sc->n_match_seqs, &error) < 0 ||
	    imap_seqset_parse(m->list[1].str, &cmd->pool, &sc->match_uids,
			      &sc->n_match_uids, &error) < 0)
		return false;
	/* Sets of different sizes are ignored once the mailbox is open
	 * ('*' in them needs it): they merely narrow the answer. */
	return true;
}

/* Parses the optional SELECT parameter list into sc. Returns false with
 * a tagged BAD sent. */
static bool select_params(struct imap_cmd *cmd, const struct imap_arg *p,
			  struct select_ctx *sc)
{
	struct imap_client *client = cmd->client;
	if (p->type != IMAP_ARG_LIST)
		goto bad;
	for (size_t i = 0; i < p->list_count; i++) {
		const struct imap_arg *a = &p->list[i];
		if (imap_arg_atom_equals(a, "CONDSTORE")) {
			/* SELECT sends [HIGHESTMODSEQ] itself. */
			client->condstore = true;
			continue;
		}
		if (!imap_arg_atom_equals(a, "QRESYNC") || !client->qresync ||
		    i + 1 >= p->list_count || a[1].type != IMAP_ARG_LIST)
			goto bad;
		const struct imap_arg *q = a[1].list;
		size_t nq = a[1].list_count;
		char *end;
		if (nq < 2 || nq > 4 || q[0].type != IMAP_ARG_ATOM ||
		    q[1].type != IMAP_ARG_ATOM)
			goto bad;
		errno = 0;
		unsigned long v = strtoul(q[0].str, &end, 10);
		if (*end != '\0' || v == 0 || v > UINT32_MAX || errno != 0)
			goto bad;
		sc->uidvalidity = (uint32_t)v;
		sc->modseq = strtoull(q[1].str, &end, 10);
		if (*end != '\0' || sc->modseq == 0 || errno != 0 ||
		    q[1].str[0] < '0' || q[1].str[0] > '9')
			goto bad;
		if (nq >= 3) {
			struct imap_seq_range *r;
			size_t nr;
			const char *error;
			if (q[2].type != IMAP_ARG_ATOM ||
			    imap_seqset_parse(q[2].str, &cmd->pool, &r, &nr,
					      &error) < 0)
				goto bad;
			sc->known_uids = q[2].str;
		}
		/* The sequence match data (nq == 4) only narrows what the
		 * server sends when the expunge history is too short. */
		if (nq == 4 && !select_seq_match(cmd, &q[3], sc))
			goto bad;
		sc->qresync = true;
		i++;
	}
	return true;
bad:
	imap_cmd_bad(cmd, "Invalid SELECT parameters.");
	return false;
}

bool cmd_select(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	if (cmd->c.n_args != 1 && cmd->c.n_args != 2) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	struct select_ctx *sc = imap_pool_alloc(&cmd->pool, sizeof(*sc));
	if (cmd->c.n_args == 2 && !select_params(cmd, &cmd->c.args[1], sc))
		return true;
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
	sc->name = name;
	cmd->ctx = sc;
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
