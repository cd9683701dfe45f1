/* svc-index: mailbox and message operations on a loaded user. Each one
 * checks its whole input first, builds one transaction (index-file.proto
 * ops), commits it through index_user_commit() and then wakes the
 * mailbox's waiters, so a failed check changes nothing. */
#include "index-mailbox.h"
#include "index-notify.h"
#include "buf.h"
#include "common.pb-c.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ST_OK 0
#define ST_INVALID STRATUS__STATUS__STATUS_INVALID
#define ST_NOT_FOUND STRATUS__STATUS__STATUS_NOT_FOUND
#define ST_EXISTS STRATUS__STATUS__STATUS_EXISTS
#define ST_DENIED STRATUS__STATUS__STATUS_DENIED
#define ST_TEMPFAIL STRATUS__STATUS__STATUS_TEMPFAIL
#define ST_LIMIT STRATUS__STATUS__STATUS_LIMIT

/* index_flags_parse() adds new keywords to the mailbox table at once;
 * the op must carry the grown table and apply must add it, so the table
 * is rolled back to its old size before commit (and the parse-time
 * copies freed after apply duplicated them). */
void index_kw_prepare(struct index_mailbox *box, size_t old,
		      Stratus__Indexfile__Op *op, struct index_kw_undo *u)
{
	u->old = old;
	u->new = box->n_keywords;
	u->copy = NULL;
	if (u->new == old)
		return;
	u->copy = xcalloc(u->new, sizeof(char *));
	for (size_t k = 0; k < u->new; k++)
		u->copy[k] = box->keywords[k];
	op->keywords = u->copy;
	op->n_keywords = u->new;
	box->n_keywords = old;
}

void index_kw_finish(struct index_kw_undo *u)
{
	for (size_t k = u->old; k < u->new; k++)
		free(u->copy[k]);
	free(u->copy);
}

void index_kw_rollback(struct index_mailbox *box, size_t old)
{
	for (size_t k = old; k < box->n_keywords; k++)
		free(box->keywords[k]);
	box->n_keywords = old;
}

static char index_sep(const struct index_user *user)
{
	return user->svc->set.sep;
}

/* A checked, normalised copy of a wire name (free it), or NULL. */
static char *index_name_dup(const struct index_user *user, const char *name,
			    const char **error_r)
{
	char *n = xstrdup(name);
	if (index_name_check(n, index_sep(user), error_r) < 0) {
		free(n);
		return NULL;
	}
	return n;
}

int index_mailbox_lookup(struct index_user *user, const char *name,
			 struct index_mailbox **box_r, const char **error_r)
{
	char *n = index_name_dup(user, name, error_r);
	if (n == NULL)
		return ST_INVALID;
	*box_r = index_user_find_box(user, n);
	free(n);
	if (*box_r == NULL) {
		*error_r = "mailbox does not exist";
		return ST_NOT_FOUND;
	}
	return ST_OK;
}

static int index_span_cmp(const void *a, const void *b)
{
	const struct index_uid_span *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

struct index_uid_span *index_uid_spans(Stratus__IndexUidRange *const *r,
				       size_t n, size_t *n_r)
{
	struct index_uid_span *s = xcalloc(n + 1, sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		uint32_t first = r[i]->first, last = r[i]->last;
		if (last == 0)
			last = UINT32_MAX;
		else if (last < first) {
			uint32_t t = first;
			first = last;
			last = t;
		}
		s[i].first = first;
		s[i].last = last;
	}
	qsort(s, n, sizeof(*s), index_span_cmp);
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (out > 0 && (s[out - 1].last == UINT32_MAX ||
				s[i].first <= s[out - 1].last + 1)) {
			if (s[i].last > s[out - 1].last)
				s[out - 1].last = s[i].last;
			continue;
		}
		s[out++] = s[i];
	}
	*n_r = out;
	return s;
}

/* A range as first <= last (a reversed one swapped; last 0 = "*"). */
static void index_range_bounds(const Stratus__IndexUidRange *r,
			       uint32_t *first_r, uint32_t *last_r)
{
	*first_r = r->first;
	*last_r = r->last;
	if (r->last != 0 && r->last < r->first) {
		*first_r = r->last;
		*last_r = r->first;
	}
}

