/* FETCH and UID FETCH. svc-index Fetch gives flags, dates, sizes and the
 * cached ENVELOPE/BODYSTRUCTURE/BODY; a body is read from svc-blob (Get,
 * one message at a time) only when a section is asked for or a needed
 * field is not cached. Output is produced one message (and for bodies
 * one chunk) at a time: above IMAP_OUTPUT_THROTTLE the command waits for
 * the socket to drain, so a slow client never makes us buffer a body.
 * BODY[...] (not PEEK), RFC822 and RFC822.TEXT set \Seen first and report
 * the new FLAGS, as RFC 3501 6.4.5 says. */
#include "imap-fetch.h"
#include "imap-date.h"
#include "imap-index.h"
#include "imap-binary.h"
#include "imap-preview.h"
#include "imap-mail.h"
#include "imap-mail-log.h"
#include "imap-msgset.h"
#include "imap-objectid.h"
#include "imap-qresync.h"
#include "imap-sync.h"
#include "blob.pb-c.h"
#include "mail-cache.h"
#include "mail-header-cache.h"
#include "mail-imap.h"
#include "mail-parser.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FETCH_STREAM_CHUNK 16384

struct fetch_msg {
	uint32_t uid;
	char **flags;
	size_t n_flags;
	int64_t internal_date, save_date;
	uint64_t vsize, modseq;
	char *object_id;
	char *guid;		/* EMAILID */
	char *threadid;		/* cached THREADID, or NULL: guid */
	char *envelope, *bodystructure, *body;	/* cached, or NULL */
	char *hdr_fields;	/* MAIL_HEADER_CACHE_FIELD, or NULL */
	char *mime_parts;	/* the cached part tree, or NULL */
	size_t hdr_fields_len;
	bool seen_added;
};

struct fetch_ctx {
	struct imap_client *client;
	struct imap_fetch_items items;
	struct imap_msgset ms;
	bool uid_cmd;
	uint64_t changedsince;	/* RFC 7162 CHANGEDSINCE, 0 = none */
	bool vanished;		/* UID FETCH (CHANGEDSINCE n VANISHED) */
	/* every section is HEADER.FIELDS of cached names: a message whose
	 * index record has the header-field cache needs no body */
	bool sections_cached;
	const char *vanished_set;	/* the raw UID set, for VANISHED */
	bool unknown_cte;	/* a BINARY part could not be decoded */
	struct fetch_msg *msgs;
	size_t n_msgs, next;
	uint32_t next_uid;	/* index reply was cut: continue here */
	/* the message being written */
	bool in_msg, first_item;
	size_t item_idx;
	int fd;
	bool fd_cached;		/* fd belongs to client->body_cache */
	struct imap_mail_map map;
	struct mail_part *root;
	/* a section being streamed */
	bool streaming;
	const char *sp, *send;
	char prev;
	uint64_t skip, left;
};

static void fetch_pump(struct imap_cmd *cmd);

static void fetch_body_free(struct fetch_ctx *f)
{
	mail_part_free(&f->root);
	imap_mail_unmap(&f->map);
	if (f->fd >= 0 && !f->fd_cached)
		close(f->fd);
	f->fd = -1;
	f->fd_cached = false;
	f->streaming = false;
}

static void fetch_msgs_free(struct fetch_ctx *f)
{
	for (size_t i = 0; i < f->n_msgs; i++) {
		struct fetch_msg *m = &f->msgs[i];
		for (size_t k = 0; k < m->n_flags; k++)
			free(m->flags[k]);
		free(m->flags);
		free(m->object_id);
		free(m->guid);
		free(m->threadid);
		free(m->envelope);
		free(m->bodystructure);
		free(m->body);
		free(m->hdr_fields);
		free(m->mime_parts);
	}
	free(f->msgs);
	f->msgs = NULL;
	f->n_msgs = f->next = 0;
}

static void fetch_ctx_free(void *p)
{
	struct fetch_ctx *f = p;
	fetch_body_free(f);
	fetch_msgs_free(f);
	imap_fetch_items_free(&f->items);
	free(f);
}


static char *cached_dup(const Stratus__IndexMessage *m, const char *name)
{
	const ProtobufCBinaryData *v = imap_mail_cached(m, name);
	if (v == NULL || v->len == 0)
		return NULL;
	return xstrndup((const char *)v->data, v->len);
}

