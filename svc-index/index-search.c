/* svc-index: evaluates an IMAP search key tree against one mailbox's
 * records in three-valued logic: a key the index cannot decide (BODY,
 * an uncached header) is MAYBE, and the caller checks MAYBE messages
 * against the bodies. Dates compare by day in the given time zone, as
 * RFC 3501 asks for BEFORE/ON/SINCE. */
#include "index-search.h"
#include "index-mailbox.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum tri { T_NO = 0, T_YES = 1, T_MAYBE = 2 };

#define DAY_SECS 86400

static int64_t index_day(int64_t t, int32_t tz)
{
	int64_t v = t + tz;
	return v >= 0 ? v / DAY_SECS : -((-v + DAY_SECS - 1) / DAY_SECS);
}

static enum tri tri_not(enum tri a)
{
	return a == T_MAYBE ? T_MAYBE : (a == T_YES ? T_NO : T_YES);
}

static const struct index_cached *index_find_cached(
	const struct index_record *r, const char *name)
{
	for (size_t i = 0; i < r->n_cached; i++) {
		if (strcasecmp(r->cached[i].name, name) == 0)
			return &r->cached[i];
	}
	return NULL;
}

/* THREADID (IMAP OBJECTID): the thread id svc-imap or svc-lmtp cached at
 * APPEND or delivery; a message without one is a thread of its own,
 * named by its GUID. */
static bool index_threadid_is(const struct index_record *r, const char *id)
{
	const struct index_cached *c = index_find_cached(r, "threadid");
	if (c != NULL && c->len > 0)
		return c->len == strlen(id) && memcmp(c->data, id, c->len) == 0;
	return r->guid != NULL && strcmp(r->guid, id) == 0;
}

/* Case-insensitive substring search in bytes that need not end in NUL. */
static bool index_contains(const uint8_t *hay, size_t len, const char *needle)
{
	size_t nl = strlen(needle);
	if (nl == 0)
		return true;
	for (size_t i = 0; i + nl <= len; i++) {
		if (strncasecmp((const char *)hay + i, needle, nl) == 0)
			return true;
	}
	return false;
}

static enum tri index_eval(const struct index_mailbox *box,
			   const struct index_record *r,
			   const Stratus__IndexSearchKey *k, int32_t tz,
			   unsigned int depth)
{
	if (depth > INDEX_SEARCH_MAX_DEPTH)
		return T_NO;
	int64_t day = k->number;
	switch (k->op) {
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ALL:
		return T_YES;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_AND: {
		enum tri res = T_YES;
		for (size_t i = 0; i < k->n_sub; i++) {
			enum tri t = index_eval(box, r, k->sub[i], tz, depth + 1);
			if (t == T_NO)
				return T_NO;
			if (t == T_MAYBE)
				res = T_MAYBE;
		}
		return res;
	}
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_OR: {
		enum tri res = T_NO;
		for (size_t i = 0; i < k->n_sub; i++) {
			enum tri t = index_eval(box, r, k->sub[i], tz, depth + 1);
			if (t == T_YES)
				return T_YES;
			if (t == T_MAYBE)
				res = T_MAYBE;
		}
		return res;
	}
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_NOT:
		if (k->n_sub == 0)
			return T_NO;
		return tri_not(index_eval(box, r, k->sub[0], tz, depth + 1));
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_FLAG: {
		uint8_t sys;
		uint64_t kw;
		const char *err;
		char *flag = k->text;
		/* Lookup only: a keyword nobody set matches nothing. */
		if (index_flags_parse((struct index_mailbox *)box, &flag, 1,
				      false, &sys, &kw, &err) < 0)
			return T_NO;
		if (sys == 0 && kw == 0)
			return T_NO;
		return ((r->sysflags & sys) == sys && (r->keywords & kw) == kw) ?
			T_YES : T_NO;
	}
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_UID:
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_RECENT:
		return index_uid_in_ranges(r->uid, k->uids, k->n_uids, false) ?
			T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_LARGER:
		return (int64_t)r->vsize > k->number ? T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SMALLER:
		return (int64_t)r->vsize < k->number ? T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_BEFORE:
		return index_day(r->internal_date, tz) < index_day(day, 0) ?
			T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ON:
		return index_day(r->internal_date, tz) == index_day(day, 0) ?
			T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SINCE:
		return index_day(r->internal_date, tz) >= index_day(day, 0) ?
			T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ARRIVED_BEFORE:
		return r->internal_date < k->number ? T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ARRIVED_SINCE:
		return r->internal_date >= k->number ? T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDBEFORE:
		return index_day(r->save_date, tz) < index_day(day, 0) ?
			T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDON:
		return index_day(r->save_date, tz) == index_day(day, 0) ?
			T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDSINCE:
		return index_day(r->save_date, tz) >= index_day(day, 0) ?
			T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_MODSEQ:
		return (int64_t)r->modseq >= k->number ? T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_GUID:
		return r->guid != NULL && strcmp(r->guid, k->text) == 0 ?
			T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_THREADID:
		return index_threadid_is(r, k->text) ? T_YES : T_NO;
	case STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_HEADER: {
		char name[INDEX_MAX_FLAG_LEN + 8];
		snprintf(name, sizeof(name), "hdr.%s", k->field);
		const struct index_cached *c = index_find_cached(r, name);
		if (c == NULL)
			return T_MAYBE;
		return index_contains(c->data, c->len, k->text) ? T_YES : T_NO;
	}
	default:
		return T_MAYBE;	/* BODY, TEXT and what a newer caller sends */
	}
}

/* HEADER and THREADID read cached fields; the other keys do not. */
static bool index_search_needs_cached(const Stratus__IndexSearchKey *k,
				      unsigned int depth)
{
	if (depth > 64)
		return true;
	if (k->op == STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_HEADER ||
	    k->op == STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_THREADID)
		return true;
	for (size_t i = 0; i < k->n_sub; i++) {
		if (index_search_needs_cached(k->sub[i], depth + 1))
			return true;
	}
	return false;
}

int index_search_run(struct index_mailbox *box,
		     const Stratus__IndexSearchRequest *req,
		     Stratus__IndexSearchReply *reply, const char **error_r)
{
	Stratus__IndexSearchKey all = STRATUS__INDEX_SEARCH_KEY__INIT;
	const Stratus__IndexSearchKey *key = req->key != NULL ? req->key : &all;
	(void)error_r;
	if (index_search_needs_cached(key, 0))
		index_box_cached_load(box, 0, box->n_recs);
	reply->uids = xcalloc(box->n_recs + 1, sizeof(uint32_t));
	reply->maybe_uids = xcalloc(box->n_recs + 1, sizeof(uint32_t));
	for (size_t i = 0; i < box->n_recs; i++) {
		const struct index_record *r = &box->recs[i];
		switch (index_eval(box, r, key, req->tz_offset_secs, 0)) {
		case T_YES:
			reply->uids[reply->n_uids++] = r->uid;
			if (r->modseq > reply->max_match_modseq)
				reply->max_match_modseq = r->modseq;
			break;
		case T_MAYBE:
			reply->maybe_uids[reply->n_maybe_uids++] = r->uid;
			break;
		default:
			break;
		}
	}
	reply->highest_modseq = box->highest_modseq;
	return 0;
}
