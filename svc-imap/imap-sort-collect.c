/* Gathers the SORT/THREAD fields of the matching messages: their metadata
 * and cached header lines (header.fields, which holds every header SORT
 * and THREAD read) from svc-index Fetch, in as many replies as it cuts;
 * only a message without that cache has its header read from svc-blob,
 * one message at a time. */
#include "imap-index.h"
#include "imap-mail.h"
#include "imap-msgset.h"
#include "imap-base-subject.h"
#include "imap-search.h"
#include "imap-sort.h"
#include "blob.pb-c.h"
#include "mail-decode.h"
#include "mail-header-cache.h"
#include "mail-header.h"
#include "mail-rfc822.h"

#include <stdlib.h>
#include <string.h>

void imap_sort_job_free(void *p)
{
	struct imap_sort_job *job = p;
	for (size_t i = 0; i < job->n_msgs; i++) {
		struct imap_sort_msg *m = &job->msgs[i];
		free(m->object_id);
		free(m->subject);
		free(m->from);
		free(m->to);
		free(m->cc);
		free(m->display_from);
		free(m->display_to);
		free(m->message_id);
		for (size_t k = 0; k < m->n_refs; k++)
			free(m->refs[k]);
		free(m->refs);
	}
	free(job->msgs);
	if (job->owner_free != NULL)
		job->owner_free(job->owner);
	free(job);
}


static char *header_dup(const char *data, size_t size, const char *name,
			struct buf *tmp)
{
	if (!mail_header_get(data, size, name, 0, tmp))
		return NULL;
	return xstrndup(tmp->data != NULL ? tmp->data : "", tmp->len);
}

/* The first address: addr-mailbox, and RFC 5957's display form (the
 * decoded display-name, else mailbox@host). */
static void first_address(const char *data, size_t size, const char *name,
			  char **mailbox_r, char **display_r)
{
	struct buf v = BUF_INIT, d = BUF_INIT;
	*mailbox_r = NULL;
	if (display_r != NULL)
		*display_r = NULL;
	if (mail_header_get(data, size, name, 0, &v)) {
		struct mail_address_list list;
		mail_address_parse(v.data, v.len, 1, &list);
		if (list.count > 0) {
			const struct mail_address *a = &list.v[0];
			*mailbox_r = xstrdup(a->mailbox != NULL ?
					     a->mailbox : "");
			if (a->name != NULL)
				mail_decode_rfc2047(a->name, strlen(a->name),
						    &d);
			if (d.len == 0 && a->mailbox != NULL)
				buf_printf(&d, "%s@%s", a->mailbox,
					   a->domain != NULL ? a->domain : "");
			if (display_r != NULL)
				*display_r = xstrndup(d.data != NULL ?
						      d.data : "", d.len);
		}
		mail_address_list_free(&list);
	}
	if (*mailbox_r == NULL)
		*mailbox_r = xstrdup("");
	if (display_r != NULL && *display_r == NULL)
		*display_r = xstrdup("");
	buf_free(&v);
	buf_free(&d);
}

/* Every "<...>" of a References (or In-Reply-To) value. */
static void add_refs(struct imap_sort_msg *m, const char *v, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const char *lt = memchr(v + i, '<', len - i);
		if (lt == NULL)
			break;
		size_t start = (size_t)(lt - v);
		const char *gt = memchr(lt, '>', len - start);
		if (gt == NULL)
			break;
		struct buf id = BUF_INIT;
		if (mail_message_id_get(lt, (size_t)(gt - lt) + 1, &id) &&
		    id.len > 2) {
			m->refs = xreallocarray(m->refs, m->n_refs + 1,
						sizeof(char *));
			m->refs[m->n_refs++] = buf_steal(&id);
		}
		buf_free(&id);
		i = (size_t)(gt - v) + 1;
	}
}

static void msg_headers(struct imap_sort_msg *m, const char *data,
			size_t size)
{
	struct buf tmp = BUF_INIT, base = BUF_INIT;
	char *subj = header_dup(data, size, "subject", &tmp);
	imap_base_subject(subj != NULL ? subj : "",
			  subj != NULL ? strlen(subj) : 0, &base,
			  &m->subject_reply);
	free(subj);
	m->subject = xstrndup(base.data != NULL ? base.data : "", base.len);
	first_address(data, size, "from", &m->from, &m->display_from);
	first_address(data, size, "to", &m->to, &m->display_to);
	first_address(data, size, "cc", &m->cc, NULL);
	if (mail_header_get(data, size, "date", 0, &tmp)) {
		time_t t;
		int tz;
		if (mail_parse_date(tmp.data, tmp.len, &t, &tz))
			m->date = t;
	}
	if (mail_header_get(data, size, "message-id", 0, &tmp)) {
		struct buf id = BUF_INIT;
		if (mail_message_id_get(tmp.data, tmp.len, &id))
			m->message_id = buf_steal(&id);
		buf_free(&id);
	}
	if (mail_header_get(data, size, "references", 0, &tmp))
		add_refs(m, tmp.data, tmp.len);
	if (m->n_refs == 0 &&
	    mail_header_get(data, size, "in-reply-to", 0, &tmp)) {
		struct buf id = BUF_INIT;
		if (mail_message_id_get(tmp.data, tmp.len, &id)) {
			m->refs = xcalloc(1, sizeof(char *));
			m->refs[m->n_refs++] = buf_steal(&id);
		}
		buf_free(&id);
	}
	buf_free(&tmp);
	buf_free(&base);
}