static bool msg_needs_body(const struct fetch_ctx *f,
			   const struct fetch_msg *m)
{
	return (f->items.need_body &&
		(!f->sections_cached || m->hdr_fields == NULL)) ||
	       (f->items.want_envelope && m->envelope == NULL) ||
	       (f->items.want_bodystructure && m->bodystructure == NULL) ||
	       (f->items.want_body && m->body == NULL);
}

/* ---- writing ---- */

static void out_str(struct imap_client *client, const char *s)
{
	imap_client_send_raw(client, s, strlen(s));
}

/* One source byte of the section: a bare LF goes out as CRLF; the first
 * skip output bytes (a partial's offset) are dropped. */
static size_t stream_byte(struct fetch_ctx *f, char *out)
{
	char c = *f->sp++;
	char pair[2];
	size_t k = 0, n = 0;
	if (c == '\n' && f->prev != '\r')
		pair[k++] = '\r';
	pair[k++] = c;
	for (size_t i = 0; i < k && f->left > 0; i++) {
		if (f->skip > 0) {
			f->skip--;
			continue;
		}
		out[n++] = pair[i];
		f->left--;
	}
	f->prev = c;
	return n;
}

/* Writes up to a chunk of the section being streamed, CRLF-normalised
 * exactly as mail_size_count() counted it for the literal's length. Runs
 * without an LF are copied whole (the profile showed a byte loop here). */
static void stream_chunk(struct fetch_ctx *f)
{
	char buf[FETCH_STREAM_CHUNK + 2];
	size_t n = 0;
	while (f->left > 0 && n < FETCH_STREAM_CHUNK && f->sp < f->send) {
		size_t run = (size_t)(f->send - f->sp);
		uint64_t limit = f->skip > 0 ? f->skip : f->left;
		if (f->skip == 0 && run > FETCH_STREAM_CHUNK - n)
			run = FETCH_STREAM_CHUNK - n;
		if (run > limit)
			run = (size_t)limit;
		const char *lf = memchr(f->sp, '\n', run);
		size_t plain = lf != NULL ? (size_t)(lf - f->sp) : run;
		if (plain == 0) {
			n += stream_byte(f, buf + n);
			continue;
		}
		if (f->skip > 0)
			f->skip -= plain;
		else {
			memcpy(buf + n, f->sp, plain);
			n += plain;
			f->left -= plain;
		}
		f->prev = f->sp[plain - 1];
		f->sp += plain;
	}
	if (n > 0)
		imap_client_send_raw(f->client, buf, n);
	if (f->sp == f->send)
		f->left = 0;	/* never announced more than the range has */
}

static void write_literal(struct imap_client *client, const char *name,
			  const struct buf *content)
{
	char hdr[64];
	snprintf(hdr, sizeof(hdr), " {%zu}\r\n", content->len);
	out_str(client, name);
	out_str(client, hdr);
	if (content->len > 0)
		imap_client_send_raw(client, content->data, content->len);
}

/* Starts a section: its literal header, then the content either at once
 * (HEADER.FIELDS, built in memory, small) or as a stream. */
static void start_section(struct fetch_ctx *f, const struct fetch_msg *m,
			  const struct imap_fetch_item *item)
{
	const struct mail_section *s = &item->section;
	const char *data = f->map.data != NULL ? f->map.data : "";
	if (s->kind == MAIL_SECTION_HEADER_FIELDS ||
	    s->kind == MAIL_SECTION_HEADER_FIELDS_NOT) {
		struct buf content = BUF_INIT;
		if (f->root == NULL && m->hdr_fields != NULL)
			(void)mail_header_cache_fetch(m->hdr_fields,
						      m->hdr_fields_len, s,
						      &content);
		else
			mail_section_fetch(data, f->map.size, f->root, s,
					   &content);
		if (item->partial)
			mail_section_partial(&content, item->offset,
					     item->count);
		write_literal(f->client, item->name, &content);
		buf_free(&content);
		return;
	}
	uint64_t off, size;
	if (!mail_section_range(f->root, s, &off, &size) ||
	    off + size > f->map.size) {
		out_str(f->client, item->name);
		out_str(f->client, " \"\"");
		return;
	}
	struct mail_size sz;
	mail_size_count(data + off, (size_t)size, &sz);
	uint64_t len = sz.virtual;
	if (item->partial) {
		len = item->offset >= len ? 0 : len - item->offset;
		if (len > item->count)
			len = item->count;
	}
	char hdr[64];
	snprintf(hdr, sizeof(hdr), " {%llu}\r\n", (unsigned long long)len);
	out_str(f->client, item->name);
	out_str(f->client, hdr);
	if (len == 0)
		return;
	f->streaming = true;
	f->sp = data + off;
	f->send = f->sp + size;
	f->prev = '\0';
	f->skip = item->partial ? item->offset : 0;
	f->left = len;
}

