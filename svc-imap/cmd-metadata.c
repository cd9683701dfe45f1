/* GETMETADATA and SETMETADATA (RFC 5464 sections 4.2 and 4.3): server
 * annotations (mailbox "") and mailbox annotations. A mailbox is first
 * looked up in svc-index for its GUID; then the user's annotation object
 * is read from svc-blob, and for SETMETADATA changed and written back
 * whole before the tagged OK, so an acknowledged change is stored.
 * Private and shared entries are both the user's own: there is no
 * sharing of mailboxes, so /shared is what this user sees as shared.
 * The object is read, changed and written whole, so two SETMETADATA of
 * one user (two sessions) would lose one change if they overlapped:
 * they run one after the other, queued on a per-user lock. */
#include "imap-index.h"
#include "imap-mail.h"
#include "imap-metadata.h"
#include "imap-notify.h"
#include "blob.pb-c.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

struct md_set {
	char name[IMAP_METADATA_MAX_NAME + 1];
	const char *value;	/* NULL: remove */
	size_t value_len;
};

/* The SETMETADATA that holds a user's annotations, and those waiting. */
struct imap_md_lock {
	struct imap_md_lock *next;
	struct imap_ctx *ctx;
	char *user;
	struct imap_cmd *holder;	/* NULL while a handover is deferred */
	struct imap_cmd **waiting;
	size_t n_waiting;
	bool defer_pending;
};

struct md_ctx {
	bool set;
	struct imap_cmd *cmd;
	struct imap_md_lock *lock;	/* holding or waiting for it */
	const struct imap_arg *mailbox_arg;
	const char *mailbox;	/* the index's name; NULL for the server */
	char *scope;		/* "" or the mailbox GUID */
	/* GETMETADATA */
	char (*names)[IMAP_METADATA_MAX_NAME + 1];
	size_t n_names;
	uint64_t maxsize;	/* 0 = no MAXSIZE */
	int depth;		/* 0, 1, -1 = infinity */
	/* SETMETADATA */
	struct md_set *sets;
	size_t n_sets;
	bool pruned;		/* entries of deleted mailboxes dropped */
	struct imap_md md;
};

static bool md_start(struct imap_cmd *cmd, struct md_ctx *m);

static void md_lock_free_if_idle(struct imap_md_lock *lock)
{
	if (lock->holder != NULL || lock->n_waiting > 0 || lock->defer_pending)
		return;
	struct imap_md_lock **lp = &lock->ctx->md_locks;
	while (*lp != lock)
		lp = &(*lp)->next;
	*lp = lock->next;
	free(lock->waiting);
	free(lock->user);
	free(lock);
}

/* From the loop: the first waiting command takes the lock and starts
 * (never from inside another command's end). */
static void md_lock_handover(void *p)
{
	struct imap_md_lock *lock = p;
	/* defer_pending stays set meanwhile: a command that ends at once
	 * (a refused mailbox) releases the lock without freeing it. */
	while (lock->holder == NULL && lock->n_waiting > 0) {
		struct imap_cmd *cmd = lock->waiting[0];
		memmove(lock->waiting, lock->waiting + 1,
			--lock->n_waiting * sizeof(*lock->waiting));
		lock->holder = cmd;
		if (!md_start(cmd, cmd->ctx))
			imap_cmd_done(cmd);
	}
	lock->defer_pending = false;
	md_lock_free_if_idle(lock);
}

static void md_lock_release(struct md_ctx *m)
{
	struct imap_md_lock *lock = m->lock;
	if (lock == NULL)
		return;
	m->lock = NULL;
	if (lock->holder == m->cmd) {
		lock->holder = NULL;
		if (lock->n_waiting > 0 && !lock->defer_pending) {
			lock->defer_pending = true;
			loop_defer(lock->ctx->svc->loop, md_lock_handover, lock);
		}
	} else {
		for (size_t i = 0; i < lock->n_waiting; i++) {
			if (lock->waiting[i] != m->cmd)
				continue;
			memmove(lock->waiting + i, lock->waiting + i + 1,
				(--lock->n_waiting - i) *
				sizeof(*lock->waiting));
			break;
		}
	}
	md_lock_free_if_idle(lock);
}

