/* mail_log events of IMAP commands (see imap-mail-log.h). The state of
 * one logged call lives in the command's pool (cmd->mail_log), so a
 * client that goes away mid-call leaves nothing behind. */
#include "imap-mail-log.h"
#include "imap-mail.h"
#include "imap-utf7.h"
#include "mail-log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool mail_log_on;
static struct mail_log_settings mail_log_set;

/* What a line needs of one message, copied into the command's pool. */
struct logged_mail {
	uint32_t uid;
	const char *msgid, *from, *subject;
	uint64_t size, vsize;
	const char **flags;
	size_t n_flags;
};

struct mail_log_call {
	enum imap_index_method method;
	imap_index_cb *cb;
	const ProtobufCMessageDescriptor *desc;
	uint8_t *packed;		/* the held request */
	size_t packed_len;
	const char *box, *dest;		/* UTF-8, for the lines */
	const char *wire_box;		/* mUTF-7, for the prefetch */
	bool move;
	Stratus__IndexUidRange **ranges;	/* what the call touches */
	size_t n_ranges;
	struct logged_mail *mails;	/* prefetched, or Append's */
	size_t n_mails, cap_mails;
};

int imap_mail_log_init(const struct config *cfg, char **error_r)
{
	mail_log_on = config_mail_plugin_enabled(cfg, "imap", "mail_log");
	return mail_log_settings_parse(
		config_plugin_get(cfg, "imap", "mail_log_events"),
		config_plugin_get(cfg, "imap", "mail_log_fields"),
		&mail_log_set, error_r);
}

/* ---- copying into the command's pool ---- */

static const char *pool_str(struct imap_cmd *cmd, const char *s)
{
	return s == NULL ? NULL : imap_pool_strndup(&cmd->pool, s, strlen(s));
}

static const char *pool_utf8_box(struct imap_cmd *cmd, const char *wire)
{
	struct buf b = BUF_INIT;
	if (wire == NULL)
		return NULL;
	if (imap_utf7_to_utf8(wire, &b) < 0 || b.data == NULL) {
		buf_free(&b);
		return pool_str(cmd, wire);
	}
	const char *s = pool_str(cmd, b.data);
	buf_free(&b);
	return s;
}

static const char *cached_header(struct imap_cmd *cmd,
				 Stratus__IndexCachedField *const *cached,
				 size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(cached[i]->name, name) == 0)
			return imap_pool_strndup(&cmd->pool,
				(const char *)cached[i]->value.data,
				cached[i]->value.len);
	}
	return NULL;
}

static struct logged_mail *call_add_mail(struct imap_cmd *cmd,
					 struct mail_log_call *c)
{
	if (c->n_mails == c->cap_mails) {
		size_t cap = c->cap_mails == 0 ? 64 : c->cap_mails * 2;
		struct logged_mail *m = imap_pool_alloc(&cmd->pool,
							cap * sizeof(*m));
		if (c->n_mails > 0)
			memcpy(m, c->mails, c->n_mails * sizeof(*m));
		c->mails = m;
		c->cap_mails = cap;
	}
	return &c->mails[c->n_mails++];
}

static void mail_copy(struct imap_cmd *cmd, struct logged_mail *l,
		      const Stratus__IndexMessage *m)
{
	l->uid = m->uid;
	l->msgid = cached_header(cmd, m->cached, m->n_cached,
				 "hdr.message-id");
	l->from = cached_header(cmd, m->cached, m->n_cached, "hdr.from");
	l->subject = cached_header(cmd, m->cached, m->n_cached, "hdr.subject");
	l->size = m->physical_size;
	l->vsize = m->virtual_size;
	l->n_flags = m->n_flags;
	l->flags = imap_pool_alloc(&cmd->pool, (m->n_flags + 1) *
				   sizeof(*l->flags));
	for (size_t i = 0; i < m->n_flags; i++)
		l->flags[i] = pool_str(cmd, m->flags[i]);
}

/* Prefetched messages arrive in UID order, one reply after another. */
static const struct logged_mail *call_find(const struct mail_log_call *c,
					   uint32_t uid)
{
	size_t lo = 0, hi = c->n_mails;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->mails[mid].uid == uid)
			return &c->mails[mid];
		if (c->mails[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- writing lines ---- */

static void log_mail(struct imap_client *client, const char *event,
		     const char *box, uint32_t uid, const struct logged_mail *l,
		     const char *const *flags, size_t n_flags)
{
	struct mail_log_mail m = { .box = box, .uid = uid };
	if (l != NULL) {
		m.msgid = l->msgid;
		m.from = l->from;
		m.subject = l->subject;
		m.size = l->size;
		m.vsize = l->vsize;
		m.flags = l->flags;
		m.n_flags = l->n_flags;
	}
	if (flags != NULL) {
		m.flags = flags;
		m.n_flags = n_flags;
	}
	struct buf line = BUF_INIT;
	mail_log_format(&mail_log_set, event, &m, &line);
	log_info(&client->log, "%s", line.data);
	buf_free(&line);
}

static bool flags_have_deleted(const char *const *flags, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(flags[i], "\\Deleted") == 0)
			return true;
	}
	return false;
}