/* RFC 3516: the decoded part as a literal8 when it has a NUL (a plain
 * literal may not), or its decoded size. */
static void write_binary(struct fetch_ctx *f,
			 const struct imap_fetch_item *item)
{
	struct buf content = BUF_INIT;
	const char *data = f->map.data != NULL ? f->map.data : "";
	(void)imap_binary_content(data, f->map.size, f->root, &item->section,
				  &content);
	out_str(f->client, item->name);
	if (item->kind == IMAP_FETCH_BINARY_SIZE) {
		char n[32];
		snprintf(n, sizeof(n), " %zu", content.len);
		out_str(f->client, n);
		buf_free(&content);
		return;
	}
	if (item->partial)
		mail_section_partial(&content, item->offset, item->count);
	bool nul = content.len > 0 &&
		memchr(content.data, 0, content.len) != NULL;
	char hdr[64];
	snprintf(hdr, sizeof(hdr), " %s{%zu}\r\n", nul ? "~" : "",
		 content.len);
	out_str(f->client, hdr);
	if (content.len > 0)
		imap_client_send_raw(f->client, content.data, content.len);
	buf_free(&content);
}

/* Every BINARY item of the message can be decoded (else the command
 * ends NO [UNKNOWN-CTE] and the message is not written). */
static bool binary_decodable(const struct fetch_ctx *f)
{
	const char *data = f->map.data != NULL ? f->map.data : "";
	for (size_t i = 0; i < f->items.n_items; i++) {
		const struct imap_fetch_item *it = &f->items.items[i];
		if ((it->kind == IMAP_FETCH_BINARY ||
		     it->kind == IMAP_FETCH_BINARY_SIZE) &&
		    !imap_binary_decodable(data, f->map.size, f->root,
					   &it->section))
			return false;
	}
	return true;
}

static void write_item(struct fetch_ctx *f, const struct fetch_msg *m,
		       const struct imap_fetch_item *item)
{
	struct imap_client *client = f->client;
	struct buf b = BUF_INIT;
	const char *data = f->map.data != NULL ? f->map.data : "";
	char date[32];
	switch (item->kind) {
	case IMAP_FETCH_UID:
		buf_printf(&b, "UID %u", m->uid);
		break;
	case IMAP_FETCH_FLAGS:
		imap_append_flags(&b, m->flags, m->n_flags,
				  imap_client_is_recent(f->client, m->uid));
		break;
	case IMAP_FETCH_INTERNALDATE:
		imap_datetime_format((time_t)m->internal_date, date);
		buf_printf(&b, "INTERNALDATE \"%s\"", date);
		break;
	case IMAP_FETCH_SAVEDATE:
		/* RFC 8514: NIL for a message whose save date is unknown. */
		if (m->save_date == 0) {
			buf_append_str(&b, "SAVEDATE NIL");
			break;
		}
		imap_datetime_format((time_t)m->save_date, date);
		buf_printf(&b, "SAVEDATE \"%s\"", date);
		break;
	case IMAP_FETCH_RFC822_SIZE:
		buf_printf(&b, "RFC822.SIZE %llu",
			   (unsigned long long)m->vsize);
		break;
	case IMAP_FETCH_MODSEQ:
		buf_printf(&b, "MODSEQ (%llu)", (unsigned long long)m->modseq);
		break;
	case IMAP_FETCH_ENVELOPE:
		buf_append_str(&b, "ENVELOPE ");
		if (m->envelope != NULL)
			buf_append_str(&b, m->envelope);
		else
			mail_imap_envelope(data, f->map.size, f->root, &b);
		break;
	case IMAP_FETCH_BODYSTRUCTURE:
		buf_append_str(&b, "BODYSTRUCTURE ");
		if (m->bodystructure != NULL)
			buf_append_str(&b, m->bodystructure);
		else
			mail_imap_bodystructure(data, f->map.size, f->root,
						true, &b);
		break;
	case IMAP_FETCH_BODY:
		buf_append_str(&b, "BODY ");
		if (m->body != NULL)
			buf_append_str(&b, m->body);
		else
			mail_imap_bodystructure(data, f->map.size, f->root,
						false, &b);
		break;
	case IMAP_FETCH_SECTION:
		start_section(f, m, item);
		break;
	case IMAP_FETCH_EMAILID:
		buf_append_str(&b, "EMAILID ");
		imap_objectid_append(&b, IMAP_EMAILID_PREFIX, m->guid);
		break;
	case IMAP_FETCH_THREADID:
		buf_append_str(&b, "THREADID ");
		imap_threadid_append(&b, m->threadid, m->guid);
		break;
	case IMAP_FETCH_BINARY:
	case IMAP_FETCH_BINARY_SIZE:
		write_binary(f, item);
		break;
	case IMAP_FETCH_PREVIEW: {
		struct buf text = BUF_INIT;
		imap_preview_get(data, f->map.size, f->root, &text);
		buf_append_str(&b, "PREVIEW ");
		imap_quote_string(&b, text.data);
		buf_free(&text);
		break;
	}
	}
	if (b.len > 0)
		imap_client_send_raw(client, b.data, b.len);
	buf_free(&b);
}