/* True when cmd holds the user's lock now, false when it waits. */
static bool md_lock_take(struct imap_cmd *cmd, struct md_ctx *m)
{
	struct imap_ctx *ctx = cmd->client->ctx;
	struct imap_md_lock *lock = ctx->md_locks;
	while (lock != NULL && strcmp(lock->user, cmd->client->user) != 0)
		lock = lock->next;
	if (lock == NULL) {
		lock = xcalloc(1, sizeof(*lock));
		lock->ctx = ctx;
		lock->user = xstrdup(cmd->client->user);
		lock->next = ctx->md_locks;
		ctx->md_locks = lock;
	}
	m->lock = lock;
	if (lock->holder == NULL && lock->n_waiting == 0 &&
	    !lock->defer_pending) {
		lock->holder = cmd;
		return true;
	}
	lock->waiting = xreallocarray(lock->waiting, lock->n_waiting + 1,
				      sizeof(*lock->waiting));
	lock->waiting[lock->n_waiting++] = cmd;
	return false;
}

static void md_ctx_free(void *p)
{
	struct md_ctx *m = p;
	md_lock_release(m);
	imap_md_free(&m->md);
	free(m->scope);
	free(m->names);
	free(m->sets);
	free(m);
}


/* A value as an IMAP string: quoted when short plain text, a literal
 * when 8-bit or multi-line, literal8 when it holds NULs. */
static void md_append_value(struct buf *out, const struct imap_md_entry *e)
{
	bool quoted = e->value_len <= 1024;
	bool nul = false;
	for (size_t i = 0; i < e->value_len; i++) {
		unsigned char c = (unsigned char)e->value[i];
		if (c == '\0')
			nul = true;
		if (c < 0x20 || c >= 0x7f)
			quoted = false;
	}
	if (!quoted) {
		buf_printf(out, "%s{%zu}\r\n", nul ? "~" : "", e->value_len);
		buf_append(out, e->value, e->value_len);
		return;
	}
	buf_append_c(out, '"');
	for (size_t i = 0; i < e->value_len; i++) {
		if (e->value[i] == '"' || e->value[i] == '\\')
			buf_append_c(out, '\\');
		buf_append_c(out, e->value[i]);
	}
	buf_append_c(out, '"');
}

/* The mailbox as in the RFC's responses: always a quoted string (or a
 * literal for 8-bit), UTF-8 for a client that enabled it. */
static void md_append_mailbox(struct imap_client *client, struct buf *out,
			      const char *name)
{
	struct buf tmp = BUF_INIT;
	imap_append_mailbox(client, &tmp, name);
	const char *s = tmp.data != NULL ? tmp.data : "";
	if (s[0] == '"' || s[0] == '{')
		buf_append_str(out, s);
	else
		imap_quote_string(out, s);
	buf_free(&tmp);
}

static void md_entry_out(struct buf *out, bool *first, const char *name,
			 const struct imap_md_entry *e)
{
	buf_append_str(out, *first ? "" : " ");
	*first = false;
	buf_append_str(out, name);
	buf_append_c(out, ' ');
	if (e == NULL)
		buf_append_str(out, "NIL");
	else
		md_append_value(out, e);
}

size_t imap_md_format_response(struct imap_client *client, struct buf *out,
			       const char *mailbox, struct imap_md *md,
			       const char *scope, const char (*names)[IMAP_METADATA_MAX_NAME + 1],
			       size_t n_names, int depth, uint64_t maxsize)
{
	struct buf list = BUF_INIT;
	bool first = true;
	size_t longest = 0;
	for (size_t i = 0; i < n_names; i++) {
		const char *want = names[i];
		struct imap_md_entry *e = imap_md_find(md, scope, want);
		if (e != NULL && maxsize != 0 && e->value_len > maxsize) {
			if (e->value_len > longest)
				longest = e->value_len;
		} else if (e != NULL || depth == 0) {
			/* A requested entry without a value is NIL. */
			md_entry_out(&list, &first, want, e);
		}
		for (size_t k = 0; k < md->n; k++) {
			struct imap_md_entry *c = &md->entries[k];
			if (strcmp(c->scope, scope) != 0 ||
			    !imap_md_is_child(c->name, want, depth))
				continue;
			if (maxsize != 0 && c->value_len > maxsize) {
				if (c->value_len > longest)
					longest = c->value_len;
				continue;
			}
			md_entry_out(&list, &first, c->name, c);
		}
	}
	if (!first) {
		buf_append_str(out, "* METADATA ");
		if (mailbox == NULL)
			buf_append_str(out, "\"\"");
		else
			md_append_mailbox(client, out, mailbox);
		/* list is bytes: a literal8 value may hold NULs */
		buf_append_str(out, " (");
		buf_append(out, list.data, list.len);
		buf_append_str(out, ")\r\n");
	}
	buf_free(&list);
	return longest;
}