static void log_store(struct imap_cmd *cmd, const struct mail_log_call *c,
		      const Stratus__IndexStoreReply *r)
{
	for (size_t i = 0; i < r->n_updated; i++) {
		const Stratus__IndexFlagUpdate *u = r->updated[i];
		const struct logged_mail *old = call_find(c, u->uid);
		bool was = old != NULL &&
			   flags_have_deleted(old->flags, old->n_flags);
		bool now = flags_have_deleted((const char *const *)u->flags,
					      u->n_flags);
		enum mail_log_event ev = was == now ? MAIL_LOG_EVENT_FLAG_CHANGE :
			now ? MAIL_LOG_EVENT_DELETE : MAIL_LOG_EVENT_UNDELETE;
		if ((mail_log_set.events & ev) == 0)
			continue;
		log_mail(cmd->client, ev == MAIL_LOG_EVENT_FLAG_CHANGE ?
			 "flag_change" : now ? "delete" : "undelete", c->box,
			 u->uid, old, (const char *const *)u->flags,
			 u->n_flags);
	}
}

static void log_expunged(struct imap_cmd *cmd, const struct mail_log_call *c,
			 const uint32_t *uids, size_t n)
{
	if ((mail_log_set.events & MAIL_LOG_EVENT_EXPUNGE) == 0)
		return;
	for (size_t i = 0; i < n; i++)
		log_mail(cmd->client, "expunge", c->box, uids[i],
			 call_find(c, uids[i]), NULL, 0);
}

static void log_copy(struct imap_cmd *cmd, const struct mail_log_call *c,
		     const Stratus__IndexCopyReply *r)
{
	if ((mail_log_set.events & MAIL_LOG_EVENT_COPY) != 0) {
		struct buf event = BUF_INIT;
		mail_log_copy_event(c->box, &event);
		for (size_t i = 0; i < r->n_src_uids && i < r->n_dest_uids;
		     i++)
			log_mail(cmd->client, event.data, c->dest,
				 r->dest_uids[i], call_find(c, r->src_uids[i]),
				 NULL, 0);
		buf_free(&event);
	}
	/* MOVE is a copy and an expunge, as Dovecot logs it. */
	if (c->move)
		log_expunged(cmd, c, r->expunged, r->n_expunged);
}

static void log_saved(struct imap_cmd *cmd, const struct mail_log_call *c,
		      const Stratus__IndexAppendReply *r)
{
	for (size_t i = 0; i < c->n_mails && i < r->n_uids; i++)
		log_mail(cmd->client, "save", c->box, r->uids[i],
			 &c->mails[i], NULL, 0);
}

static void log_mailbox(struct imap_cmd *cmd, const struct mail_log_call *c,
			enum mail_log_event ev)
{
	struct buf line = BUF_INIT;
	mail_log_format_mailbox(ev, c->box, c->dest, &line);
	log_info(&cmd->client->log, "%s", line.data);
	buf_free(&line);
}

static void mail_log_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	const struct mail_log_call *c = cmd->mail_log;
	if (reply->status == STRATUS__STATUS__STATUS_OK) {
		const void *r = reply->msg;
		switch (c->method) {
		case IMAP_INDEX_STORE:
			log_store(cmd, c, r);
			break;
		case IMAP_INDEX_EXPUNGE: {
			const Stratus__IndexExpungeReply *e = r;
			log_expunged(cmd, c, e->expunged, e->n_expunged);
			break;
		}
		case IMAP_INDEX_COPY:
			log_copy(cmd, c, r);
			break;
		case IMAP_INDEX_APPEND:
			log_saved(cmd, c, r);
			break;
		case IMAP_INDEX_CREATE:
			log_mailbox(cmd, c, MAIL_LOG_EVENT_MAILBOX_CREATE);
			break;
		case IMAP_INDEX_DELETE:
			log_mailbox(cmd, c, MAIL_LOG_EVENT_MAILBOX_DELETE);
			break;
		case IMAP_INDEX_RENAME:
			log_mailbox(cmd, c, MAIL_LOG_EVENT_MAILBOX_RENAME);
			break;
		default:
			break;
		}
	}
	imap_index_cb *cb = c->cb;
	cmd->mail_log = NULL;
	cb(cmd, reply);
}