static bool flags_requested(const struct fetch_ctx *f)
{
	for (size_t i = 0; i < f->items.n_items; i++) {
		if (f->items.items[i].kind == IMAP_FETCH_FLAGS)
			return true;
	}
	return false;
}

/* Writes (the rest of) the current message. Returns false when it had to
 * stop for the socket to drain. */
static bool write_message(struct fetch_ctx *f, const struct fetch_msg *m)
{
	struct imap_client *client = f->client;
	if (!f->in_msg) {
		uint32_t seq = imap_client_seq(client, m->uid);
		if (seq == 0)
			return true;	/* not in the session's view */
		if (!binary_decodable(f)) {
			f->unknown_cte = true;
			return true;
		}
		char hdr[48];
		snprintf(hdr, sizeof(hdr), "* %u FETCH (", seq);
		out_str(client, hdr);
		f->in_msg = true;
		f->first_item = true;
		f->item_idx = 0;
	}
	while (f->item_idx < f->items.n_items) {
		if (f->streaming) {
			stream_chunk(f);
			if (f->left > 0) {
				if (client->out.len > IMAP_OUTPUT_THROTTLE)
					return false;
				continue;
			}
			f->streaming = false;
			f->item_idx++;
			continue;
		}
		if (!f->first_item)
			out_str(client, " ");
		f->first_item = false;
		const struct imap_fetch_item *item = &f->items.items[f->item_idx];
		write_item(f, m, item);
		if (!f->streaming)
			f->item_idx++;
	}
	if (m->seen_added && !flags_requested(f)) {
		struct buf b = BUF_INIT;
		buf_append_c(&b, ' ');
		imap_append_flags(&b, m->flags, m->n_flags,
				  imap_client_is_recent(f->client, m->uid));
		bool has_modseq = false;
		for (size_t i = 0; i < f->items.n_items; i++)
			has_modseq |= f->items.items[i].kind == IMAP_FETCH_MODSEQ;
		if (client->condstore && !has_modseq)
			buf_printf(&b, " MODSEQ (%llu)",
				   (unsigned long long)m->modseq);
		imap_client_send_raw(client, b.data, b.len);
		buf_free(&b);
	}
	out_str(client, ")\r\n");
	f->in_msg = false;
	return true;
}

/* ---- reading ---- */

/* The part tree from the index when it describes this body (it always
 * should), else parsed: parsing scans the whole body. */
static struct mail_part *fetch_part_tree(const struct fetch_msg *m,
					 const struct imap_mail_map *map)
{
	struct mail_part *root = NULL;
	const char *error;
	if (m->mime_parts != NULL &&
	    mail_parts_deserialize(m->mime_parts, strlen(m->mime_parts), NULL,
				   &root, &error) == 0) {
		if (root->header.physical + root->body.physical == map->size)
			return root;
		mail_part_free(&root);
	}
	return mail_parse(map->data != NULL ? map->data : "", map->size);
}

static bool fetch_body_open(struct imap_cmd *cmd);

static void fetch_get_reply(struct imap_cmd *cmd,
			    const struct rpc_reply *reply)
{
	struct fetch_ctx *f = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK || reply->n_fds < 1) {
		imap_rpc_fail(cmd, "blob Get", reply);
		return;
	}
	f->fd = reply->fds[0];
	reply->fds[0] = -1;	/* ours now */
	f->fd_cached = imap_body_cache_keep(&cmd->client->body_cache,
					    f->msgs[f->next].object_id, f->fd);
	if (fetch_body_open(cmd))
		fetch_pump(cmd);
}

/* f->fd holds the next message's body: reads it and its part tree.
 * false: the command failed and is done. */
