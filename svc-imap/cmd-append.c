/* APPEND (RFC 3501 6.3.11, MULTIAPPEND RFC 3502, UIDPLUS APPENDUID): each
 * literal becomes a message object in svc-blob (Put), then one svc-index
 * Append makes them visible together. OK is sent only after both, so an
 * acknowledged message is stored. With quota enabled, svc-quota Check
 * reserves the size first and Commit settles it; a command that ends
 * early (failure, disconnect) releases the reservation and deletes the
 * objects no index references. */
#include "imap-flags.h"
#include "imap-date.h"
#include "imap-index.h"
#include "imap-mail-log.h"
#include "imap-mail.h"
#include "guid.h"
#include "blob.pb-c.h"
#include "quota.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define IMAP_MAX_APPEND_MESSAGES 1000	/* MULTIAPPEND messages at once */

struct append_msg {
	int fd;
	char **flags;
	size_t n_flags;
	time_t date;
	struct imap_mail_facts facts;
	char guid[33];
	char *object_id;	/* set once Put succeeded */
};

struct append_ctx {
	struct imap_client *client;
	const char *mailbox;
	char *mailbox_guid;
	struct append_msg *msgs;
	size_t n_msgs, next_put;
	uint64_t reservation;
	bool indexed;		/* svc-index has them: keep the objects */
};

static void append_ctx_free(void *p)
{
	struct append_ctx *a = p;
	struct imap_client *client = a->client;
	struct imap_ctx *ctx = client->ctx;
	if (a->reservation != 0) {
		Stratus__QuotaCommitRequest req =
			STRATUS__QUOTA_COMMIT_REQUEST__INIT;
		req.user = client->user;
		req.reservation = a->reservation;
		req.stored = a->indexed;
		imap_rpc_send(client, ctx->quota, ctx->methods.quota_commit,
			      &req.base, "quota Commit");
	}
	char **keys = xcalloc(a->n_msgs + 1, sizeof(char *));
	size_t n_keys = 0;
	for (size_t i = 0; i < a->n_msgs; i++) {
		struct append_msg *m = &a->msgs[i];
		if (m->fd >= 0)
			close(m->fd);
		if (m->object_id != NULL && !a->indexed)
			keys[n_keys++] = (char *)imap_object_key(m->object_id);
		imap_mail_facts_free(&m->facts);
	}
	if (n_keys > 0) {
		/* Stored but never acknowledged: nothing may point at them. */
		Stratus__BlobDeleteRequest req =
			STRATUS__BLOB_DELETE_REQUEST__INIT;
		req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
		req.user = client->user;
		req.keys = keys;
		req.n_keys = n_keys;
		imap_rpc_send(client, ctx->blob, ctx->methods.blob_delete,
			      &req.base, "blob Delete of unsaved APPEND");
	}
	free(keys);
	for (size_t i = 0; i < a->n_msgs; i++)
		free(a->msgs[i].object_id);
	free(a->msgs);
	free(a->mailbox_guid);
	free(a);
}

static void append_fail(struct imap_cmd *cmd, const char *what,
			const struct rpc_reply *reply)
{
	log_error(&cmd->client->log, "APPEND: %s failed: %s", what,
		  reply->error != NULL ? reply->error :
		  rpc_status_name(reply->status));
	if (reply->status == STRATUS__STATUS__STATUS_OVER_QUOTA)
		imap_cmd_reply(cmd, "NO", "[OVERQUOTA] Quota exceeded");
	else
		imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Internal error "
			       "occurred. Refer to server log for more "
			       "information.");
	imap_cmd_done(cmd);
}

/* "5" or "5:7" or "5,9" for APPENDUID / COPYUID. */
void imap_append_uidset(struct buf *out, const uint32_t *uids, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		buf_printf(out, "%s%u", i > 0 ? "," : "", uids[i]);
		if (j > i)
			buf_printf(out, ":%u", uids[j]);
		i = j + 1;
	}
}

static void append_index_reply(struct imap_cmd *cmd,
			       const struct rpc_reply *reply)
{
	struct append_ctx *a = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		if (reply->status == STRATUS__STATUS__STATUS_NOT_FOUND) {
			imap_cmd_reply(cmd, "NO", "[TRYCREATE] Mailbox doesn't "
				       "exist: %s", a->mailbox);
			imap_cmd_done(cmd);
			return;
		}
		append_fail(cmd, "index Append", reply);
		return;
	}
	a->indexed = true;
	const Stratus__IndexAppendReply *r = (const void *)reply->msg;
	struct buf set = BUF_INIT;
	imap_append_uidset(&set, r->uids, r->n_uids);
	imap_sync_reply(cmd, "OK", "[APPENDUID %u %s] Append completed.",
			r->uidvalidity, set.data != NULL ? set.data : "");
	buf_free(&set);
}