/* ---- the prefetch ---- */

static void call_send(struct imap_cmd *cmd)
{
	struct mail_log_call *c = cmd->mail_log;
	ProtobufCMessage *req = protobuf_c_message_unpack(c->desc, NULL,
							  c->packed_len,
							  c->packed);
	if (req == NULL) {
		/* Cannot happen: we packed it ourselves. */
		log_error(&cmd->client->log, "mail_log: held %s request "
			  "does not unpack", c->desc->short_name);
		imap_cmd_reply(cmd, "NO", "[SERVERBUG] Internal error");
		imap_cmd_done(cmd);
		return;
	}
	imap_index_call(cmd, c->method, req, mail_log_reply);
	protobuf_c_message_free_unpacked(req, NULL);
}

static void prefetch_next(struct imap_cmd *cmd, uint32_t from);

static void prefetch_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct mail_log_call *c = cmd->mail_log;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		/* The command itself decides: send it and log what the
		 * reply alone tells (uids and boxes). */
		log_warning(&cmd->client->log, "mail_log: fetch before %s "
			    "failed: %s", cmd->c.name, reply->error != NULL ?
			    reply->error : rpc_status_name(reply->status));
		call_send(cmd);
		return;
	}
	const Stratus__IndexFetchReply *r = (const void *)reply->msg;
	for (size_t i = 0; i < r->n_messages; i++) {
		uint32_t last = c->n_mails > 0 ? c->mails[c->n_mails - 1].uid : 0;
		if (r->messages[i]->uid > last)	/* keeps the array sorted */
			mail_copy(cmd, call_add_mail(cmd, c), r->messages[i]);
	}
	if (r->next_uid != 0 && r->n_messages > 0) {
		prefetch_next(cmd, r->next_uid);
		return;
	}
	call_send(cmd);
}

static void prefetch_next(struct imap_cmd *cmd, uint32_t from)
{
	struct mail_log_call *c = cmd->mail_log;
	Stratus__IndexUidRange **ranges = imap_pool_alloc(&cmd->pool,
		(c->n_ranges + 1) * sizeof(*ranges));
	size_t n = 0;
	for (size_t i = 0; i < c->n_ranges; i++) {
		const Stratus__IndexUidRange *r = c->ranges[i];
		uint32_t first = r->first > from ? r->first : from;
		if (r->last != 0 && r->last < first)
			continue;
		Stratus__IndexUidRange *nr = imap_pool_alloc(&cmd->pool,
							     sizeof(*nr));
		stratus__index_uid_range__init(nr);
		nr->first = first;
		nr->last = r->last;
		ranges[n++] = nr;
	}
	if (n == 0) {
		call_send(cmd);
		return;
	}
	char *fields[3];
	size_t nf = 0;
	if ((mail_log_set.fields & MAIL_LOG_FIELD_MSGID) != 0)
		fields[nf++] = (char *)"hdr.message-id";
	if ((mail_log_set.fields & MAIL_LOG_FIELD_FROM) != 0)
		fields[nf++] = (char *)"hdr.from";
	if ((mail_log_set.fields & MAIL_LOG_FIELD_SUBJECT) != 0)
		fields[nf++] = (char *)"hdr.subject";
	Stratus__IndexFetchRequest req = STRATUS__INDEX_FETCH_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)c->wire_box;
	req.uids = ranges;
	req.n_uids = n;
	req.fields = fields;
	req.n_fields = nf;
	imap_index_call(cmd, IMAP_INDEX_FETCH, &req.base, prefetch_reply);
}

/* ---- which calls log what ---- */

static void hold_ranges(struct imap_cmd *cmd, struct mail_log_call *c,
			Stratus__IndexUidRange *const *ranges, size_t n)
{
	/* No ranges: the whole mailbox (Expunge from CLOSE). */
	c->n_ranges = n > 0 ? n : 1;
	c->ranges = imap_pool_alloc(&cmd->pool, c->n_ranges *
				    sizeof(*c->ranges));
	for (size_t i = 0; i < c->n_ranges; i++) {
		Stratus__IndexUidRange *r = imap_pool_alloc(&cmd->pool,
							    sizeof(*r));
		stratus__index_uid_range__init(r);
		r->first = n > 0 ? ranges[i]->first : 1;
		r->last = n > 0 ? ranges[i]->last : 0;
		c->ranges[i] = r;
	}
}