static bool fetch_body_open(struct imap_cmd *cmd)
{
	struct fetch_ctx *f = cmd->ctx;
	if (imap_mail_map(f->fd, &f->map) < 0) {
		log_error(&cmd->client->log, "FETCH: mmap failed: %m");
		imap_cmd_reply(cmd, "NO", "[SERVERBUG] Internal error");
		imap_cmd_done(cmd);
		return false;
	}
	f->root = fetch_part_tree(&f->msgs[f->next], &f->map);
	return true;
}

static void fetch_drain(struct imap_client *client)
{
	if (client->cmd != NULL)
		fetch_pump(client->cmd);
}

static void fetch_request(struct imap_cmd *cmd, uint32_t from_uid);

static void fetch_pump(struct imap_cmd *cmd)
{
	struct fetch_ctx *f = cmd->ctx;
	struct imap_client *client = cmd->client;
	while (f->next < f->n_msgs) {
		if (client->out.len > IMAP_OUTPUT_THROTTLE) {
			client->drain_cb = fetch_drain;
			return;
		}
		struct fetch_msg *m = &f->msgs[f->next];
		bool want_body = !f->in_msg && f->fd < 0 &&
				 msg_needs_body(f, m) &&
				 imap_client_seq(client, m->uid) != 0;
		if (want_body) {
			f->fd = imap_body_cache_lookup(&client->body_cache,
						       m->object_id);
			f->fd_cached = f->fd >= 0;
			if (f->fd_cached && !fetch_body_open(cmd))
				return;
		}
		if (want_body && f->fd < 0) {
			struct imap_ctx *ctx = client->ctx;
			Stratus__BlobGetRequest req =
				STRATUS__BLOB_GET_REQUEST__INIT;
			req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
			req.user = client->user;
			req.key = (char *)imap_object_key(m->object_id);
			imap_rpc_call(cmd, ctx->blob, ctx->methods.blob_get,
				      &req.base, NULL, 0, fetch_get_reply);
			return;
		}
		if (!write_message(f, m)) {
			client->drain_cb = fetch_drain;
			return;
		}
		fetch_body_free(f);
		f->next++;
	}
	if (f->next_uid != 0) {
		fetch_request(cmd, f->next_uid);
		return;
	}
	if (f->unknown_cte) {
		imap_cmd_reply(cmd, "NO", "[UNKNOWN-CTE] Unknown "
			       "Content-Transfer-Encoding.");
		imap_cmd_done(cmd);
	} else {
		cmd->sync_holds_expunges = !f->uid_cmd;
		imap_sync_reply(cmd, "OK", "Fetch completed.");
	}
}

static bool has_flag(const struct fetch_msg *m, const char *flag)
{
	for (size_t i = 0; i < m->n_flags; i++) {
		if (strcasecmp(m->flags[i], flag) == 0)
			return true;
	}
	return false;
}

static void fetch_seen_reply(struct imap_cmd *cmd,
			     const struct rpc_reply *reply)
{
	struct fetch_ctx *f = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_rpc_fail(cmd, "index Store \\Seen", reply);
		return;
	}
	const Stratus__IndexStoreReply *r = (const void *)reply->msg;
	for (size_t i = 0; i < r->n_updated; i++) {
		const Stratus__IndexFlagUpdate *u = r->updated[i];
		imap_client_own_change(cmd->client, u->uid, u->modseq);
		for (size_t k = 0; k < f->n_msgs; k++) {
			struct fetch_msg *m = &f->msgs[k];
			if (m->uid != u->uid)
				continue;
			for (size_t j = 0; j < m->n_flags; j++)
				free(m->flags[j]);
			m->flags = xreallocarray(m->flags, u->n_flags + 1,
						 sizeof(char *));
			for (size_t j = 0; j < u->n_flags; j++)
				m->flags[j] = xstrdup(u->flags[j]);
			m->n_flags = u->n_flags;
			m->modseq = u->modseq;
			m->seen_added = true;
		}
	}
	fetch_pump(cmd);
}