static void md_get_finish(struct imap_cmd *cmd)
{
	struct md_ctx *m = cmd->ctx;
	struct buf out = BUF_INIT;
	size_t longest = imap_md_format_response(cmd->client, &out, m->mailbox,
		&m->md, m->scope, (const char (*)[IMAP_METADATA_MAX_NAME + 1])m->names,
		m->n_names, m->depth, m->maxsize);
	if (out.len > 0)
		imap_client_send_raw(cmd->client, out.data, out.len);
	buf_free(&out);
	if (longest > 0)
		imap_cmd_reply(cmd, "OK", "[METADATA LONGENTRIES %zu] "
			       "GETMETADATA complete", longest);
	else
		imap_cmd_reply(cmd, "OK", "GETMETADATA complete");
	imap_cmd_done(cmd);
}

static void md_put_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_rpc_fail(cmd, "blob Put", reply);
		return;
	}
	/* NOTIFY's MailboxMetadataChange / ServerMetadataChange for the
	 * user's other sessions (RFC 5464 4.4.2: names only). */
	struct md_ctx *m = cmd->ctx;
	const char **names = xcalloc(m->n_sets + 1, sizeof(char *));
	for (size_t i = 0; i < m->n_sets; i++)
		names[i] = m->sets[i].name;
	imap_notify_metadata_changed(cmd->client, m->mailbox != NULL ?
				     m->mailbox : "", names, m->n_sets);
	free(names);
	imap_cmd_reply(cmd, "OK", "SETMETADATA complete");
	imap_cmd_done(cmd);
}

static void md_set_finish(struct imap_cmd *cmd);

/* The mailboxes that exist: entries of any other GUID belong to a
 * deleted mailbox and are dropped, then the limits are checked again. */
static void md_list_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct md_ctx *m = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_rpc_fail(cmd, "index List", reply);
		return;
	}
	const Stratus__IndexListReply *r = (const void *)reply->msg;
	for (size_t i = 0; i < m->md.n;) {
		const char *scope = m->md.entries[i].scope;
		bool exists = scope[0] == '\0';
		for (size_t k = 0; !exists && k < r->n_entries; k++)
			exists = strcmp(r->entries[k]->guid, scope) == 0;
		if (exists) {
			i++;
			continue;
		}
		/* imap_md_set removes by moving the last entry here */
		imap_md_set(&m->md, scope, m->md.entries[i].name, NULL, 0);
	}
	m->pruned = true;
	md_set_finish(cmd);
}

static void md_set_finish(struct imap_cmd *cmd)
{
	struct md_ctx *m = cmd->ctx;
	for (size_t i = 0; i < m->n_sets; i++)
		imap_md_set(&m->md, m->scope, m->sets[i].name, m->sets[i].value,
			    m->sets[i].value_len);
	size_t entries, bytes;
	imap_md_usage(&m->md, &entries, &bytes);
	if ((entries > IMAP_METADATA_MAX_ENTRIES ||
	     bytes > IMAP_METADATA_MAX_TOTAL) && !m->pruned) {
		static char *all[] = { (char *)"*" };
		Stratus__IndexListRequest req =
			STRATUS__INDEX_LIST_REQUEST__INIT;
		req.user = cmd->client->user;
		req.patterns = all;
		req.n_patterns = 1;
		imap_index_call(cmd, IMAP_INDEX_LIST, &req.base, md_list_reply);
		return;
	}
	if (entries > IMAP_METADATA_MAX_ENTRIES ||
	    bytes > IMAP_METADATA_MAX_TOTAL) {
		/* Only a change that adds may be refused: removing entries
		 * always goes through, even over the limits. */
		bool adds = false;
		for (size_t i = 0; i < m->n_sets; i++)
			adds = adds || m->sets[i].value != NULL;
		if (adds) {
			imap_cmd_reply(cmd, "NO", "[METADATA TOOMANY] "
				       "Too many or too large annotations");
			imap_cmd_done(cmd);
			return;
		}
	}
	struct buf data = BUF_INIT;
	imap_md_serialize(&m->md, &data);
	int fd = memfd_create("imap-metadata", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data.data, data.len) != (ssize_t)data.len) {
		log_error(&cmd->client->log, "SETMETADATA: memfd: %m");
		if (fd >= 0)
			close(fd);
		buf_free(&data);
		imap_cmd_reply(cmd, "NO", "[SERVERBUG] Internal error");
		imap_cmd_done(cmd);
		return;
	}
	buf_free(&data);
	struct imap_ctx *ctx = cmd->client->ctx;
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = cmd->client->user;
	req.key = (char *)IMAP_METADATA_KEY;
	imap_rpc_call(cmd, ctx->blob, ctx->methods.blob_put, &req.base, &fd, 1,
		      md_put_reply);
	close(fd);
}