static void hold_appended(struct imap_cmd *cmd, struct mail_log_call *c,
			  const Stratus__IndexAppendRequest *req)
{
	for (size_t i = 0; i < req->n_messages; i++)
		mail_copy(cmd, call_add_mail(cmd, c), req->messages[i]);
}

/* Sets up c for the call; returns whether it logs anything and, in
 * *prefetch_r, whether it needs the messages first. */
static bool call_setup(struct imap_cmd *cmd, struct mail_log_call *c,
		       const ProtobufCMessage *msg, bool *prefetch_r)
{
	unsigned int ev = mail_log_set.events;
	/* Beyond uid and box, an expunge or copy line needs the message. */
	bool need_mail = (mail_log_set.fields & ~(MAIL_LOG_FIELD_UID |
						  MAIL_LOG_FIELD_BOX)) != 0;
	*prefetch_r = false;
	switch (c->method) {
	case IMAP_INDEX_STORE: {
		const Stratus__IndexStoreRequest *r = (const void *)msg;
		if ((ev & (MAIL_LOG_EVENT_DELETE | MAIL_LOG_EVENT_UNDELETE |
			   MAIL_LOG_EVENT_FLAG_CHANGE)) == 0)
			return false;
		c->wire_box = r->mailbox;
		hold_ranges(cmd, c, r->uids, r->n_uids);
		*prefetch_r = true;	/* the old flags */
		return true;
	}
	case IMAP_INDEX_EXPUNGE: {
		const Stratus__IndexExpungeRequest *r = (const void *)msg;
		if ((ev & MAIL_LOG_EVENT_EXPUNGE) == 0)
			return false;
		c->wire_box = r->mailbox;
		hold_ranges(cmd, c, r->uids, r->n_uids);
		*prefetch_r = need_mail;
		return true;
	}
	case IMAP_INDEX_COPY: {
		const Stratus__IndexCopyRequest *r = (const void *)msg;
		c->move = r->move;
		if ((ev & MAIL_LOG_EVENT_COPY) == 0 &&
		    (!r->move || (ev & MAIL_LOG_EVENT_EXPUNGE) == 0))
			return false;
		c->wire_box = r->mailbox;
		c->dest = pool_utf8_box(cmd, r->dest);
		hold_ranges(cmd, c, r->uids, r->n_uids);
		*prefetch_r = need_mail;
		return true;
	}
	case IMAP_INDEX_APPEND:
		if ((ev & MAIL_LOG_EVENT_SAVE) == 0)
			return false;
		c->wire_box = ((const Stratus__IndexAppendRequest *)msg)->mailbox;
		hold_appended(cmd, c, (const void *)msg);
		return true;
	case IMAP_INDEX_CREATE:
		c->wire_box = ((const Stratus__IndexMailboxCreateRequest *)
			       msg)->mailbox;
		return (ev & MAIL_LOG_EVENT_MAILBOX_CREATE) != 0;
	case IMAP_INDEX_DELETE:
		c->wire_box = ((const Stratus__IndexMailboxRequest *)
			       msg)->mailbox;
		return (ev & MAIL_LOG_EVENT_MAILBOX_DELETE) != 0;
	case IMAP_INDEX_RENAME: {
		const Stratus__IndexMailboxRenameRequest *r = (const void *)msg;
		c->wire_box = r->mailbox;
		c->dest = pool_utf8_box(cmd, r->new_name);
		return (ev & MAIL_LOG_EVENT_MAILBOX_RENAME) != 0;
	}
	default:
		return false;
	}
}

void imap_mail_log_index_call(struct imap_cmd *cmd,
			      enum imap_index_method method,
			      const ProtobufCMessage *req, imap_index_cb *cb)
{
	struct mail_log_call *c = NULL;
	bool prefetch = false;
	if (mail_log_on) {
		c = imap_pool_alloc(&cmd->pool, sizeof(*c));
		c->method = method;
		c->cb = cb;
		if (!call_setup(cmd, c, req, &prefetch))
			c = NULL;
	}
	if (c == NULL) {
		imap_index_call(cmd, method, req, cb);
		return;
	}
	c->wire_box = pool_str(cmd, c->wire_box);
	c->box = pool_utf8_box(cmd, c->wire_box);
	cmd->mail_log = c;
	if (!prefetch) {
		imap_index_call(cmd, method, req, mail_log_reply);
		return;
	}
	c->desc = req->descriptor;
	c->packed_len = protobuf_c_message_get_packed_size(req);
	c->packed = imap_pool_alloc(&cmd->pool, c->packed_len + 1);
	protobuf_c_message_pack(req, c->packed);
	prefetch_next(cmd, 1);
}