/* Sets \Seen on the batch's unseen messages before writing them. */
static bool fetch_set_seen(struct imap_cmd *cmd)
{
	struct fetch_ctx *f = cmd->ctx;
	struct imap_client *client = cmd->client;
	if (!f->items.sets_seen || client->selected_readonly)
		return false;
	Stratus__IndexUidRange *ranges = xcalloc(f->n_msgs + 1,
						 sizeof(*ranges));
	Stratus__IndexUidRange **rp = xcalloc(f->n_msgs + 1, sizeof(*rp));
	size_t n = 0;
	for (size_t i = 0; i < f->n_msgs; i++) {
		if (has_flag(&f->msgs[i], "\\Seen"))
			continue;
		stratus__index_uid_range__init(&ranges[n]);
		ranges[n].first = ranges[n].last = f->msgs[i].uid;
		rp[n] = &ranges[n];
		n++;
	}
	if (n > 0) {
		char *seen = (char *)"\\Seen";
		Stratus__IndexStoreRequest req =
			STRATUS__INDEX_STORE_REQUEST__INIT;
		req.user = client->user;
		req.mailbox = client->selected;
		req.uids = rp;
		req.n_uids = n;
		req.mode = STRATUS__INDEX_STORE_MODE__INDEX_STORE_ADD;
		req.flags = &seen;
		req.n_flags = 1;
		/* mail_log's flag_change for the \Seen it sets */
		imap_mail_log_index_call(cmd, IMAP_INDEX_STORE, &req.base,
					 fetch_seen_reply);
	}
	free(rp);
	free(ranges);
	return n > 0;
}

static void fetch_index_reply(struct imap_cmd *cmd,
			      const struct rpc_reply *reply)
{
	struct fetch_ctx *f = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_rpc_fail(cmd, "index Fetch", reply);
		return;
	}
	const Stratus__IndexFetchReply *r = (const void *)reply->msg;
	fetch_msgs_free(f);
	f->msgs = xcalloc(r->n_messages + 1, sizeof(*f->msgs));
	for (size_t i = 0; i < r->n_messages; i++) {
		const Stratus__IndexMessage *im = r->messages[i];
		struct fetch_msg *m = &f->msgs[f->n_msgs++];
		m->uid = im->uid;
		m->flags = xcalloc(im->n_flags + 1, sizeof(char *));
		for (size_t k = 0; k < im->n_flags; k++)
			m->flags[k] = xstrdup(im->flags[k]);
		m->n_flags = im->n_flags;
		m->internal_date = im->internal_date;
		m->save_date = im->save_date;
		m->vsize = im->virtual_size;
		m->modseq = im->modseq;
		m->object_id = xstrdup(im->object_id);
		m->guid = xstrdup(im->guid);
		m->threadid = cached_dup(im, MAIL_THREADID_FIELD);
		m->envelope = cached_dup(im, "envelope");
		m->bodystructure = cached_dup(im, "bodystructure");
		m->body = cached_dup(im, "body");
		m->mime_parts = cached_dup(im, "mime.parts");
		const ProtobufCBinaryData *hf =
			imap_mail_cached(im, MAIL_HEADER_CACHE_FIELD);
		if (f->sections_cached && hf != NULL && hf->len > 0) {
			m->hdr_fields = xmalloc(hf->len);
			memcpy(m->hdr_fields, hf->data, hf->len);
			m->hdr_fields_len = hf->len;
		}
	}
	f->next_uid = r->next_uid;
	if (!fetch_set_seen(cmd))
		fetch_pump(cmd);
}

