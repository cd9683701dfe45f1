/* svc-index: the in-memory model of a user's mailboxes and records, and
 * the conversions between it and the index-file protobuf encoding. No
 * I/O here; index-user.c decides when state changes. */
#include "index-common.h"
#include "index-notify.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const index_sysflag_names[] = {
	"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft",
};

struct index_mailbox *index_mailbox_new(const char *name, const char *guid,
					uint32_t uidvalidity)
{
	struct index_mailbox *box = xcalloc(1, sizeof(*box));
	box->name = xstrdup(name);
	snprintf(box->guid, sizeof(box->guid), "%s", guid);
	box->uidvalidity = uidvalidity;
	box->uidnext = 1;
	box->first_recent_uid = 1;
	box->highest_modseq = 1;
	return box;
}

void index_record_clear(struct index_record *rec)
{
	free(rec->guid);
	free(rec->object_id);
	free(rec->cached);	/* names and values live in the same block */
	memset(rec, 0, sizeof(*rec));
}

void index_mailbox_free(struct index_mailbox *box)
{
	if (box == NULL)
		return;
	index_notify_gone(box);
	index_box_chunks_free(box);
	for (size_t i = 0; i < box->n_recs; i++)
		index_record_clear(&box->recs[i]);
	free(box->recs);
	free(box->tombs);
	for (size_t i = 0; i < box->n_keywords; i++)
		free(box->keywords[i]);
	for (size_t i = 0; i < box->n_special_use; i++)
		free(box->special_use[i]);
	free(box->special_use);
	free(box->name);
	free(box);
}

void index_user_clear_state(struct index_user *user)
{
	for (size_t i = 0; i < user->n_boxes; i++)
		index_mailbox_free(user->boxes[i]);
	free(user->boxes);
	user->boxes = NULL;
	user->n_boxes = 0;
	for (size_t i = 0; i < user->n_subs; i++)
		free(user->subs[i]);
	free(user->subs);
	user->subs = NULL;
	user->n_subs = 0;
	user->seq = 0;
	user->last_uidvalidity = 0;
}

struct index_mailbox *index_user_find_box(const struct index_user *user,
					  const char *name)
{
	for (size_t i = 0; i < user->n_boxes; i++) {
		if (strcmp(user->boxes[i]->name, name) == 0)
			return user->boxes[i];
	}
	return NULL;
}

struct index_mailbox *index_user_find_guid(const struct index_user *user,
					   const char *guid)
{
	for (size_t i = 0; i < user->n_boxes; i++) {
		if (strcmp(user->boxes[i]->guid, guid) == 0)
			return user->boxes[i];
	}
	return NULL;
}