bool index_uid_in_ranges(uint32_t uid, Stratus__IndexUidRange *const *r,
			 size_t n, bool empty_all)
{
	if (n == 0)
		return empty_all;
	for (size_t i = 0; i < n; i++) {
		uint32_t first, last;
		index_range_bounds(r[i], &first, &last);
		if (uid >= first && (last == 0 || uid <= last))
			return true;
	}
	return false;
}

void index_ranges_span(const struct index_mailbox *box,
		       Stratus__IndexUidRange *const *r, size_t n,
		       bool empty_all, size_t *begin_r, size_t *end_r)
{
	if (n == 0) {
		*begin_r = 0;
		*end_r = empty_all ? box->n_recs : 0;
		return;
	}
	uint32_t lo = UINT32_MAX, hi = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t first, last;
		index_range_bounds(r[i], &first, &last);
		if (first < lo)
			lo = first;
		if (last == 0 || last == UINT32_MAX)
			hi = UINT32_MAX;
		else if (last > hi)
			hi = last;
	}
	*begin_r = index_mailbox_lower_bound(box, lo);
	*end_r = hi == UINT32_MAX ? box->n_recs :
		index_mailbox_lower_bound(box, hi + 1);
	if (*end_r < *begin_r)
		*end_r = *begin_r;
}

void index_status_fill(const struct index_mailbox *box,
		       Stratus__IndexMailboxStatus *st)
{
	stratus__index_mailbox_status__init(st);
	st->name = box->name;
	st->guid = (char *)box->guid;
	st->uidvalidity = box->uidvalidity;
	st->uidnext = box->uidnext;
	st->highest_modseq = box->highest_modseq;
	st->messages = (uint32_t)box->n_recs;
	for (size_t i = 0; i < box->n_recs; i++) {
		const struct index_record *r = &box->recs[i];
		if ((r->sysflags & INDEX_FLAG_SEEN) == 0) {
			st->unseen++;
			if (st->first_unseen_seq == 0)
				st->first_unseen_seq = (uint32_t)i + 1;
		}
		if ((r->sysflags & INDEX_FLAG_DELETED) != 0)
			st->deleted++;
		if (r->uid >= box->first_recent_uid)
			st->recent++;
		st->vsize += r->vsize;
		st->psize += r->psize;
	}
	st->keywords = (char **)box->keywords;
	st->n_keywords = box->n_keywords;
	st->special_use = box->special_use;
	st->n_special_use = box->n_special_use;
}

void index_status_clear(Stratus__IndexMailboxStatus *st)
{
	(void)st;	/* everything is borrowed today */
}

static bool index_is_autobox(const struct index_user *user, const char *name)
{
	const struct index_settings *set = &user->svc->set;
	if (strcmp(name, "INBOX") == 0)
		return true;
	for (size_t i = 0; i < set->n_autoboxes; i++) {
		if (strcmp(set->autoboxes[i].name, name) == 0)
			return true;
	}
	return false;
}

static bool index_special_use_valid(const char *s)
{
	static const char *const known[] = {
		"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk",
		"\\Sent", "\\Trash", "\\Important",
	};
	for (size_t i = 0; i < N_ELEMENTS(known); i++) {
		if (strcmp(s, known[i]) == 0)
			return true;
	}
	return false;
}

int index_mailbox_create(struct index_user *user, const char *name,
			 char *const *special_use, size_t n_special_use,
			 struct index_mailbox **box_r, const char **error_r)
{
	char *n = index_name_dup(user, name, error_r);
	if (n == NULL)
		return ST_INVALID;
	for (size_t i = 0; i < n_special_use; i++) {
		if (!index_special_use_valid(special_use[i])) {
			*error_r = "unknown special-use flag";
			free(n);
			return ST_INVALID;
		}
	}
	if (index_user_find_box(user, n) != NULL) {
		*error_r = "mailbox already exists";
		free(n);
		return ST_EXISTS;
	}
	char guid[INDEX_GUID_LEN + 1];
	index_guid_new(guid);
	Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Op *ops[] = { &op };
	op.kind = STRATUS__INDEXFILE__OP_KIND__OP_CREATE;
	op.mailbox_guid = guid;
	op.name = n;
	op.uidvalidity = index_user_new_uidvalidity(user);
	op.special_use = (char **)special_use;
	op.n_special_use = n_special_use;
	int ret = index_user_commit(user, ops, 1, error_r) < 0 ?
		ST_TEMPFAIL : ST_OK;
	if (ret == ST_OK && box_r != NULL)
		*box_r = index_user_find_guid(user, guid);
	free(n);
	return ret;
}

