/* svc-index: applying a decoded transaction or snapshot to a user's
 * in-memory state, and packing that state back into a snapshot. Both are
 * used for local files and bundles alike, and both re-check what they
 * read: a file is untrusted input (it may be torn, corrupt or crafted). */
#include "index-common.h"
#include "index-notify.h"
#include "buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool index_guid_valid(const char *guid)
{
	if (strlen(guid) != INDEX_GUID_LEN)
		return false;
	for (const char *p = guid; *p != '\0'; p++) {
		if (!isxdigit((unsigned char)*p))
			return false;
	}
	return true;
}

static int index_apply_keywords(struct index_mailbox *box, char *const *kws,
				size_t n, const char **error_r)
{
	if (n == 0)
		return 0;
	if (n > INDEX_MAX_KEYWORDS || n < box->n_keywords) {
		*error_r = "keyword table shrinks or overflows";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (i < box->n_keywords) {
			if (strcmp(box->keywords[i], kws[i]) != 0) {
				*error_r = "keyword table reordered";
				return -1;
			}
		} else if (kws[i][0] == '\0') {
			*error_r = "empty keyword";
			return -1;
		}
	}
	for (size_t i = box->n_keywords; i < n; i++)
		box->keywords[i] = xstrdup(kws[i]);
	box->n_keywords = n;
	return 0;
}

static void index_box_bump_modseq(struct index_mailbox *box, uint64_t modseq)
{
	if (modseq > box->highest_modseq)
		box->highest_modseq = modseq;
}

static void index_user_add_box(struct index_user *user,
			       struct index_mailbox *box)
{
	user->boxes = xreallocarray(user->boxes, user->n_boxes + 1,
				    sizeof(*user->boxes));
	user->boxes[user->n_boxes++] = box;
	if (box->uidvalidity > user->last_uidvalidity)
		user->last_uidvalidity = box->uidvalidity;
}

static int index_apply_create(struct index_user *user,
			      const Stratus__Indexfile__Op *op,
			      const char **error_r)
{
	if (!index_guid_valid(op->mailbox_guid) || op->name[0] == '\0' ||
	    op->uidvalidity == 0) {
		*error_r = "create: bad guid, name or uidvalidity";
		return -1;
	}
	if (index_user_find_guid(user, op->mailbox_guid) != NULL ||
	    index_user_find_box(user, op->name) != NULL) {
		*error_r = "create: mailbox exists";
		return -1;
	}
	struct index_mailbox *box = index_mailbox_new(op->name,
		op->mailbox_guid, op->uidvalidity);
	if (op->n_special_use > 0) {
		box->special_use = xcalloc(op->n_special_use, sizeof(char *));
		for (size_t i = 0; i < op->n_special_use; i++)
			box->special_use[i] = xstrdup(op->special_use[i]);
		box->n_special_use = op->n_special_use;
	}
	index_user_add_box(user, box);
	return 0;
}

static int index_apply_delete(struct index_user *user,
			      struct index_mailbox *box)
{
	for (size_t i = 0; i < user->n_boxes; i++) {
		if (user->boxes[i] != box)
			continue;
		index_mailbox_free(box);
		memmove(&user->boxes[i], &user->boxes[i + 1],
			(user->n_boxes - i - 1) * sizeof(*user->boxes));
		user->n_boxes--;
		return 0;
	}
	return 0;
}

static void index_apply_subscribe(struct index_user *user, const char *name,
				  bool subscribe)
{
	for (size_t i = 0; i < user->n_subs; i++) {
		if (strcmp(user->subs[i], name) != 0)
			continue;
		if (!subscribe) {
			free(user->subs[i]);
			user->subs[i] = user->subs[--user->n_subs];
		}
		return;
	}
	if (!subscribe)
		return;
	user->subs = xreallocarray(user->subs, user->n_subs + 1,
				   sizeof(*user->subs));
	user->subs[user->n_subs++] = xstrdup(name);
}

static int index_apply_append(struct index_mailbox *box,
			      const Stratus__Indexfile__Op *op,
			      const char **error_r)
{
	for (size_t i = 0; i < op->n_records; i++) {
		const Stratus__Indexfile__Record *r = op->records[i];
		if (r->uid < box->uidnext || r->uid == UINT32_MAX) {
			*error_r = "append: uid not ascending";
			return -1;
		}
		if (box->n_recs == box->cap_recs) {
			box->cap_recs = box->cap_recs == 0 ? 16 :
				box->cap_recs * 2;
			box->recs = xreallocarray(box->recs, box->cap_recs,
						  sizeof(*box->recs));
		}
		index_record_from_pb(&box->recs[box->n_recs++], r);
		index_box_chunk_stale(box, r->uid);
		box->uidnext = r->uid + 1;
		index_box_bump_modseq(box, r->modseq);
	}
	return 0;
}

