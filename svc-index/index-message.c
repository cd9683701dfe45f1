/* svc-index: changes to existing messages: flag/keyword stores with
 * CONDSTORE modseqs and UNCHANGEDSINCE, expunges (with the list of
 * objects no longer referenced, for the caller to delete), and COPY/MOVE
 * records into another mailbox in one transaction. */
#include "index-mailbox.h"
#include "index-notify.h"
#include "buf.h"
#include "common.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ST_OK 0
#define ST_INVALID STRATUS__STATUS__STATUS_INVALID
#define ST_TEMPFAIL STRATUS__STATUS__STATUS_TEMPFAIL
#define ST_LIMIT STRATUS__STATUS__STATUS_LIMIT

/* The new flags of one record under a STORE mode. */
static void index_store_apply_mode(Stratus__IndexStoreMode mode,
				   const struct index_record *r, uint8_t sys,
				   uint64_t kw, uint8_t *nsys_r,
				   uint64_t *nkw_r)
{
	switch (mode) {
	case STRATUS__INDEX_STORE_MODE__INDEX_STORE_ADD:
		*nsys_r = r->sysflags | sys;
		*nkw_r = r->keywords | kw;
		break;
	case STRATUS__INDEX_STORE_MODE__INDEX_STORE_REMOVE:
		*nsys_r = r->sysflags & (uint8_t)~sys;
		*nkw_r = r->keywords & ~kw;
		break;
	default:
		*nsys_r = sys;
		*nkw_r = kw;
		break;
	}
}

int index_mailbox_store(struct index_user *user, struct index_mailbox *box,
			const Stratus__IndexStoreRequest *req,
			Stratus__IndexStoreReply *reply, const char **error_r)
{
	size_t old_kw = box->n_keywords;
	uint8_t sys;
	uint64_t kw;
	bool add = req->mode != STRATUS__INDEX_STORE_MODE__INDEX_STORE_REMOVE;
	if (index_flags_parse(box, req->flags, req->n_flags, add, &sys, &kw,
			      error_r) < 0) {
		index_kw_rollback(box, old_kw);
		return ST_INVALID;
	}
	uint64_t modseq = box->highest_modseq + 1;
	/* Only the records in the UID set are visited (binary search per
	 * span), and the arrays grow with the matches: a one-message STORE
	 * in a 100,000-message mailbox costs what it does in a small one. */
	size_t n_spans;
	struct index_uid_span *spans = index_uid_spans(req->uids, req->n_uids,
						       &n_spans);
	size_t cap = 0, n = 0;
	Stratus__Indexfile__Record *recs = NULL;
	for (size_t s = 0; s < n_spans; s++) {
		for (size_t i = index_mailbox_lower_bound(box, spans[s].first);
		     i < box->n_recs && box->recs[i].uid <= spans[s].last; i++) {
			const struct index_record *r = &box->recs[i];
			if (req->unchanged_since != 0 &&
			    r->modseq > req->unchanged_since) {
				reply->modified = xreallocarray(reply->modified,
					reply->n_modified + 1,
					sizeof(*reply->modified));
				reply->modified[reply->n_modified++] = r->uid;
				continue;
			}
			uint8_t nsys;
			uint64_t nkw;
			index_store_apply_mode(req->mode, r, sys, kw, &nsys,
					       &nkw);
			if (nsys == r->sysflags && nkw == r->keywords)
				continue;
			if (n == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				recs = xreallocarray(recs, cap, sizeof(*recs));
			}
			stratus__indexfile__record__init(&recs[n]);
			recs[n].uid = r->uid;
			recs[n].sysflags = nsys;
			recs[n].keywords = nkw;
			recs[n].modseq = modseq;
			n++;
		}
	}
	free(spans);
	Stratus__Indexfile__Record **rp = xcalloc(n + 1, sizeof(*rp));
	for (size_t i = 0; i < n; i++)
		rp[i] = &recs[i];
	int ret = ST_OK;
	if (n > 0) {
		Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
		Stratus__Indexfile__Op *ops[] = { &op };
		op.kind = STRATUS__INDEXFILE__OP_KIND__OP_FLAGS;
		op.mailbox_guid = box->guid;
		op.records = rp;
		op.n_records = n;
		struct index_kw_undo undo;
		index_kw_prepare(box, old_kw, &op, &undo);
		if (index_user_commit(user, ops, 1, error_r) < 0)
			ret = ST_TEMPFAIL;
		index_kw_finish(&undo);
	} else {
		/* Nothing changed: keep no keyword nobody uses. */
		index_kw_rollback(box, old_kw);
	}
	if (ret == ST_OK && n > 0) {
		reply->updated = xcalloc(n, sizeof(*reply->updated));
		for (size_t i = 0; i < n; i++) {
			Stratus__IndexFlagUpdate *u = xcalloc(1, sizeof(*u));
			stratus__index_flag_update__init(u);
			u->uid = recs[i].uid;
			u->modseq = modseq;
			size_t nf;
			u->flags = (char **)index_flags_names(box,
				(uint8_t)recs[i].sysflags, recs[i].keywords,
				&nf);
			u->n_flags = nf;
			reply->updated[reply->n_updated++] = u;
		}
		index_notify_changed(user->svc, box);
	}
	reply->highest_modseq = box->highest_modseq;
	free(recs);
	free(rp);
	return ret;
}