static void md_get_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct md_ctx *m = cmd->ctx;
	if (reply->status == STRATUS__STATUS__STATUS_OK && reply->n_fds >= 1) {
		struct imap_mail_map map;
		if (imap_mail_map(reply->fds[0], &map) < 0) {
			log_error(&cmd->client->log, "%s: mmap failed: %m",
				  cmd->c.name);
			imap_cmd_reply(cmd, "NO", "[SERVERBUG] Internal error");
			imap_cmd_done(cmd);
			return;
		}
		if (imap_md_parse(&m->md, map.data, map.size) < 0)
			log_error(&cmd->client->log, "%s: the stored "
				  "annotations are damaged; the readable "
				  "part is used", cmd->c.name);
		imap_mail_unmap(&map);
	} else if (reply->status != STRATUS__STATUS__STATUS_NOT_FOUND) {
		imap_rpc_fail(cmd, "blob Get", reply);
		return;
	}
	if (m->set)
		md_set_finish(cmd);
	else
		md_get_finish(cmd);
}

static void md_load(struct imap_cmd *cmd)
{
	struct imap_ctx *ctx = cmd->client->ctx;
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = cmd->client->user;
	req.key = (char *)IMAP_METADATA_KEY;
	imap_rpc_call(cmd, ctx->blob, ctx->methods.blob_get, &req.base, NULL, 0,
		      md_get_reply);
}

static void md_status_reply(struct imap_cmd *cmd,
			    const struct rpc_reply *reply)
{
	struct md_ctx *m = cmd->ctx;
	const Stratus__IndexMailboxStatusReply *r = (const void *)reply->msg;
	if (reply->status == STRATUS__STATUS__STATUS_OK &&
	    (r->status == NULL || r->status->guid[0] == '\0')) {
		imap_cmd_reply(cmd, "NO", "[NONEXISTENT] Mailbox doesn't "
			       "exist: %s", m->mailbox);
		imap_cmd_done(cmd);
		return;
	}
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, m->mailbox);
		return;
	}
	m->scope = xstrdup(r->status->guid);
	md_load(cmd);
}

/* The mailbox argument: "" is the server. Returns false with a reply
 * sent when it is not valid. */
static bool md_start(struct imap_cmd *cmd, struct md_ctx *m)
{
	const struct imap_arg *a = m->mailbox_arg;
	if (!imap_arg_is_astring(a)) {
		imap_cmd_bad(cmd, "Invalid mailbox.");
		return false;
	}
	if (a->type != IMAP_ARG_ATOM && a->len == 0) {
		m->scope = xstrdup("");
		md_load(cmd);
		return true;
	}
	m->mailbox = imap_mailbox_arg(cmd, a, false);
	if (m->mailbox == NULL)
		return false;
	Stratus__IndexMailboxRequest req = STRATUS__INDEX_MAILBOX_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)m->mailbox;
	imap_index_call(cmd, IMAP_INDEX_STATUS, &req.base, md_status_reply);
	return true;
}

static struct md_ctx *md_ctx_new(struct imap_cmd *cmd, bool set)
{
	struct md_ctx *m = xcalloc(1, sizeof(*m));
	m->set = set;
	m->cmd = cmd;
	cmd->ctx = m;
	cmd->ctx_free = md_ctx_free;
	return m;
}

const char *imap_md_option(const struct imap_arg *k, const struct imap_arg *v,
			   uint64_t *maxsize, int *depth)
{
	if (v == NULL || v->type != IMAP_ARG_ATOM)
		return "Invalid GETMETADATA option.";
	char *end;
	if (imap_arg_atom_equals(k, "MAXSIZE")) {
		unsigned long long n = strtoull(v->str, &end, 10);
		if (v->str[0] < '0' || v->str[0] > '9' || *end != '\0' ||
		    n == 0 || n > UINT32_MAX)
			return "Invalid MAXSIZE.";
		*maxsize = n;
	} else if (imap_arg_atom_equals(k, "DEPTH")) {
		if (strcmp(v->str, "0") == 0)
			*depth = 0;
		else if (strcmp(v->str, "1") == 0)
			*depth = 1;
		else if (strcasecmp(v->str, "infinity") == 0)
			*depth = -1;
		else
			return "Invalid DEPTH.";
	} else {
		return "Unknown GETMETADATA option.";
	}
	return NULL;
}

/* (MAXSIZE n DEPTH d), section 4.2.1 and 4.2.2. */
static const char *md_get_options(struct md_ctx *m, const struct imap_arg *o)
{
	for (size_t i = 0; i < o->list_count; i += 2) {
		const char *error = imap_md_option(&o->list[i],
			i + 1 < o->list_count ? &o->list[i + 1] : NULL,
			&m->maxsize, &m->depth);
		if (error != NULL)
			return error;
	}
	return NULL;
}