static void index_apply_flags(struct index_mailbox *box,
			      const Stratus__Indexfile__Op *op)
{
	for (size_t i = 0; i < op->n_records; i++) {
		const Stratus__Indexfile__Record *r = op->records[i];
		long idx = index_mailbox_find_uid(box, r->uid);
		if (idx < 0)
			continue;	/* expunged meanwhile: nothing to do */
		struct index_record *rec = &box->recs[idx];
		index_box_chunk_flags_stale(box, rec->uid);
		rec->sysflags = (uint8_t)(r->sysflags & INDEX_FLAGS_ALL);
		rec->keywords = r->keywords;
		rec->modseq = r->modseq;
		index_box_bump_modseq(box, r->modseq);
	}
}

static void index_add_tombstone(struct index_mailbox *box, uint32_t uid,
				uint64_t modseq)
{
	if (box->n_tombs == INDEX_MAX_TOMBSTONES) {
		/* Forget the oldest half: a Wait from before then resyncs. */
		size_t drop = box->n_tombs / 2;
		box->tomb_floor = box->tombs[drop - 1].modseq;
		memmove(box->tombs, box->tombs + drop,
			(box->n_tombs - drop) * sizeof(*box->tombs));
		box->n_tombs -= drop;
	}
	if (box->n_tombs == box->cap_tombs) {
		box->cap_tombs = box->cap_tombs == 0 ? 16 : box->cap_tombs * 2;
		box->tombs = xreallocarray(box->tombs, box->cap_tombs,
					   sizeof(*box->tombs));
	}
	box->tombs[box->n_tombs].uid = uid;
	box->tombs[box->n_tombs++].modseq = modseq;
}

static void index_apply_expunge(struct index_mailbox *box,
				const Stratus__Indexfile__Op *op)
{
	size_t out = 0;
	size_t j = 0;
	/* uids are ascending (index-mailbox.c sorts them): one merge pass. */
	for (size_t i = 0; i < box->n_recs; i++) {
		while (j < op->n_uids && op->uids[j] < box->recs[i].uid)
			j++;
		if (j < op->n_uids && op->uids[j] == box->recs[i].uid) {
			index_add_tombstone(box, box->recs[i].uid, op->modseq);
			index_box_chunk_stale(box, box->recs[i].uid);
			index_record_clear(&box->recs[i]);
			continue;
		}
		box->recs[out++] = box->recs[i];
	}
	box->n_recs = out;
	index_box_bump_modseq(box, op->modseq);
}

int index_apply_op(struct index_user *user, const Stratus__Indexfile__Op *op,
		   const char **error_r)
{
	struct index_mailbox *box = NULL;
	switch (op->kind) {
	case STRATUS__INDEXFILE__OP_KIND__OP_CREATE:
		return index_apply_create(user, op, error_r);
	case STRATUS__INDEXFILE__OP_KIND__OP_SUBSCRIBE:
		if (op->name[0] == '\0') {
			*error_r = "subscribe: empty name";
			return -1;
		}
		index_apply_subscribe(user, op->name, op->subscribe);
		return 0;
	case STRATUS__INDEXFILE__OP_KIND__OP_DELETE:
	case STRATUS__INDEXFILE__OP_KIND__OP_RENAME:
	case STRATUS__INDEXFILE__OP_KIND__OP_APPEND:
	case STRATUS__INDEXFILE__OP_KIND__OP_FLAGS:
	case STRATUS__INDEXFILE__OP_KIND__OP_EXPUNGE:
	case STRATUS__INDEXFILE__OP_KIND__OP_RECENT:
		box = index_user_find_guid(user, op->mailbox_guid);
		if (box == NULL) {
			*error_r = "operation on an unknown mailbox";
			return -1;
		}
		break;
	default:
		*error_r = "unknown operation";
		return -1;
	}
	switch (op->kind) {
	case STRATUS__INDEXFILE__OP_KIND__OP_DELETE:
		return index_apply_delete(user, box);
	case STRATUS__INDEXFILE__OP_KIND__OP_RENAME:
		if (op->name[0] == '\0') {
			*error_r = "rename: empty name";
			return -1;
		}
		free(box->name);
		box->name = xstrdup(op->name);
		return 0;
	case STRATUS__INDEXFILE__OP_KIND__OP_APPEND:
		if (index_apply_keywords(box, op->keywords, op->n_keywords,
					 error_r) < 0)
			return -1;
		return index_apply_append(box, op, error_r);
	case STRATUS__INDEXFILE__OP_KIND__OP_FLAGS:
		if (index_apply_keywords(box, op->keywords, op->n_keywords,
					 error_r) < 0)
			return -1;
		index_apply_flags(box, op);
		return 0;
	case STRATUS__INDEXFILE__OP_KIND__OP_EXPUNGE:
		index_apply_expunge(box, op);
		return 0;
	case STRATUS__INDEXFILE__OP_KIND__OP_RECENT:
		if (op->first_recent_uid > box->first_recent_uid)
			box->first_recent_uid = op->first_recent_uid;
		return 0;
	default:
		return 0;
	}
}