static void append_index(struct imap_cmd *cmd)
{
	struct append_ctx *a = cmd->ctx;
	Stratus__IndexMessage *msgs = xcalloc(a->n_msgs, sizeof(*msgs));
	Stratus__IndexMessage **ptrs = xcalloc(a->n_msgs, sizeof(*ptrs));
	for (size_t i = 0; i < a->n_msgs; i++) {
		struct append_msg *m = &a->msgs[i];
		stratus__index_message__init(&msgs[i]);
		msgs[i].guid = m->guid;
		msgs[i].object_id = m->object_id;
		msgs[i].flags = m->flags;
		msgs[i].n_flags = m->n_flags;
		msgs[i].internal_date = m->date;
		msgs[i].physical_size = m->facts.physical_size;
		msgs[i].virtual_size = m->facts.virtual_size;
		msgs[i].cached = m->facts.cached;
		msgs[i].n_cached = m->facts.n_cached;
		ptrs[i] = &msgs[i];
	}
	Stratus__IndexAppendRequest req = STRATUS__INDEX_APPEND_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)a->mailbox;
	req.messages = ptrs;
	req.n_messages = a->n_msgs;
	imap_mail_log_index_call(cmd, IMAP_INDEX_APPEND, &req.base,
				 append_index_reply);
	free(ptrs);
	free(msgs);
}

static void append_put_next(struct imap_cmd *cmd);

static void append_put_reply(struct imap_cmd *cmd,
			     const struct rpc_reply *reply)
{
	struct append_ctx *a = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		append_fail(cmd, "blob Put", reply);
		return;
	}
	const Stratus__BlobPutReply *r = (const void *)reply->msg;
	a->msgs[a->next_put++].object_id = xstrdup(r->object_id);
	append_put_next(cmd);
}

/* One Put at a time: a MULTIAPPEND of many messages never holds more
 * than one upload open per connection. */
static void append_put_next(struct imap_cmd *cmd)
{
	struct append_ctx *a = cmd->ctx;
	struct imap_ctx *ctx = cmd->client->ctx;
	if (a->next_put == a->n_msgs) {
		append_index(cmd);
		return;
	}
	struct append_msg *m = &a->msgs[a->next_put];
	char *key = xasprintf("%s/%s", a->mailbox_guid, m->guid);
	Stratus__BlobMeta meta = STRATUS__BLOB_META__INIT;
	meta.mailbox_guid = a->mailbox_guid;
	meta.received_date = m->date;
	meta.save_date = time(NULL);
	meta.physical_size = m->facts.physical_size;
	meta.virtual_size = m->facts.virtual_size;
	meta.message_guid = m->guid;
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = cmd->client->user;
	req.key = key;
	req.meta = &meta;
	imap_rpc_call(cmd, ctx->blob, ctx->methods.blob_put, &req.base,
		      &m->fd, 1, append_put_reply);
	free(key);
}

static void append_quota_reply(struct imap_cmd *cmd,
			       const struct rpc_reply *reply)
{
	struct append_ctx *a = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		append_fail(cmd, "quota Check", reply);
		return;
	}
	const Stratus__QuotaCheckReply *r = (const void *)reply->msg;
	a->reservation = r->reservation;
	if (!r->allowed) {
		imap_cmd_reply(cmd, "NO", "[OVERQUOTA] %s", *r->message != '\0' ?
			       r->message : "Quota exceeded");
		imap_cmd_done(cmd);
		return;
	}
	append_put_next(cmd);
}