static const char *md_get_entries(struct md_ctx *m, const struct imap_arg *a)
{
	const struct imap_arg *list = a;
	size_t n = 1;
	if (a->type == IMAP_ARG_LIST) {
		list = a->list;
		n = a->list_count;
	}
	if (n == 0 || n > IMAP_METADATA_MAX_ENTRIES)
		return "Invalid entries.";
	m->names = xcalloc(n, sizeof(*m->names));
	for (size_t i = 0; i < n; i++) {
		if (!imap_arg_is_astring(&list[i]) ||
		    !imap_md_get_name(list[i].str, list[i].len,
				      m->names[i]))
			return "Invalid entry name.";
	}
	m->n_names = n;
	return NULL;
}

bool cmd_getmetadata(struct imap_cmd *cmd)
{
	const struct imap_arg *args = cmd->c.args;
	size_t n = cmd->c.n_args;
	struct md_ctx *m = md_ctx_new(cmd, false);
	const struct imap_arg *opts = NULL, *entries;
	/* The options come before the mailbox (section 5's syntax); the
	 * section 4.2.1 example puts them after it: both are taken. */
	if (n == 3 && args[0].type == IMAP_ARG_LIST) {
		opts = &args[0];
		m->mailbox_arg = &args[1];
		entries = &args[2];
	} else if (n == 3 && args[1].type == IMAP_ARG_LIST) {
		m->mailbox_arg = &args[0];
		opts = &args[1];
		entries = &args[2];
	} else if (n == 2) {
		m->mailbox_arg = &args[0];
		entries = &args[1];
	} else {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *error = opts != NULL ? md_get_options(m, opts) : NULL;
	if (error == NULL)
		error = md_get_entries(m, entries);
	if (error != NULL) {
		imap_cmd_bad(cmd, error);
		return true;
	}
	return !md_start(cmd, m);
}

/* A value: a string or literal (in memory or, when large, in the
 * reader's file), or NIL to remove. */
static const char *md_set_value(struct imap_cmd *cmd, struct md_set *s,
				const struct imap_arg *v, bool *too_big)
{
	if (imap_arg_atom_equals(v, "NIL")) {
		s->value = NULL;
		return NULL;
	}
	if (v->type != IMAP_ARG_STRING && v->type != IMAP_ARG_LITERAL)
		return "Invalid value.";
	if (v->len > IMAP_METADATA_MAX_VALUE) {
		*too_big = true;
		return NULL;
	}
	if (v->fd < 0) {
		s->value = v->str;
		s->value_len = v->len;
		return NULL;
	}
	char *data = imap_pool_alloc(&cmd->pool, v->len + 1);
	if (pread(v->fd, data, v->len, 0) != (ssize_t)v->len)
		return "Cannot read the value.";
	s->value = data;
	s->value_len = v->len;
	return NULL;
}

bool cmd_setmetadata(struct imap_cmd *cmd)
{
	const struct imap_arg *args = cmd->c.args;
	struct md_ctx *m = md_ctx_new(cmd, true);
	if (cmd->c.n_args != 2 || args[1].type != IMAP_ARG_LIST ||
	    args[1].list_count == 0 || args[1].list_count % 2 != 0 ||
	    args[1].list_count / 2 > IMAP_METADATA_MAX_ENTRIES) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	m->mailbox_arg = &args[0];
	const struct imap_arg *l = args[1].list;
	m->n_sets = args[1].list_count / 2;
	m->sets = xcalloc(m->n_sets, sizeof(*m->sets));
	bool too_big = false;
	for (size_t i = 0; i < m->n_sets; i++) {
		const struct imap_arg *name = &l[2 * i];
		const char *error = NULL;
		if (!imap_arg_is_astring(name) ||
		    !imap_md_entry_name(name->str, name->len, m->sets[i].name))
			error = "Invalid entry name.";
		else
			error = md_set_value(cmd, &m->sets[i], &l[2 * i + 1],
					     &too_big);
		if (error != NULL) {
			imap_cmd_bad(cmd, error);
			return true;
		}
	}
	if (too_big) {
		imap_cmd_reply(cmd, "NO", "[METADATA MAXSIZE %u] Annotation "
			       "value too large", IMAP_METADATA_MAX_VALUE);
		return true;
	}
	if (!md_lock_take(cmd, m))
		return false;	/* md_lock_handover starts it */
	return !md_start(cmd, m);
}