static int index_state_load_box(struct index_user *user,
				const Stratus__Indexfile__Mailbox *mb,
				const char **error_r)
{
	if (!index_guid_valid(mb->guid) || mb->name[0] == '\0' ||
	    mb->uidvalidity == 0 || mb->uidnext == 0 ||
	    mb->n_keywords > INDEX_MAX_KEYWORDS) {
		*error_r = "snapshot: bad mailbox header";
		return -1;
	}
	if (index_user_find_guid(user, mb->guid) != NULL ||
	    index_user_find_box(user, mb->name) != NULL) {
		*error_r = "snapshot: duplicate mailbox";
		return -1;
	}
	struct index_mailbox *box = index_mailbox_new(mb->name, mb->guid,
						      mb->uidvalidity);
	index_user_add_box(user, box);
	box->first_recent_uid = mb->first_recent_uid;
	box->highest_modseq = mb->highest_modseq;
	box->tomb_floor = mb->tombstone_floor;
	for (size_t i = 0; i < mb->n_keywords; i++)
		box->keywords[i] = xstrdup(mb->keywords[i]);
	box->n_keywords = mb->n_keywords;
	if (mb->n_special_use > 0) {
		box->special_use = xcalloc(mb->n_special_use, sizeof(char *));
		for (size_t i = 0; i < mb->n_special_use; i++)
			box->special_use[i] = xstrdup(mb->special_use[i]);
		box->n_special_use = mb->n_special_use;
	}
	box->uidnext = mb->uidnext;
	if (index_box_load_records(box, mb->records, mb->n_records, true,
				   error_r) < 0)
		return -1;
	if (mb->n_expunged > INDEX_MAX_TOMBSTONES) {
		*error_r = "snapshot: too many tombstones";
		return -1;
	}
	for (size_t i = 0; i < mb->n_expunged; i++)
		index_add_tombstone(box, mb->expunged[i]->uid,
				    mb->expunged[i]->modseq);
	return 0;
}

int index_box_load_records(struct index_mailbox *box,
			   Stratus__Indexfile__Record *const *recs, size_t n,
			   bool with_cached, const char **error_r)
{
	if (box->n_recs + n > box->cap_recs) {
		size_t cap = box->cap_recs * 2;
		if (cap < box->n_recs + n + 1)
			cap = box->n_recs + n + 1;
		box->recs = xreallocarray(box->recs, cap, sizeof(*box->recs));
		box->cap_recs = cap;
	}
	uint32_t prev = box->n_recs > 0 ? box->recs[box->n_recs - 1].uid : 0;
	for (size_t i = 0; i < n; i++) {
		const Stratus__Indexfile__Record *r = recs[i];
		if (r->uid <= prev || r->uid >= box->uidnext) {
			*error_r = "snapshot: records out of order";
			return -1;
		}
		prev = r->uid;
		struct index_record *rec = &box->recs[box->n_recs++];
		if (with_cached) {
			index_record_from_pb(rec, r);
		} else {
			Stratus__Indexfile__Record core = *r;
			core.n_cached = 0;
			index_record_from_pb(rec, &core);
		}
		index_box_bump_modseq(box, r->modseq);
	}
	return 0;
}

int index_state_load(struct index_user *user,
		     const Stratus__Indexfile__State *st, const char **error_r)
{
	for (size_t i = 0; i < st->n_mailboxes; i++) {
		if (index_state_load_box(user, st->mailboxes[i], error_r) < 0) {
			index_user_clear_state(user);
			return -1;
		}
	}
	for (size_t i = 0; i < st->n_subscriptions; i++) {
		if (st->subscriptions[i][0] != '\0')
			index_apply_subscribe(user, st->subscriptions[i], true);
	}
	if (st->last_uidvalidity > user->last_uidvalidity)
		user->last_uidvalidity = st->last_uidvalidity;
	user->seq = st->seq;
	user->generation = st->generation;
	return 0;
}