static void append_status_reply(struct imap_cmd *cmd,
				const struct rpc_reply *reply)
{
	struct append_ctx *a = cmd->ctx;
	struct imap_ctx *ctx = cmd->client->ctx;
	if (reply->status == STRATUS__STATUS__STATUS_NOT_FOUND) {
		imap_cmd_reply(cmd, "NO", "[TRYCREATE] Mailbox doesn't exist: "
			       "%s", a->mailbox);
		imap_cmd_done(cmd);
		return;
	}
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, a->mailbox);
		return;
	}
	const Stratus__IndexMailboxStatusReply *r = (const void *)reply->msg;
	if (r->status == NULL || r->status->guid[0] == '\0') {
		imap_cmd_reply(cmd, "NO", "[TRYCREATE] Mailbox doesn't exist: "
			       "%s", a->mailbox);
		imap_cmd_done(cmd);
		return;
	}
	a->mailbox_guid = xstrdup(r->status->guid);
	if (!ctx->set.quota) {
		append_put_next(cmd);
		return;
	}
	uint64_t bytes = 0;
	for (size_t i = 0; i < a->n_msgs; i++)
		bytes += a->msgs[i].facts.physical_size;
	Stratus__QuotaCheckRequest req = STRATUS__QUOTA_CHECK_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)a->mailbox;
	req.bytes = bytes;
	req.messages = (uint32_t)a->n_msgs;
	imap_rpc_call(cmd, ctx->quota, ctx->methods.quota_check, &req.base,
		      NULL, 0, append_quota_reply);
}

/* The message literal as an fd of its own (the reader closes its copy
 * when the command text is reset, before the RPCs finish). */
static int literal_fd(const struct imap_arg *arg)
{
	if (arg->fd >= 0)
		return dup(arg->fd);
	int fd = memfd_create("imap-append", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (arg->len > 0 && write(fd, arg->str, arg->len) != (ssize_t)arg->len) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads the message groups: [flags] [date-time] literal, repeated. */
static const char *append_parse(struct imap_cmd *cmd, struct append_ctx *a)
{
	const struct imap_arg *args = cmd->c.args;
	size_t n = cmd->c.n_args, i = 1;
	while (i < n) {
		if (a->n_msgs == IMAP_MAX_APPEND_MESSAGES)
			return "Too many messages";
		a->msgs = xreallocarray(a->msgs, a->n_msgs + 1,
					sizeof(*a->msgs));
		struct append_msg *m = &a->msgs[a->n_msgs++];
		memset(m, 0, sizeof(*m));
		m->fd = -1;
		m->date = time(NULL);
		const char *error;
		if (args[i].type == IMAP_ARG_LIST) {
			if (imap_flags_parse(cmd, &args[i], &m->flags,
					     &m->n_flags, &error) < 0)
				return error;
			i++;
		}
		if (i < n && args[i].type == IMAP_ARG_STRING) {
			if (!imap_datetime_parse(args[i].str, &m->date))
				return "Invalid internal date";
			i++;
		}
		const struct imap_arg *lit = &args[i];
		if (i < n && imap_arg_atom_equals(&args[i], "UTF8")) {
			/* RFC 6855 section 4: UTF8 (literal8), a message
			 * whose header may carry UTF-8. */
			if (i + 1 >= n || args[i + 1].type != IMAP_ARG_LIST ||
			    args[i + 1].list_count != 1)
				return "Invalid UTF8 APPEND data.";
			lit = &args[i + 1].list[0];
			i++;
		}
		if (i >= n || lit->type != IMAP_ARG_LITERAL)
			return "Invalid arguments.";
		if (lit->len == 0)
			return NULL;	/* refused below with NO */
		m->fd = literal_fd(lit);
		if (m->fd < 0)
			return "Internal error";
		i++;
	}
	return a->n_msgs == 0 ? "Invalid arguments." : NULL;
}

bool cmd_append(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	if (cmd->c.n_args < 2) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *mailbox = imap_mailbox_arg(cmd, &cmd->c.args[0], false);
	if (mailbox == NULL)
		return true;
	struct append_ctx *a = xcalloc(1, sizeof(*a));
	a->client = client;
	a->mailbox = mailbox;
	cmd->ctx = a;
	cmd->ctx_free = append_ctx_free;
	const char *error = append_parse(cmd, a);
	if (error != NULL) {
		imap_cmd_bad(cmd, error);
		return true;
	}
	for (size_t i = 0; i < a->n_msgs; i++) {
		struct append_msg *m = &a->msgs[i];
		struct imap_mail_map map;
		if (m->fd < 0) {
			imap_cmd_reply(cmd, "NO", "Can't save a zero byte "
				       "message.");
			return true;
		}
		if (imap_mail_map(m->fd, &map) < 0) {
			log_error(&client->log, "APPEND: mmap failed: %m");
			imap_cmd_reply(cmd, "NO", "[SERVERBUG] Internal error");
			return true;
		}
		imap_mail_facts(map.data, map.size, &m->facts);
		imap_mail_unmap(&map);
		guid_generate(m->guid);
	}
	Stratus__IndexMailboxRequest req = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = (char *)mailbox;
	imap_index_call(cmd, IMAP_INDEX_STATUS, &req.base, append_status_reply);
	return false;
}