static bool index_has_children(const struct index_user *user,
			       const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < user->n_boxes; i++) {
		const char *b = user->boxes[i]->name;
		if (strncmp(b, name, len) == 0 && b[len] == index_sep(user))
			return true;
	}
	return false;
}

int index_mailbox_delete(struct index_user *user, const char *name,
			 const char **error_r)
{
	struct index_mailbox *box;
	int ret = index_mailbox_lookup(user, name, &box, error_r);
	if (ret != ST_OK)
		return ret;
	if (index_is_autobox(user, box->name)) {
		*error_r = strcmp(box->name, "INBOX") == 0 ?
			"INBOX cannot be deleted" :
			"an auto-created mailbox cannot be deleted";
		return ST_DENIED;
	}
	if (index_has_children(user, box->name)) {
		*error_r = "mailbox has children, delete them first";
		return ST_DENIED;
	}
	Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Op *ops[] = { &op };
	op.kind = STRATUS__INDEXFILE__OP_KIND__OP_DELETE;
	/* Applying the op frees box; later commit steps (the name marker)
	 * still read the guid, so the op carries its own copy. */
	char guid[INDEX_GUID_LEN + 1];
	snprintf(guid, sizeof(guid), "%s", box->guid);
	op.mailbox_guid = guid;
	return index_user_commit(user, ops, 1, error_r) < 0 ? ST_TEMPFAIL :
		ST_OK;
}

/* INBOX rename (RFC 3501 6.3.5): a new mailbox takes INBOX's messages,
 * INBOX stays and is empty, its children do not move. */
static int index_rename_inbox(struct index_user *user,
			      struct index_mailbox *inbox, const char *dest,
			      const char **error_r)
{
	char guid[INDEX_GUID_LEN + 1];
	index_guid_new(guid);
	Stratus__Indexfile__Op create = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Op append = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Op expunge = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Op *ops[] = { &create, &append, &expunge };
	create.kind = STRATUS__INDEXFILE__OP_KIND__OP_CREATE;
	create.mailbox_guid = guid;
	create.name = (char *)dest;
	create.uidvalidity = index_user_new_uidvalidity(user);
	append.kind = STRATUS__INDEXFILE__OP_KIND__OP_APPEND;
	append.mailbox_guid = guid;
	append.keywords = inbox->keywords;
	append.n_keywords = inbox->n_keywords;
	size_t n = inbox->n_recs;
	index_box_cached_load(inbox, 0, n);	/* the records move whole */
	Stratus__Indexfile__Record *recs = xcalloc(n + 1, sizeof(*recs));
	Stratus__Indexfile__Record **rp = xcalloc(n + 1, sizeof(*rp));
	Stratus__Indexfile__Cached **cb = NULL;
	Stratus__Indexfile__Cached *cs = NULL;
	size_t n_cached = 0;
	for (size_t i = 0; i < n; i++)
		n_cached += inbox->recs[i].n_cached;
	cb = xcalloc(n_cached + 1, sizeof(*cb));
	cs = xcalloc(n_cached + 1, sizeof(*cs));
	uint32_t *uids = xcalloc(n + 1, sizeof(*uids));
	size_t c = 0;
	for (size_t i = 0; i < n; i++) {
		index_record_to_pb(&inbox->recs[i], &recs[i], cb + c, cs + c,
				   true);
		c += inbox->recs[i].n_cached;
		recs[i].modseq = 1;
		rp[i] = &recs[i];
		uids[i] = inbox->recs[i].uid;
	}
	append.records = rp;
	append.n_records = n;
	expunge.kind = STRATUS__INDEXFILE__OP_KIND__OP_EXPUNGE;
	expunge.mailbox_guid = inbox->guid;
	expunge.uids = uids;
	expunge.n_uids = n;
	expunge.modseq = inbox->highest_modseq + 1;
	int ret = index_user_commit(user, ops, N_ELEMENTS(ops), error_r) < 0 ?
		ST_TEMPFAIL : ST_OK;
	free(recs);
	free(rp);
	free(cb);
	free(cs);
	free(uids);
	if (ret == ST_OK)
		index_notify_changed(user->svc, inbox);
	return ret;
}

