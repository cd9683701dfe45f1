/* APPEND (RFC 3501 6.3.11, MULTIAPPEND RFC 3502, UIDPLUS APPENDUID,
 * CATENATE RFC 4469, UTF8 RFC 6855): each
 * literal becomes a message object in svc-blob (Put), then one svc-index
 * Append makes them visible together. OK is sent only after both, so an
 * acknowledged message is stored. With quota enabled, svc-quota Check
 * reserves the size first and Commit settles it; a command that ends
 * early (failure, disconnect) releases the reservation and deletes the
 * objects no index references. */
#include "imap-catenate.h"
#include "imap-flags.h"
#include "imap-date.h"
#include "imap-index.h"
#include "imap-mail-log.h"
#include "imap-mail.h"
#include "guid.h"
#include "mail-section.h"
#include "imap-utf7.h"
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
	/* CATENATE (RFC 4469): the parts, TEXT and URL arguments in
	 * order (pointers into the command), and the message built. */
	const struct imap_arg *cat;
	size_t n_cat;
	struct buf built;
};

struct append_ctx {
	struct imap_client *client;
	const char *mailbox;
	char *mailbox_guid;
	struct append_msg *msgs;
	size_t n_msgs, next_put;
	uint64_t reservation;
	bool indexed;		/* svc-index has them: keep the objects */
	size_t cat_msg, cat_part;	/* the CATENATE part being built */
	struct imap_cat_url url;	/* the URL part being fetched */
	const char *url_mailbox;	/* its mailbox, the index's name */
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
		buf_free(&m->built);
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
	imap_cat_url_free(&a->url);
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
	req.mailbox_guid = a->mailbox_guid;
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

static void append_check_quota(struct imap_cmd *cmd);

static void append_status_reply(struct imap_cmd *cmd,
				const struct rpc_reply *reply)
{
	struct append_ctx *a = cmd->ctx;
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
	append_check_quota(cmd);
}

/* The mailbox's GUID is known: reserve the size (with quota), then Put. */
static void append_check_quota(struct imap_cmd *cmd)
{
	struct append_ctx *a = cmd->ctx;
	struct imap_ctx *ctx = cmd->client->ctx;
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
		if (i + 1 < n && imap_arg_atom_equals(&args[i], "CATENATE")) {
			/* RFC 4469: (TEXT literal / URL url ...) */
			const struct imap_arg *l = &args[i + 1];
			if (l->type != IMAP_ARG_LIST || l->list_count == 0 ||
			    l->list_count % 2 != 0)
				return "Invalid CATENATE.";
			for (size_t k = 0; k < l->list_count; k += 2) {
				const struct imap_arg *v = &l->list[k + 1];
				if (!(imap_arg_atom_equals(&l->list[k], "TEXT") &&
				      v->type == IMAP_ARG_LITERAL) &&
				    !(imap_arg_atom_equals(&l->list[k], "URL") &&
				      imap_arg_is_astring(v)))
					return "Invalid CATENATE part.";
			}
			m->cat = l->list;
			m->n_cat = l->list_count / 2;
			buf_init(&m->built, cmd->client->ctx->set.max_append);
			i += 2;
			continue;
		}
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

/* The messages are whole (literals, or CATENATE built): their facts,
 * then the mailbox's status. Returns true when the command ended. */
static bool append_prepare(struct imap_cmd *cmd)
{
	struct append_ctx *a = cmd->ctx;
	struct imap_client *client = cmd->client;
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
	/* The selected mailbox's GUID is known since SELECT; svc-index
	 * refuses the Append if the name now belongs to another mailbox. */
	if (client->selected_guid != NULL && client->selected_guid[0] != '\0' &&
	    strcmp(a->mailbox, client->selected) == 0) {
		a->mailbox_guid = xstrdup(client->selected_guid);
		append_check_quota(cmd);
		return false;
	}
	Stratus__IndexMailboxRequest req = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = (char *)a->mailbox;
	imap_index_call(cmd, IMAP_INDEX_STATUS, &req.base, append_status_reply);
	return false;
}

/* ---- CATENATE: parts in order, a URL part through svc-index (status
 * for the UIDVALIDITY, Fetch for the object) and svc-blob (Get) ---- */

static void cat_next(struct imap_cmd *cmd);

static void cat_end(struct imap_cmd *cmd)
{
	if (append_prepare(cmd))
		imap_cmd_done(cmd);
}

static void cat_badurl(struct imap_cmd *cmd, const char *why)
{
	struct append_ctx *a = cmd->ctx;
	const struct imap_arg *u = &a->msgs[a->cat_msg].cat[2 * a->cat_part + 1];
	imap_cmd_reply(cmd, "NO", "[BADURL %s] %s", u->str, why);
	imap_cmd_done(cmd);
}

/* The part is in m->built: on to the next one. */
static void cat_part_done(struct imap_cmd *cmd)
{
	struct append_ctx *a = cmd->ctx;
	imap_cat_url_free(&a->url);
	a->cat_part++;
	cat_next(cmd);
}

static bool cat_add(struct imap_cmd *cmd, const void *data, size_t len)
{
	struct append_ctx *a = cmd->ctx;
	if (buf_append(&a->msgs[a->cat_msg].built, data, len) < 0) {
		imap_cmd_reply(cmd, "NO", "[TOOBIG] Mail size is larger than "
			       "the maximum size allowed by server "
			       "configuration");
		imap_cmd_done(cmd);
		return false;
	}
	return true;
}

static void cat_get_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct append_ctx *a = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK || reply->n_fds < 1) {
		append_fail(cmd, "blob Get of a CATENATE URL", reply);
		return;
	}
	struct imap_mail_map map;
	if (imap_mail_map(reply->fds[0], &map) < 0) {
		imap_cmd_reply(cmd, "NO", "[SERVERBUG] Internal error");
		imap_cmd_done(cmd);
		return;
	}
	struct mail_section sect;
	const char *error;
	struct buf part = BUF_INIT;
	const char *spec = a->url.section.data != NULL ? a->url.section.data : "";
	if (mail_section_parse(spec, &sect, &error) < 0) {
		mail_section_free(&sect);
		imap_mail_unmap(&map);
		cat_badurl(cmd, "Invalid section");
		return;
	}
	struct mail_part *root = mail_parse(map.data != NULL ? map.data : "",
					    map.size);
	mail_section_fetch(map.data != NULL ? map.data : "", map.size, root,
			   &sect, &part);
	mail_part_free(&root);
	mail_section_free(&sect);
	imap_mail_unmap(&map);
	bool ok = cat_add(cmd, part.data != NULL ? part.data : "", part.len);
	buf_free(&part);
	if (ok)
		cat_part_done(cmd);
}