/* Everything the packed snapshot borrows, freed after packing. */
struct index_pack_mem {
	void **ptrs;
	size_t n, cap;
};

static void *index_pack_alloc(struct index_pack_mem *m, size_t n, size_t size)
{
	if (m->n == m->cap) {
		m->cap = m->cap == 0 ? 64 : m->cap * 2;
		m->ptrs = xreallocarray(m->ptrs, m->cap, sizeof(void *));
	}
	void *p = xcalloc(n == 0 ? 1 : n, size);
	m->ptrs[m->n++] = p;
	return p;
}

/* Records [from, to) of box into mb (borrowing the record's strings). */
static void index_pack_records(struct index_pack_mem *m,
			       const struct index_mailbox *box, size_t from,
			       size_t to, bool with_cached,
			       Stratus__Indexfile__Mailbox *mb)
{
	size_t n = to - from;
	Stratus__Indexfile__Record *recs = index_pack_alloc(m, n,
							    sizeof(*recs));
	mb->records = index_pack_alloc(m, n, sizeof(*mb->records));
	mb->n_records = n;
	for (size_t i = 0; i < n; i++) {
		const struct index_record *rec = &box->recs[from + i];
		Stratus__Indexfile__Cached **cbuf = NULL;
		Stratus__Indexfile__Cached *cstore = NULL;
		if (with_cached && rec->n_cached > 0) {
			cbuf = index_pack_alloc(m, rec->n_cached, sizeof(*cbuf));
			cstore = index_pack_alloc(m, rec->n_cached,
						  sizeof(*cstore));
		}
		index_record_to_pb(rec, &recs[i], cbuf, cstore, with_cached);
		mb->records[i] = &recs[i];
	}
}

static Stratus__Indexfile__Mailbox *
index_pack_box(struct index_pack_mem *m, const struct index_mailbox *box,
	       bool with_records)
{
	Stratus__Indexfile__Mailbox *mb = index_pack_alloc(m, 1, sizeof(*mb));
	stratus__indexfile__mailbox__init(mb);
	mb->name = box->name;
	mb->guid = (char *)box->guid;
	mb->uidvalidity = box->uidvalidity;
	mb->uidnext = box->uidnext;
	mb->highest_modseq = box->highest_modseq;
	mb->first_recent_uid = box->first_recent_uid;
	mb->keywords = (char **)box->keywords;
	mb->n_keywords = box->n_keywords;
	mb->special_use = box->special_use;
	mb->n_special_use = box->n_special_use;
	mb->tombstone_floor = box->tomb_floor;
	if (with_records)
		index_pack_records(m, box, 0, box->n_recs, true, mb);
	Stratus__Indexfile__Tombstone *t = index_pack_alloc(m, box->n_tombs,
							    sizeof(*t));
	mb->expunged = index_pack_alloc(m, box->n_tombs, sizeof(*mb->expunged));
	mb->n_expunged = box->n_tombs;
	for (size_t i = 0; i < box->n_tombs; i++) {
		stratus__indexfile__tombstone__init(&t[i]);
		t[i].uid = box->tombs[i].uid;
		t[i].modseq = box->tombs[i].modseq;
		mb->expunged[i] = &t[i];
	}
	return mb;
}

static void index_pack_mem_free(struct index_pack_mem *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->ptrs[i]);
	free(m->ptrs);
}

/* The bundle directory: each chunk's records section, then its cached
 * section, in the order index-bundle-cache.c writes them. */
static void index_pack_directory(struct index_pack_mem *m,
				 const struct index_user *user,
				 Stratus__Indexfile__State *st)
{
	size_t n = 0;
	for (size_t b = 0; b < user->n_boxes; b++)
		n += 2 * user->boxes[b]->n_chunks;
	Stratus__Indexfile__Section *secs = index_pack_alloc(m, n,
							     sizeof(*secs));
	st->sections = index_pack_alloc(m, n, sizeof(*st->sections));
	st->n_sections = n;
	size_t k = 0;
	for (size_t b = 0; b < user->n_boxes; b++) {
		const struct index_mailbox *box = user->boxes[b];
		for (size_t i = 0; i < box->n_chunks; i++) {
			for (int c = 0; c < 2; c++, k++) {
				stratus__indexfile__section__init(&secs[k]);
				secs[k].mailbox = (uint32_t)b;
				secs[k].kind = c == 0 ?
				    STRATUS__INDEXFILE__SECTION_KIND__SECTION_RECORDS :
				    STRATUS__INDEXFILE__SECTION_KIND__SECTION_CACHED;
				secs[k].chunk = box->chunks[i].key;
				st->sections[k] = &secs[k];
			}
		}
	}
}