int index_mailbox_rename(struct index_user *user, const char *name,
			 const char *new_name, const char **error_r)
{
	struct index_mailbox *box;
	int ret = index_mailbox_lookup(user, name, &box, error_r);
	char *src = NULL;
	if (ret == ST_NOT_FOUND) {
		/* A \NonExistent parent with children: rename the children. */
		src = index_name_dup(user, name, error_r);
		if (src == NULL || !index_has_children(user, src)) {
			free(src);
			return ret;
		}
		ret = ST_OK;
	} else if (ret != ST_OK) {
		return ret;
	} else {
		src = xstrdup(box->name);
	}
	char *dest = index_name_dup(user, new_name, error_r);
	if (dest == NULL) {
		free(src);
		return ST_INVALID;
	}
	char sep = index_sep(user);
	size_t old_len = strlen(src);
	if (index_user_find_box(user, dest) != NULL) {
		*error_r = "target mailbox already exists";
		ret = ST_EXISTS;
		goto out;
	}
	if (box != NULL && strcmp(box->name, "INBOX") == 0) {
		ret = index_rename_inbox(user, box, dest, error_r);
		goto out;
	}
	if (index_is_autobox(user, src)) {
		*error_r = "an auto-created mailbox cannot be renamed";
		ret = ST_DENIED;
		goto out;
	}
	if (strncmp(dest, src, old_len) == 0 && dest[old_len] == sep) {
		*error_r = "cannot rename a mailbox under itself";
		ret = ST_INVALID;
		goto out;
	}
	/* The mailbox and every child move in one transaction. */
	Stratus__Indexfile__Op *ops = xcalloc(user->n_boxes,
					      sizeof(*ops));
	Stratus__Indexfile__Op **opp = xcalloc(user->n_boxes, sizeof(*opp));
	char **names = xcalloc(user->n_boxes, sizeof(*names));
	size_t n = 0;
	for (size_t i = 0; i < user->n_boxes; i++) {
		struct index_mailbox *b = user->boxes[i];
		if (strcmp(b->name, src) != 0 &&
		    !(strncmp(b->name, src, old_len) == 0 &&
		      b->name[old_len] == sep))
			continue;
		names[n] = xasprintf("%s%s", dest, b->name + old_len);
		if (strlen(names[n]) > INDEX_MAX_NAME_LEN ||
		    index_user_find_box(user, names[n]) != NULL) {
			*error_r = "renamed child name too long or taken";
			ret = ST_INVALID;
			n++;
			goto free_ops;
		}
		stratus__indexfile__op__init(&ops[n]);
		ops[n].kind = STRATUS__INDEXFILE__OP_KIND__OP_RENAME;
		ops[n].mailbox_guid = b->guid;
		ops[n].name = names[n];
		opp[n] = &ops[n];
		n++;
	}
	ret = index_user_commit(user, opp, n, error_r) < 0 ? ST_TEMPFAIL :
		ST_OK;
free_ops:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(ops);
	free(opp);
out:
	free(dest);
	free(src);
	return ret;
}

int index_mailbox_subscribe(struct index_user *user, const char *name,
			    bool subscribe, const char **error_r)
{
	char *n = index_name_dup(user, name, error_r);
	if (n == NULL)
		return ST_INVALID;
	bool is_sub = false;
	for (size_t i = 0; i < user->n_subs; i++) {
		if (strcmp(user->subs[i], n) == 0)
			is_sub = true;
	}
	int ret = ST_OK;
	if (is_sub != subscribe) {
		Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
		Stratus__Indexfile__Op *ops[] = { &op };
		op.kind = STRATUS__INDEXFILE__OP_KIND__OP_SUBSCRIBE;
		op.name = n;
		op.subscribe = subscribe;
		if (index_user_commit(user, ops, 1, error_r) < 0)
			ret = ST_TEMPFAIL;
	}
	free(n);
	return ret;
}

int index_mailbox_open(struct index_user *user, struct index_mailbox *box,
		       bool readonly, uint32_t *recent_first_r,
		       const char **error_r)
{
	*recent_first_r = box->uidnext;
	if (readonly || box->first_recent_uid >= box->uidnext)
		return ST_OK;
	uint32_t first = box->first_recent_uid;
	Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Op *ops[] = { &op };
	op.kind = STRATUS__INDEXFILE__OP_KIND__OP_RECENT;
	op.mailbox_guid = box->guid;
	op.first_recent_uid = box->uidnext;
	if (index_user_commit(user, ops, 1, error_r) < 0)
		return ST_TEMPFAIL;
	*recent_first_r = first;
	return ST_OK;
}