void index_store_reply_clear(Stratus__IndexStoreReply *reply)
{
	for (size_t i = 0; i < reply->n_updated; i++) {
		free(reply->updated[i]->flags);
		free(reply->updated[i]);
	}
	free(reply->updated);
	free(reply->modified);
}

static int index_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Object ids of the expunged records that no other record of the user
 * references any more. One pass over the user's records, with the
 * candidates sorted for bsearch. */
static void index_unreferenced(const struct index_user *user,
			       struct index_mailbox *box, const uint32_t *uids,
			       size_t n, Stratus__IndexExpungeReply *reply)
{
	char **cand = xcalloc(n + 1, sizeof(*cand));
	bool *used = xcalloc(n + 1, sizeof(*used));
	size_t nc = 0;
	for (size_t i = 0; i < n; i++) {
		long idx = index_mailbox_find_uid(box, uids[i]);
		if (idx >= 0 && box->recs[idx].object_id[0] != '\0')
			cand[nc++] = box->recs[idx].object_id;
	}
	qsort(cand, nc, sizeof(*cand), index_cmp_str);
	for (size_t b = 0; b < user->n_boxes; b++) {
		const struct index_mailbox *mb = user->boxes[b];
		for (size_t i = 0; i < mb->n_recs; i++) {
			const struct index_record *r = &mb->recs[i];
			char **hit = bsearch(&r->object_id, cand, nc,
					     sizeof(*cand), index_cmp_str);
			if (hit == NULL)
				continue;
			/* A record being expunged does not keep it alive. */
			if (mb == box) {
				size_t lo = 0, hi = n;
				bool expunged = false;
				while (lo < hi) {
					size_t mid = (lo + hi) / 2;
					if (uids[mid] == r->uid) {
						expunged = true;
						break;
					}
					if (uids[mid] < r->uid)
						lo = mid + 1;
					else
						hi = mid;
				}
				if (expunged)
					continue;
			}
			/* mark the whole run of equal candidates */
			size_t h = (size_t)(hit - cand);
			while (h > 0 && strcmp(cand[h - 1], *hit) == 0)
				h--;
			for (; h < nc && strcmp(cand[h], r->object_id) == 0; h++)
				used[h] = true;
		}
	}
	reply->unreferenced_object_ids = xcalloc(nc + 1, sizeof(char *));
	for (size_t i = 0; i < nc; i++) {
		if (used[i] || (i > 0 && strcmp(cand[i], cand[i - 1]) == 0))
			continue;
		reply->unreferenced_object_ids[
			reply->n_unreferenced_object_ids++] = xstrdup(cand[i]);
	}
	free(cand);
	free(used);
}

int index_mailbox_expunge(struct index_user *user, struct index_mailbox *box,
			  const Stratus__IndexExpungeRequest *req,
			  Stratus__IndexExpungeReply *reply,
			  const char **error_r)
{
	size_t begin, end;
	index_ranges_span(box, req->uids, req->n_uids, true, &begin, &end);
	uint32_t *uids = xcalloc(end - begin + 1, sizeof(*uids));
	size_t n = 0;
	for (size_t i = begin; i < end; i++) {
		const struct index_record *r = &box->recs[i];
		if (!index_uid_in_ranges(r->uid, req->uids, req->n_uids, true))
			continue;
		if (req->only_deleted &&
		    (r->sysflags & INDEX_FLAG_DELETED) == 0)
			continue;
		uids[n++] = r->uid;
	}
	reply->expunged = uids;
	if (n == 0) {
		reply->highest_modseq = box->highest_modseq;
		return ST_OK;
	}
	index_unreferenced(user, box, uids, n, reply);
	Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Op *ops[] = { &op };
	op.kind = STRATUS__INDEXFILE__OP_KIND__OP_EXPUNGE;
	op.mailbox_guid = box->guid;
	op.uids = uids;
	op.n_uids = n;
	op.modseq = box->highest_modseq + 1;
	if (index_user_commit(user, ops, 1, error_r) < 0)
		return ST_TEMPFAIL;
	reply->n_expunged = n;
	reply->highest_modseq = box->highest_modseq;
	index_notify_changed(user->svc, box);
	return ST_OK;
}

void index_expunge_reply_clear(Stratus__IndexExpungeReply *reply)
{
	free(reply->expunged);
	for (size_t i = 0; i < reply->n_unreferenced_object_ids; i++)
		free(reply->unreferenced_object_ids[i]);
	free(reply->unreferenced_object_ids);
}

/* Maps the source's keyword bits to the destination's table (adding
 * keywords the destination lacks). -1 when its table is full. */