static void fetch_request(struct imap_cmd *cmd, uint32_t from_uid)
{
	struct fetch_ctx *f = cmd->ctx;
	struct imap_client *client = cmd->client;
	Stratus__IndexUidRange **ranges = xcalloc(f->ms.n_ranges + 1,
						  sizeof(*ranges));
	Stratus__IndexUidRange *trim = xcalloc(f->ms.n_ranges + 1,
					       sizeof(*trim));
	size_t n = 0;
	for (size_t i = 0; i < f->ms.n_ranges; i++) {
		const Stratus__IndexUidRange *r = f->ms.ranges[i];
		if (r->last < from_uid)
			continue;
		trim[n] = *r;
		if (trim[n].first < from_uid)
			trim[n].first = from_uid;
		ranges[n] = &trim[n];
		n++;
	}
	if (n == 0) {
		free(ranges);
		free(trim);
		f->next_uid = 0;
		fetch_pump(cmd);
		return;
	}
	char *fields[6];
	size_t nf = 0;
	if (f->items.need_body)
		fields[nf++] = (char *)"mime.parts";
	if (f->sections_cached)
		fields[nf++] = (char *)MAIL_HEADER_CACHE_FIELD;
	if (f->items.want_envelope)
		fields[nf++] = (char *)"envelope";
	if (f->items.want_bodystructure)
		fields[nf++] = (char *)"bodystructure";
	if (f->items.want_body)
		fields[nf++] = (char *)"body";
	if (f->items.want_threadid)
		fields[nf++] = (char *)MAIL_THREADID_FIELD;
	Stratus__IndexFetchRequest req = STRATUS__INDEX_FETCH_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = client->selected;
	req.uids = ranges;
	req.n_uids = n;
	req.fields = fields;
	req.n_fields = nf;
	req.changed_since = f->changedsince;
	imap_index_call(cmd, IMAP_INDEX_FETCH, &req.base, fetch_index_reply);
	free(ranges);
	free(trim);
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* A UID in the raw UID set (expunged UIDs are no longer in the view). */
static bool in_raw_set(const struct imap_seq_range *r, size_t n, uint32_t uid)
{
	for (size_t i = 0; i < n; i++) {
		if (uid >= r[i].lo && uid <= r[i].hi)
			return true;
	}
	return false;
}

static void fetch_after_vanished(struct imap_cmd *cmd)
{
	struct fetch_ctx *f = cmd->ctx;
	if (f->ms.n_uids == 0) {
		imap_sync_reply(cmd, "OK", "Fetch completed.");
		return;
	}
	fetch_request(cmd, 0);
}

/* The expunge history does not reach back to CHANGEDSINCE: every UID of
 * the set the session could know (below its UIDNEXT) that is not in its
 * view (RFC 7162 3.2.5.1 allows naming UIDs that never existed). */
static void fetch_vanished_partial(struct imap_cmd *cmd,
				   const struct imap_seq_range *set,
				   size_t n_set)
{
	struct imap_client *client = cmd->client;
	struct buf out = BUF_INIT;
	buf_append_str(&out, "* VANISHED (EARLIER) ");
	if (n_set > 0 && client->uidnext > 1 &&
	    imap_qresync_missing(&out, set, n_set, 1, client->uidnext - 1,
				 client->uids, client->n_uids))
		imap_client_send(client, "%s", out.data);
	buf_free(&out);
	fetch_after_vanished(cmd);
}

static void fetch_vanished_reply(struct imap_cmd *cmd,
				 const struct rpc_reply *reply)
{
	struct fetch_ctx *f = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_rpc_fail(cmd, "index Wait", reply);
		return;
	}
	const Stratus__IndexWaitReply *r = (const void *)reply->msg;
	struct imap_seq_range *set;
	size_t n_set;
	const char *error;
	if (imap_seqset_parse(f->vanished_set, &cmd->pool, &set, &n_set,
			      &error) < 0)
		n_set = 0;
	if (r->history_partial || r->resync) {
		fetch_vanished_partial(cmd, set, n_set);
		return;
	}
	uint32_t *gone = xcalloc(r->n_expunged + 1, sizeof(uint32_t));
	size_t n = 0;
	for (size_t i = 0; i < r->n_expunged; i++) {
		if (in_raw_set(set, n_set, r->expunged[i]) &&
		    imap_client_seq(cmd->client, r->expunged[i]) == 0)
			gone[n++] = r->expunged[i];
	}
	qsort(gone, n, sizeof(uint32_t), uid_cmp);
	if (n > 0) {
		struct buf out = BUF_INIT;
		buf_append_str(&out, "* VANISHED (EARLIER) ");
		imap_append_uidset(&out, gone, n);
		imap_client_send(cmd->client, "%s", out.data);
		buf_free(&out);
	}
	free(gone);
	fetch_after_vanished(cmd);
}

/* RFC 7162 3.2.6: the UIDs of the set expunged since CHANGEDSINCE, from
 * svc-index's expunge records, before the FETCH replies. */
static void fetch_vanished(struct imap_cmd *cmd, const char *set)
{
	struct fetch_ctx *f = cmd->ctx;
	struct imap_client *client = cmd->client;
	f->vanished_set = set;
	Stratus__IndexWaitRequest req;
	imap_sync_wait_request(client, &req, 0);
	req.since_modseq = f->changedsince;
	req.since_uidnext = UINT32_MAX;	/* every UID: none is "new" */
	req.claim_recent = false;
	req.partial_history = true;
	imap_index_call(cmd, IMAP_INDEX_WAIT, &req.base, fetch_vanished_reply);
}

/* "(CHANGEDSINCE n [VANISHED])" after the items (RFC 7162 3.1.4.1,
 * 3.2.6). Returns false with a tagged BAD sent. */