int index_mailbox_append(struct index_user *user, struct index_mailbox *box,
			 Stratus__IndexMessage *const *msgs, size_t n,
			 uint32_t *uids_r, uint64_t *modseq_r,
			 const char **error_r)
{
	if (n == 0) {
		*error_r = "nothing to append";
		return ST_INVALID;
	}
	if ((uint64_t)box->uidnext + n >= UINT32_MAX) {
		*error_r = "mailbox UID space exhausted";
		return ST_LIMIT;
	}
	size_t old_kw = box->n_keywords;
	uint64_t modseq = box->highest_modseq + 1;
	int64_t now = (int64_t)time(NULL);
	Stratus__Indexfile__Record *recs = xcalloc(n, sizeof(*recs));
	Stratus__Indexfile__Record **rp = xcalloc(n, sizeof(*rp));
	Stratus__Indexfile__Cached ***cbufs = xcalloc(n, sizeof(*cbufs));
	char (*guids)[INDEX_GUID_LEN + 1] = xcalloc(n, sizeof(*guids));
	int ret = ST_OK;
	for (size_t i = 0; i < n; i++) {
		const Stratus__IndexMessage *m = msgs[i];
		Stratus__Indexfile__Record *r = &recs[i];
		stratus__indexfile__record__init(r);
		uint8_t sys;
		uint64_t kw;
		if (index_flags_parse(box, m->flags, m->n_flags, true, &sys,
				      &kw, error_r) < 0) {
			ret = ST_INVALID;
			goto out;
		}
		if (strlen(m->guid) > 128 || strlen(m->object_id) > 1024) {
			*error_r = "guid or object id too long";
			ret = ST_INVALID;
			goto out;
		}
		r->uid = box->uidnext + (uint32_t)i;
		if (m->guid[0] == '\0') {
			index_guid_new(guids[i]);
			r->guid = guids[i];
		} else {
			r->guid = m->guid;
		}
		r->object_id = m->object_id;
		r->sysflags = sys;
		r->keywords = kw;
		r->modseq = modseq;
		r->internal_date = m->internal_date != 0 ? m->internal_date :
			now;
		r->save_date = m->save_date != 0 ? m->save_date : now;
		r->psize = m->physical_size;
		r->vsize = m->virtual_size != 0 ? m->virtual_size :
			m->physical_size;
		/* IndexCachedField and indexfile Cached share the layout
		 * of name + bytes, but not the type: copy the pointers. */
		if (m->n_cached > 0) {
			Stratus__Indexfile__Cached *cs =
				xcalloc(m->n_cached, sizeof(*cs));
			cbufs[i] = xcalloc(m->n_cached, sizeof(**cbufs));
			for (size_t c = 0; c < m->n_cached; c++) {
				stratus__indexfile__cached__init(&cs[c]);
				cs[c].name = m->cached[c]->name;
				cs[c].value = m->cached[c]->value;
				cbufs[i][c] = &cs[c];
			}
			r->cached = cbufs[i];
			r->n_cached = m->n_cached;
		}
		rp[i] = r;
		uids_r[i] = r->uid;
	}
	Stratus__Indexfile__Op op = STRATUS__INDEXFILE__OP__INIT;
	Stratus__Indexfile__Op *ops[] = { &op };
	op.kind = STRATUS__INDEXFILE__OP_KIND__OP_APPEND;
	op.mailbox_guid = box->guid;
	op.records = rp;
	op.n_records = n;
	struct index_kw_undo undo;
	index_kw_prepare(box, old_kw, &op, &undo);
	if (index_user_commit(user, ops, 1, error_r) < 0) {
		ret = ST_TEMPFAIL;
		index_kw_finish(&undo);
		goto free_all;
	}
	index_kw_finish(&undo);
	*modseq_r = modseq;
	index_notify_changed(user->svc, box);
	goto free_all;
out:
	index_kw_rollback(box, old_kw);
free_all:
	for (size_t i = 0; i < n; i++) {
		if (cbufs[i] != NULL) {
			free(cbufs[i][0]);
			free(cbufs[i]);
		}
	}
	free(cbufs);
	free(recs);
	free(rp);
	free(guids);
	return ret;
}