static void msg_defaults(struct imap_sort_msg *m)
{
	const char **s[] = { (const char **)&m->subject,
		(const char **)&m->from, (const char **)&m->to,
		(const char **)&m->cc, (const char **)&m->display_from,
		(const char **)&m->display_to, (const char **)&m->message_id };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (*s[i] == NULL)
			*s[i] = xstrdup("");
	}
}

static void body_next(struct imap_cmd *cmd, struct imap_sort_job *job);

/* The header lines cached at delivery: one flag byte, then the raw
 * lines, which read like a header block. */
static void msg_cached_headers(struct imap_sort_msg *m,
			       const Stratus__IndexMessage *im)
{
	for (size_t i = 0; i < im->n_cached; i++) {
		const Stratus__IndexCachedField *f = im->cached[i];
		if (strcmp(f->name, MAIL_HEADER_CACHE_FIELD) != 0 ||
		    f->value.len < 1)
			continue;
		msg_headers(m, (const char *)f->value.data + 1,
			    f->value.len - 1);
		msg_defaults(m);
		m->have_headers = true;
		return;
	}
}

static void body_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct imap_sort_job *job = imap_search_user(cmd);
	if (reply->status != STRATUS__STATUS__STATUS_OK || reply->n_fds < 1) {
		imap_rpc_fail(cmd, "blob Get", reply);
		return;
	}
	struct imap_sort_msg *m = &job->msgs[job->next++];
	struct imap_mail_map map;
	if (imap_mail_map(reply->fds[0], &map) < 0) {
		log_error(&cmd->client->log, "%s: mmap failed: %m",
			  cmd->c.name);
	} else {
		if (map.size > 0)
			msg_headers(m, map.data, map.size);
		imap_mail_unmap(&map);
	}
	msg_defaults(m);
	body_next(cmd, job);
}

static void body_next(struct imap_cmd *cmd, struct imap_sort_job *job)
{
	struct imap_client *client = cmd->client;
	if (job->metadata_only) {
		for (size_t i = 0; i < job->n_msgs; i++)
			msg_defaults(&job->msgs[i]);
		job->next = job->n_msgs;
	}
	while (job->next < job->n_msgs && job->msgs[job->next].have_headers)
		job->next++;
	if (job->next >= job->n_msgs) {
		job->ready(cmd, job);
		return;
	}
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = client->user;
	req.key = (char *)imap_object_key(job->msgs[job->next].object_id);
	imap_rpc_call(cmd, client->ctx->blob, client->ctx->methods.blob_get,
		      &req.base, NULL, 0, body_reply);
}

static void meta_request(struct imap_cmd *cmd, struct imap_sort_job *job,
			 uint32_t from_uid);

static void meta_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct imap_sort_job *job = imap_search_user(cmd);
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_rpc_fail(cmd, "index Fetch", reply);
		return;
	}
	const Stratus__IndexFetchReply *r = (const void *)reply->msg;
	for (size_t i = 0; i < r->n_messages; i++) {
		const Stratus__IndexMessage *im = r->messages[i];
		uint32_t seq = imap_client_seq(cmd->client, im->uid);
		if (seq == 0 || job->n_msgs >= job->n_uids)
			continue;
		struct imap_sort_msg *m = &job->msgs[job->n_msgs++];
		m->uid = im->uid;
		m->seq = seq;
		m->arrival = im->internal_date;
		m->date = im->internal_date;
		m->size = im->virtual_size;
		m->object_id = xstrdup(im->object_id);
		msg_cached_headers(m, im);
	}
	if (r->next_uid != 0) {
		meta_request(cmd, job, r->next_uid);
		return;
	}
	job->next = 0;
	body_next(cmd, job);
}

static void meta_request(struct imap_cmd *cmd, struct imap_sort_job *job,
			 uint32_t from_uid)
{
	struct imap_client *client = cmd->client;
	size_t n = 0;
	Stratus__IndexUidRange *ranges = xcalloc(job->n_uids + 1,
						 sizeof(*ranges));
	Stratus__IndexUidRange **rp = xcalloc(job->n_uids + 1, sizeof(*rp));
	for (size_t i = 0; i < job->n_uids; i++) {
		uint32_t uid = job->uids[i];
		if (uid < from_uid)
			continue;
		if (n > 0 && ranges[n - 1].last + 1 == uid) {
			ranges[n - 1].last = uid;
			continue;
		}
		stratus__index_uid_range__init(&ranges[n]);
		ranges[n].first = ranges[n].last = uid;
		rp[n] = &ranges[n];
		n++;
	}
	Stratus__IndexFetchRequest req = STRATUS__INDEX_FETCH_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = client->selected;
	req.uids = rp;
	req.n_uids = n;
	char *fields[] = { (char *)MAIL_HEADER_CACHE_FIELD };
	if (!job->metadata_only) {
		req.fields = fields;
		req.n_fields = 1;
	}
	imap_index_call(cmd, IMAP_INDEX_FETCH, &req.base, meta_reply);
	free(rp);
	free(ranges);
}

void imap_sort_collect(struct imap_cmd *cmd, const uint32_t *uids, size_t n,
		       uint64_t max_modseq, void *p)
{
	struct imap_sort_job *job = p;
	job->uids = uids;
	job->n_uids = n;
	job->max_modseq = max_modseq;
	job->msgs = xcalloc(n + 1, sizeof(*job->msgs));
	if (n == 0) {
		job->ready(cmd, job);
		return;
	}
	meta_request(cmd, job, 0);
}