static uint8_t *index_state_pack_records(const struct index_user *user,
					 bool with_records, size_t *len_r)
{
	struct index_pack_mem m = { 0 };
	Stratus__Indexfile__State st = STRATUS__INDEXFILE__STATE__INIT;
	st.seq = user->seq;
	st.last_uidvalidity = user->last_uidvalidity;
	st.generation = user->generation;
	st.subscriptions = user->subs;
	st.n_subscriptions = user->n_subs;
	st.mailboxes = index_pack_alloc(&m, user->n_boxes,
					sizeof(*st.mailboxes));
	st.n_mailboxes = user->n_boxes;
	for (size_t i = 0; i < user->n_boxes; i++)
		st.mailboxes[i] = index_pack_box(&m, user->boxes[i],
						 with_records);
	if (!with_records)
		index_pack_directory(&m, user, &st);
	size_t len = stratus__indexfile__state__get_packed_size(&st);
	uint8_t *out = xmalloc(len + 1);
	stratus__indexfile__state__pack(&st, out);
	index_pack_mem_free(&m);
	*len_r = len;
	return out;
}

uint8_t *index_state_pack(struct index_user *user, size_t *len_r)
{
	index_user_cached_load_all(user);
	return index_state_pack_records(user, true, len_r);
}

uint8_t *index_state_pack_meta(const struct index_user *user, size_t *len_r)
{
	return index_state_pack_records(user, false, len_r);
}

static uint8_t *index_mailbox_pack(const Stratus__Indexfile__Mailbox *mb,
				   size_t *len_r)
{
	size_t len = stratus__indexfile__mailbox__get_packed_size(mb);
	uint8_t *out = xmalloc(len + 1);
	stratus__indexfile__mailbox__pack(mb, out);
	*len_r = len;
	return out;
}

uint8_t *index_box_pack_chunk(const struct index_mailbox *box, size_t from,
			      size_t to, size_t *len_r)
{
	struct index_pack_mem m = { 0 };
	Stratus__Indexfile__Mailbox mb = STRATUS__INDEXFILE__MAILBOX__INIT;
	mb.guid = (char *)box->guid;
	index_pack_records(&m, box, from, to, false, &mb);
	uint8_t *out = index_mailbox_pack(&mb, len_r);
	index_pack_mem_free(&m);
	return out;
}

uint8_t *index_box_pack_chunk_cached(struct index_mailbox *box, size_t from,
				     size_t to, size_t *len_r)
{
	index_box_cached_load(box, from, to);
	struct index_pack_mem m = { 0 };
	Stratus__Indexfile__Mailbox mb = STRATUS__INDEXFILE__MAILBOX__INIT;
	mb.guid = box->guid;
	size_t n = to - from;
	Stratus__Indexfile__CachedRecord *crs = index_pack_alloc(&m, n,
								 sizeof(*crs));
	mb.cached_records = index_pack_alloc(&m, n,
					     sizeof(*mb.cached_records));
	for (size_t i = 0; i < n; i++) {
		const struct index_record *rec = &box->recs[from + i];
		if (rec->n_cached == 0)
			continue;
		Stratus__Indexfile__CachedRecord *cr =
			&crs[mb.n_cached_records];
		stratus__indexfile__cached_record__init(cr);
		cr->uid = rec->uid;
		cr->cached = index_pack_alloc(&m, rec->n_cached,
					      sizeof(*cr->cached));
		Stratus__Indexfile__Cached *cs = index_pack_alloc(&m,
			rec->n_cached, sizeof(*cs));
		for (size_t c = 0; c < rec->n_cached; c++) {
			stratus__indexfile__cached__init(&cs[c]);
			cs[c].name = rec->cached[c].name;
			cs[c].value.data = rec->cached[c].data;
			cs[c].value.len = rec->cached[c].len;
			cr->cached[c] = &cs[c];
		}
		cr->n_cached = rec->n_cached;
		mb.cached_records[mb.n_cached_records++] = cr;
	}
	uint8_t *out = index_mailbox_pack(&mb, len_r);
	index_pack_mem_free(&m);
	return out;
}