static bool fetch_modifiers(struct imap_cmd *cmd, struct fetch_ctx *f,
			    const struct imap_arg *mods)
{
	const struct imap_arg *l = mods->list;
	size_t n = mods->type == IMAP_ARG_LIST ? mods->list_count : 0;
	for (size_t i = 0; i < n; i++) {
		if (imap_arg_atom_equals(&l[i], "VANISHED") && f->uid_cmd &&
		    cmd->client->qresync && !f->vanished) {
			f->vanished = true;
			continue;
		}
		char *end;
		if (!imap_arg_atom_equals(&l[i], "CHANGEDSINCE") ||
		    i + 1 >= n || l[i + 1].type != IMAP_ARG_ATOM ||
		    l[i + 1].str[0] < '0' || l[i + 1].str[0] > '9' ||
		    f->changedsince != 0) {
			imap_cmd_bad(cmd, "Invalid FETCH modifiers.");
			return false;
		}
		errno = 0;
		f->changedsince = strtoull(l[++i].str, &end, 10);
		if (*end != '\0' || errno != 0 || f->changedsince == 0 ||
		    f->changedsince > INT64_MAX) {
			imap_cmd_bad(cmd, "Invalid CHANGEDSINCE value.");
			return false;
		}
	}
	if (n == 0 || (f->vanished && f->changedsince == 0)) {
		imap_cmd_bad(cmd, "Invalid FETCH modifiers.");
		return false;
	}
	return true;
}

static bool fetch_has(const struct fetch_ctx *f, enum imap_fetch_kind kind)
{
	for (size_t i = 0; i < f->items.n_items; i++) {
		if (f->items.items[i].kind == kind)
			return true;
	}
	return false;
}

/* Puts an item first (UID for UID FETCH) or last (MODSEQ). */
static void fetch_add_item(struct imap_cmd *cmd, struct fetch_ctx *f,
			   enum imap_fetch_kind kind, bool first)
{
	struct imap_fetch_item *n = imap_pool_alloc(&cmd->pool,
		(f->items.n_items + 1) * sizeof(*n));
	memcpy(n + (first ? 1 : 0), f->items.items,
	       f->items.n_items * sizeof(*n));
	n[first ? 0 : f->items.n_items].kind = kind;
	f->items.items = n;
	f->items.n_items++;
}

bool imap_fetch_start(struct imap_cmd *cmd, bool uid_cmd,
		      const struct imap_arg *args, size_t n_args)
{
	if ((n_args != 2 && n_args != 3) || args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	struct fetch_ctx *f = xcalloc(1, sizeof(*f));
	f->client = cmd->client;
	f->fd = -1;
	f->uid_cmd = uid_cmd;
	cmd->ctx = f;
	cmd->ctx_free = fetch_ctx_free;
	const char *error;
	if (imap_fetch_items_parse(&cmd->pool, &args[1], &f->items,
				   &error) < 0 ||
	    imap_msgset_parse(cmd, args[0].str, uid_cmd, &f->ms, &error) < 0) {
		imap_cmd_bad(cmd, error);
		return true;
	}
	if (n_args == 3 && !fetch_modifiers(cmd, f, &args[2]))
		return true;
	f->sections_cached = f->items.need_body;
	for (size_t i = 0; i < f->items.n_items; i++) {
		const struct imap_fetch_item *it = &f->items.items[i];
		if ((it->kind == IMAP_FETCH_SECTION &&
		     !mail_header_cache_covers(&it->section)) ||
		    it->kind == IMAP_FETCH_BINARY ||
		    it->kind == IMAP_FETCH_BINARY_SIZE ||
		    it->kind == IMAP_FETCH_PREVIEW)
			f->sections_cached = false;
	}
	if (uid_cmd && !fetch_has(f, IMAP_FETCH_UID))
		fetch_add_item(cmd, f, IMAP_FETCH_UID, true);
	if (f->changedsince != 0 || fetch_has(f, IMAP_FETCH_MODSEQ))
		imap_client_enable_condstore(cmd->client);
	/* With CONDSTORE on, FLAGS come with MODSEQ (RFC 7162 3.1.4). */
	if (!fetch_has(f, IMAP_FETCH_MODSEQ) &&
	    (f->changedsince != 0 ||
	     (cmd->client->condstore && fetch_has(f, IMAP_FETCH_FLAGS))))
		fetch_add_item(cmd, f, IMAP_FETCH_MODSEQ, false);
	if (f->vanished) {
		fetch_vanished(cmd, args[0].str);
		return false;
	}
	if (f->ms.n_uids == 0) {
		imap_cmd_reply(cmd, "OK", "Fetch completed.");
		return true;
	}
	fetch_request(cmd, 0);
	return false;
}

bool cmd_fetch(struct imap_cmd *cmd)
{
	return imap_fetch_start(cmd, false, cmd->c.args, cmd->c.n_args);
}