static void cat_fetch_reply(struct imap_cmd *cmd,
			    const struct rpc_reply *reply)
{
	struct append_ctx *a = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		append_fail(cmd, "index Fetch of a CATENATE URL", reply);
		return;
	}
	const Stratus__IndexFetchReply *r = (const void *)reply->msg;
	if (r->n_messages != 1 || r->messages[0]->uid != a->url.uid) {
		cat_badurl(cmd, "No such message");
		return;
	}
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = cmd->client->user;
	req.key = (char *)imap_object_key(r->messages[0]->object_id);
	imap_rpc_call(cmd, cmd->client->ctx->blob,
		      cmd->client->ctx->methods.blob_get, &req.base, NULL, 0,
		      cat_get_reply);
}

static void cat_status_reply(struct imap_cmd *cmd,
			     const struct rpc_reply *reply)
{
	struct append_ctx *a = cmd->ctx;
	const Stratus__IndexMailboxStatusReply *r = (const void *)reply->msg;
	if (reply->status == STRATUS__STATUS__STATUS_NOT_FOUND ||
	    (reply->status == STRATUS__STATUS__STATUS_OK &&
	     (r->status == NULL || r->status->guid[0] == '\0'))) {
		cat_badurl(cmd, "No such mailbox");
		return;
	}
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		append_fail(cmd, "index Status of a CATENATE URL", reply);
		return;
	}
	if (a->url.uidvalidity != 0 &&
	    a->url.uidvalidity != r->status->uidvalidity) {
		cat_badurl(cmd, "UIDVALIDITY does not match");
		return;
	}
	Stratus__IndexUidRange range = STRATUS__INDEX_UID_RANGE__INIT;
	range.first = range.last = a->url.uid;
	Stratus__IndexUidRange *ranges[] = { &range };
	Stratus__IndexFetchRequest req = STRATUS__INDEX_FETCH_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)a->url_mailbox;
	req.uids = ranges;
	req.n_uids = 1;
	imap_index_call(cmd, IMAP_INDEX_FETCH, &req.base, cat_fetch_reply);
}

