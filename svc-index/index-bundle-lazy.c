/* svc-index: loading a bundle lazily. A cold open used to inflate and
 * unpack the user's whole state, 108 MB for 100,000 messages, of which
 * the records' cached header fields (envelope, bodystructure, headers)
 * are about 90 %; a MailboxOpen or Status needs none of them. A bundle
 * with a directory (index-file.h) keeps each chunk's cached fields in a
 * section of their own, so the load inflates only the records sections
 * and keeps the cached sections, still deflated, as the mailbox's chunk
 * cache (index-bundle-cache.c): the first FETCH, SEARCH or copy that
 * needs a record's cached fields inflates its chunk's section (64
 * records), an upload of an unchanged chunk sends the downloaded bytes
 * again, and a compaction or a merge loads them all first. Records are
 * unpacked into an arena (index-arena.c) one section at a time and
 * copied into the mailbox's array, so the unpack allocates in a few big
 * blocks and frees nothing per record. */
#include "index-common.h"
#include "index-arena.h"
#include "index-file.h"
#include "buf.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

struct index_dir_entry {
	uint32_t mailbox, kind, chunk;
};

static uint8_t *index_copy_bytes(const uint8_t *data, size_t len)
{
	uint8_t *out = xmalloc(len + 1);
	memcpy(out, data, len);
	return out;
}

/* The directory of st, checked against the bundle's n_refs sections:
 * pairs of (records, cached) of one chunk, chunks ascending per mailbox.
 * Counts the chunks of each mailbox into counts[]. */
static int index_dir_check(const Stratus__Indexfile__State *st,
			   uint32_t n_refs, struct index_dir_entry *dir,
			   size_t *counts, const char **error_r)
{
	if (st->n_sections != (size_t)n_refs - 1 || st->n_sections % 2 != 0) {
		*error_r = "bundle directory does not match its sections";
		return -1;
	}
	uint32_t *last = xcalloc(st->n_mailboxes + 1, sizeof(*last));
	int ret = 0;
	for (size_t k = 0; k < st->n_sections && ret == 0; k += 2) {
		const Stratus__Indexfile__Section *r = st->sections[k];
		const Stratus__Indexfile__Section *c = st->sections[k + 1];
		if (r->kind != STRATUS__INDEXFILE__SECTION_KIND__SECTION_RECORDS ||
		    c->kind != STRATUS__INDEXFILE__SECTION_KIND__SECTION_CACHED ||
		    r->mailbox >= st->n_mailboxes || c->mailbox != r->mailbox ||
		    c->chunk != r->chunk ||
		    (counts[r->mailbox] > 0 && r->chunk <= last[r->mailbox])) {
			*error_r = "bundle directory out of order";
			ret = -1;
			break;
		}
		last[r->mailbox] = r->chunk;
		counts[r->mailbox]++;
		dir[k / 2] = (struct index_dir_entry){
			.mailbox = r->mailbox, .kind = r->kind,
			.chunk = r->chunk };
	}
	free(last);
	return ret;
}

/* Records section of one chunk into box, with both sections kept as
 * its (lazy) chunk cache entry. */
static int index_lazy_chunk(struct index_mailbox *box, struct index_arena *a,
			    const uint8_t *data,
			    const struct index_section_ref *rec_ref,
			    const struct index_section_ref *cached_ref,
			    uint32_t key, const char **error_r)
{
	size_t raw_len;
	uint8_t *raw = index_section_inflate(data + rec_ref->offset,
					     rec_ref->len, &raw_len, error_r);
	if (raw == NULL)
		return -1;
	Stratus__Indexfile__Mailbox *mb =
		stratus__indexfile__mailbox__unpack(&a->pb, raw_len, raw);
	free(raw);
	int ret = -1;
	if (mb == NULL || strcmp(mb->guid, box->guid) != 0) {
		*error_r = mb == NULL ? "bundle section does not decode" :
			"bundle section of another mailbox";
		goto out;
	}
	for (size_t i = 0; i < mb->n_records; i++) {
		if (mb->records[i]->uid >> INDEX_BUNDLE_CHUNK_SHIFT != key) {
			*error_r = "bundle chunk holds another chunk's UIDs";
			goto out;
		}
	}
	if (index_box_load_records(box, mb->records, mb->n_records, true,
				   error_r) < 0)
		goto out;
	struct index_bundle_chunk *c = &box->chunks[box->n_chunks++];
	memset(c, 0, sizeof(*c));
	c->key = key;
	c->lazy = true;
	c->section = index_copy_bytes(data + rec_ref->offset, rec_ref->len);
	c->len = rec_ref->len;
	c->cached_section = index_copy_bytes(data + cached_ref->offset,
					     cached_ref->len);
	c->cached_len = cached_ref->len;
	box->n_lazy++;
	ret = 0;
out:
	index_arena_reset(a);
	return ret;
}

