/* The body check of SEARCH (see imap-search.h): the same key tree svc-index
 * evaluated, now decided for one message with its body. Text matching is
 * ASCII case-insensitive substring search on RFC 2047-decoded header
 * values and on the body decoded by its Content-Transfer-Encoding. */
#include "imap-search.h"
#include "mail-decode.h"
#include "mail-header.h"
#include "mail-parser.h"
#include "mail-threadid.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool ci_contains(const char *h, size_t hl, const char *needle)
{
	size_t nl = strlen(needle);
	if (nl == 0)
		return true;
	for (size_t i = 0; i + nl <= hl; i++) {
		if (strncasecmp(h + i, needle, nl) == 0)
			return true;
	}
	return false;
}

void imap_search_msg_init(struct imap_search_msg *sm,
			  const Stratus__IndexMessage *m, const char *data,
			  size_t size)
{
	memset(sm, 0, sizeof(*sm));
	sm->m = m;
	sm->data = data;
	sm->size = size;
	struct mail_part *root = mail_parse(data, size);
	sm->body_offset = (size_t)mail_part_body_offset(root);
	if (sm->body_offset > size)
		sm->body_offset = size;
	mail_part_free(&root);
	struct buf cte = BUF_INIT;
	bool has = mail_header_get(data, sm->body_offset,
				   "Content-Transfer-Encoding", 0, &cte);
	mail_decode_body(has ? cte.data : NULL, data + sm->body_offset,
			 size - sm->body_offset, &sm->text);
	buf_free(&cte);
}

void imap_search_msg_free(struct imap_search_msg *sm)
{
	buf_free(&sm->text);
}

static bool header_match(const struct imap_search_msg *sm, const char *field,
			 const char *text)
{
	struct mail_header_iter it;
	struct mail_header_field f;
	bool found = false;
	mail_header_iter_init(&it, sm->data, sm->body_offset);
	while (!found && mail_header_iter_next(&it, &f)) {
		if (!mail_header_name_is(&f, field))
			continue;
		struct buf raw = BUF_INIT, dec = BUF_INIT;
		mail_header_value_unfold(f.value, f.value_len, &raw);
		mail_decode_rfc2047(raw.data != NULL ? raw.data : "", raw.len,
				    &dec);
		found = ci_contains(dec.data != NULL ? dec.data : "", dec.len,
				    text);
		buf_free(&raw);
		buf_free(&dec);
	}
	return found;
}

static int64_t day_of(int64_t t)
{
	return (t >= 0 ? t : t - 86399) / 86400;
}

static bool sent_date_match(const struct imap_search_msg *sm,
			    const Stratus__IndexSearchKey *k)
{
	struct buf v = BUF_INIT;
	time_t t;
	int tz;
	bool ok = mail_header_get(sm->data, sm->body_offset, "Date", 0, &v) &&
		  mail_parse_date(v.data, v.len, &t, &tz);
	buf_free(&v);
	if (!ok)
		return false;
	/* RFC 3501: the date of the Date: header, zone disregarded. */
	int64_t day = day_of((int64_t)t + tz * 60), want = day_of(k->number);
	if (strcmp(k->field, IMAP_SEARCH_FIELD_SENTBEFORE) == 0)
		return day < want;
	if (strcmp(k->field, IMAP_SEARCH_FIELD_SENTON) == 0)
		return day == want;
	return day >= want;
}

static bool in_ranges(uint32_t uid, Stratus__IndexUidRange *const *r,
		      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (uid >= r[i]->first && (r[i]->last == 0 || uid <= r[i]->last))
			return true;
	}
	return false;
}

bool imap_search_match(const Stratus__IndexSearchKey *k,
		       const struct imap_search_msg *sm, int tz)
{
	const Stratus__IndexMessage *m = sm->m;
	switch (k->op) {
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ALL:
		return true;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_AND:
		for (size_t i = 0; i < k->n_sub; i++) {
			if (!imap_search_match(k->sub[i], sm, tz))
				return false;
		}
		return true;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_OR:
		for (size_t i = 0; i < k->n_sub; i++) {
			if (imap_search_match(k->sub[i], sm, tz))
				return true;
		}
		return false;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_NOT:
		return k->n_sub > 0 && !imap_search_match(k->sub[0], sm, tz);
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_FLAG:
		for (size_t i = 0; i < m->n_flags; i++) {
			if (strcasecmp(m->flags[i], k->text) == 0)
				return true;
		}
		return false;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_UID:
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_RECENT:
		return in_ranges(m->uid, k->uids, k->n_uids);
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_LARGER:
		return (int64_t)m->virtual_size > k->number;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SMALLER:
		return (int64_t)m->virtual_size < k->number;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_BEFORE:
		return day_of(m->internal_date + tz) < day_of(k->number);
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ON:
		return day_of(m->internal_date + tz) == day_of(k->number);
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SINCE:
		return day_of(m->internal_date + tz) >= day_of(k->number);
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ARRIVED_BEFORE:
		return m->internal_date < k->number;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ARRIVED_SINCE:
		return m->internal_date >= k->number;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDBEFORE:
		return day_of(m->save_date + tz) < day_of(k->number);
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDON:
		return day_of(m->save_date + tz) == day_of(k->number);
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDSINCE:
		return day_of(m->save_date + tz) >= day_of(k->number);
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_MODSEQ:
		return (int64_t)m->modseq >= k->number;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_GUID:
		return strcmp(m->guid, k->text) == 0;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_THREADID: {
		/* the same id APPEND and delivery cached, from the header */
		char id[MAIL_THREADID_LEN + 1];
		if (!mail_threadid(sm->data, sm->body_offset, id))
			return strcmp(m->guid, k->text) == 0;
		return strcmp(id, k->text) == 0;
	}
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_HEADER:
		return header_match(sm, k->field, k->text);
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_BODY:
		if (k->field[0] == 's')
			return sent_date_match(sm, k);
		if (strcmp(k->field, IMAP_SEARCH_FIELD_TEXT) == 0 &&
		    ci_contains(sm->data, sm->body_offset, k->text))
			return true;
		return ci_contains(sm->text.data != NULL ? sm->text.data : "",
				   sm->text.len, k->text);
	default:
		return false;
	}
}