static int index_copy_keywords(const struct index_mailbox *src,
			       struct index_mailbox *dest, uint64_t kw,
			       uint64_t *out_r, const char **error_r)
{
	uint8_t sys;
	char *names[INDEX_MAX_KEYWORDS];
	size_t n = 0;
	for (size_t k = 0; k < src->n_keywords; k++) {
		if ((kw & (1ull << k)) != 0)
			names[n++] = src->keywords[k];
	}
	return index_flags_parse(dest, names, n, true, &sys, out_r, error_r);
}

int index_mailbox_copy(struct index_user *user, struct index_mailbox *src,
		       struct index_mailbox *dest,
		       const Stratus__IndexCopyRequest *req,
		       Stratus__IndexCopyReply *reply, const char **error_r)
{
	size_t n = 0;
	for (size_t i = 0; i < src->n_recs; i++) {
		if (index_uid_in_ranges(src->recs[i].uid, req->uids,
					req->n_uids, false))
			n++;
	}
	reply->dest_uidvalidity = dest->uidvalidity;
	if (n == 0)
		return ST_OK;
	if (req->n_dest_object_ids != 0 && req->n_dest_object_ids != n) {
		*error_r = "dest_object_ids does not match the copied UIDs";
		return ST_INVALID;
	}
	if (src == dest && req->move) {
		*error_r = "cannot move into the same mailbox";
		return ST_INVALID;
	}
	if ((uint64_t)dest->uidnext + n >= UINT32_MAX) {
		*error_r = "mailbox UID space exhausted";
		return ST_LIMIT;
	}
	size_t old_kw = dest->n_keywords;
	uint64_t modseq = dest->highest_modseq + 1;
	int64_t now = (int64_t)time(NULL);
	Stratus__Indexfile__Record *recs = xcalloc(n, sizeof(*recs));
	Stratus__Indexfile__Record **rp = xcalloc(n, sizeof(*rp));
	size_t n_cached = 0;
	for (size_t i = 0; i < src->n_recs; i++) {
		/* copies keep the cached fields: load a lazy chunk's */
		if (index_uid_in_ranges(src->recs[i].uid, req->uids,
					req->n_uids, false))
			index_box_cached_load(src, i, i + 1);
		n_cached += src->recs[i].n_cached;
	}
	Stratus__Indexfile__Cached **cb = xcalloc(n_cached + 1, sizeof(*cb));
	Stratus__Indexfile__Cached *cs = xcalloc(n_cached + 1, sizeof(*cs));
	reply->src_uids = xcalloc(n, sizeof(uint32_t));
	reply->dest_uids = xcalloc(n, sizeof(uint32_t));
	size_t j = 0, c = 0;
	int ret = ST_OK;
	for (size_t i = 0; i < src->n_recs && j < n; i++) {
		const struct index_record *r = &src->recs[i];
		if (!index_uid_in_ranges(r->uid, req->uids, req->n_uids, false))
			continue;
		index_record_to_pb(r, &recs[j], cb + c, cs + c, true);
		c += r->n_cached;
		if (index_copy_keywords(src, dest, r->keywords,
					&recs[j].keywords, error_r) < 0) {
			index_kw_rollback(dest, old_kw);
			ret = ST_LIMIT;
			goto out;
		}
		recs[j].uid = dest->uidnext + (uint32_t)j;
		recs[j].modseq = modseq;
		/* RFC 8514: the save date is when the message came into
		 * the mailbox it is in now, so a copy gets its own. */
		recs[j].save_date = now;
		if (req->n_dest_object_ids > 0)
			recs[j].object_id = req->dest_object_ids[j];
		rp[j] = &recs[j];
		reply->src_uids[j] = r->uid;
		reply->dest_uids[j] = recs[j].uid;
		j++;
	}
	reply->n_src_uids = reply->n_dest_uids = n;
	Stratus__Indexfile__Op append = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Op expunge = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Op *ops[] = { &append, &expunge };
	append.kind = STRATUS__INDEXFILE__OP_KIND__OP_APPEND;
	append.mailbox_guid = dest->guid;
	append.records = rp;
	append.n_records = n;
	expunge.kind = STRATUS__INDEXFILE__OP_KIND__OP_EXPUNGE;
	expunge.mailbox_guid = src->guid;
	expunge.uids = reply->src_uids;
	expunge.n_uids = n;
	expunge.modseq = src->highest_modseq + 1;
	struct index_kw_undo undo;
	index_kw_prepare(dest, old_kw, &append, &undo);
	if (index_user_commit(user, ops, req->move ? 2 : 1, error_r) < 0)
		ret = ST_TEMPFAIL;
	index_kw_finish(&undo);
	if (ret == ST_OK) {
		if (req->move) {
			reply->expunged = xcalloc(n, sizeof(uint32_t));
			memcpy(reply->expunged, reply->src_uids,
			       n * sizeof(uint32_t));
			reply->n_expunged = n;
			index_notify_changed(user->svc, src);
		}
		index_notify_changed(user->svc, dest);
	}
out:
	free(recs);
	free(rp);
	free(cb);
	free(cs);
	return ret;
}

void index_copy_reply_clear(Stratus__IndexCopyReply *reply)
{
	free(reply->src_uids);
	free(reply->dest_uids);
	free(reply->expunged);
}