static void cat_url(struct imap_cmd *cmd, const char *url)
{
	struct append_ctx *a = cmd->ctx;
	struct imap_client *client = cmd->client;
	if (imap_cat_url_parse(url, &a->url) < 0) {
		cat_badurl(cmd, "Unsupported or invalid URL");
		return;
	}
	if (a->url.relative) {
		if (client->selected == NULL) {
			cat_badurl(cmd, "Relative URL without a selected "
				   "mailbox");
			return;
		}
		a->url_mailbox = client->selected;
	} else {
		/* URLs name mailboxes in UTF-8 (RFC 5092 section 3.2) */
		struct buf utf7 = BUF_INIT;
		if (imap_utf8_to_utf7(a->url.mailbox.data, &utf7) < 0) {
			buf_free(&utf7);
			cat_badurl(cmd, "Mailbox name is not UTF-8");
			return;
		}
		const char *name = utf7.data != NULL ? utf7.data : "";
		a->url_mailbox = strcasecmp(name, "INBOX") == 0 ? "INBOX" :
			imap_pool_strndup(&cmd->pool, name, strlen(name));
		buf_free(&utf7);
	}
	Stratus__IndexMailboxRequest req = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = (char *)a->url_mailbox;
	imap_index_call(cmd, IMAP_INDEX_STATUS, &req.base, cat_status_reply);
}

/* A built message becomes the message's fd, as a literal would be. */
static bool cat_finish_msg(struct imap_cmd *cmd, struct append_msg *m)
{
	if (m->built.len == 0)
		return true;	/* refused as a zero byte message */
	m->fd = memfd_create("imap-catenate", MFD_CLOEXEC);
	if (m->fd < 0 || write(m->fd, m->built.data, m->built.len) !=
			 (ssize_t)m->built.len) {
		log_error(&cmd->client->log, "APPEND CATENATE: memfd: %m");
		imap_cmd_reply(cmd, "NO", "[SERVERBUG] Internal error");
		imap_cmd_done(cmd);
		return false;
	}
	buf_free(&m->built);
	return true;
}

static void cat_next(struct imap_cmd *cmd)
{
	struct append_ctx *a = cmd->ctx;
	while (a->cat_msg < a->n_msgs) {
		struct append_msg *m = &a->msgs[a->cat_msg];
		if (a->cat_part == m->n_cat) {
			if (m->cat != NULL && !cat_finish_msg(cmd, m))
				return;
			a->cat_msg++;
			a->cat_part = 0;
			continue;
		}
		const struct imap_arg *kind = &m->cat[2 * a->cat_part];
		const struct imap_arg *v = &m->cat[2 * a->cat_part + 1];
		if (imap_arg_atom_equals(kind, "URL")) {
			cat_url(cmd, v->str);
			return;
		}
		if (v->fd >= 0) {
			/* a large TEXT literal sits in the reader's file */
			char *data = xmalloc(v->len + 1);
			bool ok = pread(v->fd, data, v->len, 0) ==
				  (ssize_t)v->len && cat_add(cmd, data, v->len);
			free(data);
			if (!ok)
				return;
		} else if (!cat_add(cmd, v->str, v->len)) {
			return;
		}
		a->cat_part++;
	}
	cat_end(cmd);
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
		if (a->msgs[i].cat != NULL) {
			/* it may end at once (imap_cmd_done from in here,
			 * which a handler returning false may do) */
			cat_next(cmd);
			return false;
		}
	}
	return append_prepare(cmd);
}