size_t index_mailbox_lower_bound(const struct index_mailbox *box,
				 uint32_t uid)
{
	size_t lo = 0, hi = box->n_recs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (box->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long index_mailbox_find_uid(const struct index_mailbox *box, uint32_t uid)
{
	size_t i = index_mailbox_lower_bound(box, uid);
	if (i < box->n_recs && box->recs[i].uid == uid)
		return (long)i;
	return -1;
}

uint64_t index_user_message_count(const struct index_user *user)
{
	uint64_t n = 0;
	for (size_t i = 0; i < user->n_boxes; i++)
		n += user->boxes[i]->n_recs;
	return n;
}

/* A keyword is an IMAP atom without the atom-specials and without '\'. */
static bool index_keyword_valid(const char *kw)
{
	size_t len = strlen(kw);
	if (len == 0 || len > INDEX_MAX_FLAG_LEN)
		return false;
	for (const unsigned char *p = (const void *)kw; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	}
	return true;
}

int index_flags_parse(struct index_mailbox *box, char *const *flags,
		      size_t n, bool add, uint8_t *sys_r, uint64_t *kw_r,
		      const char **error_r)
{
	uint8_t sys = 0;
	uint64_t kw = 0;
	for (size_t i = 0; i < n; i++) {
		const char *f = flags[i];
		if (f[0] == '\\') {
			size_t b;
			for (b = 0; b < INDEX_N_SYSFLAGS; b++) {
				if (strcasecmp(f, index_sysflag_names[b]) == 0)
					break;
			}
			if (b == INDEX_N_SYSFLAGS) {
				*error_r = strcasecmp(f, "\\Recent") == 0 ?
					"\\Recent cannot be stored" :
					"unknown system flag";
				return -1;
			}
			sys |= (uint8_t)(1u << b);
			continue;
		}
		if (!index_keyword_valid(f)) {
			*error_r = "invalid keyword";
			return -1;
		}
		size_t k;
		for (k = 0; k < box->n_keywords; k++) {
			if (strcasecmp(box->keywords[k], f) == 0)
				break;
		}
		if (k == box->n_keywords) {
			if (!add)
				continue;	/* removing an unknown keyword */
			if (box->n_keywords >= INDEX_MAX_KEYWORDS) {
				*error_r = "too many keywords in mailbox";
				return -1;
			}
			box->keywords[box->n_keywords++] = xstrdup(f);
		}
		kw |= 1ull << k;
	}
	*sys_r = sys;
	*kw_r = kw;
	return 0;
}

const char **index_flags_names(const struct index_mailbox *box, uint8_t sys,
			       uint64_t kw, size_t *n_r)
{
	const char **names = xcalloc(INDEX_N_SYSFLAGS + INDEX_MAX_KEYWORDS + 1,
				     sizeof(*names));
	size_t n = 0;
	for (size_t b = 0; b < INDEX_N_SYSFLAGS; b++) {
		if ((sys & (1u << b)) != 0)
			names[n++] = index_sysflag_names[b];
	}
	for (size_t k = 0; k < box->n_keywords; k++) {
		if ((kw & (1ull << k)) != 0)
			names[n++] = box->keywords[k];
	}
	*n_r = n;
	return names;
}

void index_record_to_pb(const struct index_record *rec,
			Stratus__Indexfile__Record *pb,
			Stratus__Indexfile__Cached **cached_buf,
			Stratus__Indexfile__Cached *cached_store,
			bool with_cached)
{
	stratus__indexfile__record__init(pb);
	pb->uid = rec->uid;
	pb->guid = rec->guid != NULL ? rec->guid : "";
	pb->object_id = rec->object_id != NULL ? rec->object_id : "";
	pb->sysflags = rec->sysflags;
	pb->keywords = rec->keywords;
	pb->modseq = rec->modseq;
	pb->internal_date = rec->internal_date;
	pb->save_date = rec->save_date;
	pb->psize = rec->psize;
	pb->vsize = rec->vsize;
	if (!with_cached || rec->n_cached == 0)
		return;
	for (size_t i = 0; i < rec->n_cached; i++) {
		stratus__indexfile__cached__init(&cached_store[i]);
		cached_store[i].name = rec->cached[i].name;
		cached_store[i].value.data = rec->cached[i].data;
		cached_store[i].value.len = rec->cached[i].len;
		cached_buf[i] = &cached_store[i];
	}
	pb->cached = cached_buf;
	pb->n_cached = rec->n_cached;
}

void index_record_from_pb(struct index_record *rec,
			  const Stratus__Indexfile__Record *pb)
{
	memset(rec, 0, sizeof(*rec));
	rec->uid = pb->uid;
	rec->guid = xstrdup(pb->guid);
	rec->object_id = xstrdup(pb->object_id);
	rec->sysflags = (uint8_t)(pb->sysflags & INDEX_FLAGS_ALL);
	rec->keywords = pb->keywords;
	rec->modseq = pb->modseq;
	rec->internal_date = pb->internal_date;
	rec->save_date = pb->save_date;
	rec->psize = pb->psize;
	rec->vsize = pb->vsize;
	index_record_cached_from_pb(rec, pb->cached, pb->n_cached);
}

void index_record_cached_from_pb(struct index_record *rec,
				 Stratus__Indexfile__Cached *const *cached,
				 size_t n)
{
	if (n == 0)
		return;
	/* One block: the array, then each name and value NUL-terminated,
	 * so a record's cached fields cost one malloc and one free. */
	size_t total = n * sizeof(*rec->cached);
	for (size_t i = 0; i < n; i++)
		total += strlen(cached[i]->name) + 1 + cached[i]->value.len + 1;
	uint8_t *block = xmalloc(total);
	struct index_cached *fields = (struct index_cached *)(void *)block;
	uint8_t *p = block + n * sizeof(*rec->cached);
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(cached[i]->name) + 1;
		memcpy(p, cached[i]->name, nl);
		fields[i].name = (char *)p;
		p += nl;
		fields[i].len = cached[i]->value.len;
		fields[i].data = p;
		if (fields[i].len > 0)
			memcpy(p, cached[i]->value.data, fields[i].len);
		p[fields[i].len] = '\0';
		p += fields[i].len + 1;
	}
	rec->cached = fields;
	rec->n_cached = n;
}