/* 1: loaded; 0: no directory (an older writer's bundle: read whole). */
static int index_lazy_load(struct index_user *user, const uint8_t *data,
			   const struct index_section_ref *refs, uint32_t n,
			   const char **error_r)
{
	if (user->n_boxes != 0) {
		*error_r = "bundle loaded into a user with state";
		return -1;
	}
	struct index_arena a;
	index_arena_init(&a);
	size_t raw_len;
	uint8_t *raw = index_section_inflate(data + refs[0].offset,
					     refs[0].len, &raw_len, error_r);
	if (raw == NULL) {
		index_arena_deinit(&a);
		return -1;
	}
	Stratus__Indexfile__State *st =
		stratus__indexfile__state__unpack(&a.pb, raw_len, raw);
	free(raw);
	if (st == NULL || st->n_sections == 0) {
		index_arena_deinit(&a);
		if (st == NULL)
			*error_r = "state does not decode";
		return st == NULL ? -1 : 0;
	}
	size_t n_boxes = st->n_mailboxes;
	struct index_dir_entry *dir = xcalloc(st->n_sections / 2 + 1,
					      sizeof(*dir));
	size_t *counts = xcalloc(n_boxes + 1, sizeof(*counts));
	size_t n_chunks = st->n_sections / 2;
	int ret = index_dir_check(st, n, dir, counts, error_r);
	if (ret == 0)
		ret = index_state_load(user, st, error_r);
	index_arena_reset(&a);
	for (size_t b = 0; b < n_boxes && ret == 0; b++) {
		struct index_mailbox *box = user->boxes[b];
		box->chunks = xcalloc(counts[b] + 1, sizeof(*box->chunks));
	}
	for (size_t k = 0; k < n_chunks && ret == 0; k++) {
		ret = index_lazy_chunk(user->boxes[dir[k].mailbox], &a, data,
				       &refs[1 + 2 * k], &refs[2 + 2 * k],
				       dir[k].chunk, error_r);
	}
	free(dir);
	free(counts);
	index_arena_deinit(&a);
	if (ret < 0) {
		index_user_clear_state(user);
		return -1;
	}
	return 1;
}

int index_state_load_file(struct index_user *user, const uint8_t *data,
			  size_t len, const char **error_r)
{
	if (len >= INDEX_MAGIC_LEN &&
	    memcmp(data, INDEX_BUNDLE_MAGIC, INDEX_MAGIC_LEN) == 0) {
		struct index_section_ref *refs;
		uint32_t n;
		int r = index_bundle_frames(data, len, &refs, &n, error_r);
		if (r < 0)
			return -1;
		if (r > 0) {
			r = index_lazy_load(user, data, refs, n, error_r);
			free(refs);
			if (r != 0)
				return r < 0 ? -1 : 0;
		}
	}
	Stratus__Indexfile__State *st =
		index_local_snapshot_decode(data, len, error_r);
	if (st == NULL)
		return -1;
	int ret = index_state_load(user, st, error_r);
	stratus__indexfile__state__free_unpacked(st, NULL);
	return ret;
}

/* Inflates c's cached section into the records of its chunk. */
static void index_chunk_cached_load(struct index_mailbox *box,
				    struct index_bundle_chunk *c)
{
	c->lazy = false;
	box->n_lazy--;
	size_t raw_len;
	const char *error = NULL;
	uint8_t *raw = index_section_inflate(c->cached_section, c->cached_len,
					     &raw_len, &error);
	Stratus__Indexfile__Mailbox *mb = raw == NULL ? NULL :
		stratus__indexfile__mailbox__unpack(NULL, raw_len, raw);
	free(raw);
	if (mb == NULL) {
		log_error(NULL, "index: mailbox %s: cached fields of UIDs "
			  "%u..%u unusable (%s): answered as not cached",
			  box->guid, c->key << INDEX_BUNDLE_CHUNK_SHIFT,
			  ((c->key + 1) << INDEX_BUNDLE_CHUNK_SHIFT) - 1,
			  error != NULL ? error : "does not decode");
		c->cached_stale = true;	/* not uploaded again as it is */
		return;
	}
	for (size_t i = 0; i < mb->n_cached_records; i++) {
		const Stratus__Indexfile__CachedRecord *cr =
			mb->cached_records[i];
		long k = cr->uid >> INDEX_BUNDLE_CHUNK_SHIFT == c->key ?
			index_mailbox_find_uid(box, cr->uid) : -1;
		/* Expunged since, or fields from elsewhere: skip. */
		if (k < 0 || box->recs[k].n_cached > 0)
			continue;
		index_record_cached_from_pb(&box->recs[k], cr->cached,
					    cr->n_cached);
	}
	stratus__indexfile__mailbox__free_unpacked(mb, NULL);
}

void index_box_cached_load(struct index_mailbox *box, size_t from, size_t to)
{
	if (box->n_lazy == 0 || from >= to || to > box->n_recs)
		return;
	uint32_t first = box->recs[from].uid >> INDEX_BUNDLE_CHUNK_SHIFT;
	uint32_t last = box->recs[to - 1].uid >> INDEX_BUNDLE_CHUNK_SHIFT;
	size_t lo = 0, hi = box->n_chunks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (box->chunks[mid].key < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < box->n_chunks && box->chunks[i].key <= last &&
	     box->n_lazy > 0; i++) {
		if (box->chunks[i].lazy)
			index_chunk_cached_load(box, &box->chunks[i]);
	}
}

void index_user_cached_load_all(struct index_user *user)
{
	for (size_t b = 0; b < user->n_boxes; b++)
		index_box_cached_load(user->boxes[b], 0, user->boxes[b]->n_recs);
}
