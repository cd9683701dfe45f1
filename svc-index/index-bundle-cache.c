/* svc-index: building version-2 bundles (index-file.h) incrementally.
 * Each mailbox keeps the two compressed sections (records, cached
 * fields) of every chunk of INDEX_BUNDLE_CHUNK_UIDS UIDs as last encoded
 * or as downloaded; index-apply.c marks a chunk stale when one of its
 * records is appended, changed or expunged (a flag change leaves the
 * cached section). An upload compresses the mailbox list (small: no
 * records) and the stale or new sections only, so its cost follows what
 * changed since the last upload rather than the size of the user. The
 * cache is memory only; a user loaded from a bundle with a directory
 * starts with that bundle's sections (index-bundle-lazy.c), one loaded
 * from an older bundle or a snapshot with none, and its first upload
 * encodes everything. */
#include "index-common.h"
#include "index-file.h"
#include "index-blob.h"
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t index_chunk_lower_bound(const struct index_mailbox *box,
				      uint32_t key)
{
	size_t lo = 0, hi = box->n_chunks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (box->chunks[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct index_bundle_chunk *index_box_chunk_find(struct index_mailbox *box,
						uint32_t key)
{
	size_t i = index_chunk_lower_bound(box, key);
	return i < box->n_chunks && box->chunks[i].key == key ?
		&box->chunks[i] : NULL;
}

void index_box_chunk_stale(struct index_mailbox *box, uint32_t uid)
{
	struct index_bundle_chunk *c =
		index_box_chunk_find(box, uid >> INDEX_BUNDLE_CHUNK_SHIFT);
	if (c != NULL)
		c->stale = c->cached_stale = true;
}

void index_box_chunk_flags_stale(struct index_mailbox *box, uint32_t uid)
{
	struct index_bundle_chunk *c =
		index_box_chunk_find(box, uid >> INDEX_BUNDLE_CHUNK_SHIFT);
	if (c != NULL)
		c->stale = true;
}

static void index_chunk_free(struct index_bundle_chunk *c)
{
	free(c->section);
	free(c->cached_section);
}

/* A chunk none of whose records is left. */
static void index_chunk_drop(struct index_mailbox *box,
			     struct index_bundle_chunk *c)
{
	if (c->lazy)
		box->n_lazy--;
	c->lazy = false;
	index_chunk_free(c);
	c->section = c->cached_section = NULL;
}

void index_box_chunks_free(struct index_mailbox *box)
{
	/* Only with the mailbox: a lazy chunk's cached fields exist only
	 * in its section. */
	for (size_t i = 0; i < box->n_chunks; i++)
		index_chunk_free(&box->chunks[i]);
	free(box->chunks);
	box->chunks = NULL;
	box->n_chunks = 0;
	box->n_lazy = 0;
}

/* (Re-)encodes what is stale of chunk c = records [from, to) of box. */
static int index_chunk_encode(struct index_mailbox *box,
			      struct index_bundle_chunk *c, size_t from,
			      size_t to, int level, size_t *encoded)
{
	size_t raw_len;
	if (c->section == NULL || c->stale) {
		free(c->section);
		uint8_t *raw = index_box_pack_chunk(box, from, to, &raw_len);
		c->section = index_bundle_section(raw, raw_len, level, &c->len);
		free(raw);
		(*encoded)++;
		if (c->section == NULL)
			return -1;
		c->stale = false;
	}
	if (c->cached_section == NULL || c->cached_stale) {
		/* packing loads the cached fields of a lazy chunk first */
		uint8_t *raw = index_box_pack_chunk_cached(box, from, to,
							   &raw_len);
		free(c->cached_section);
		c->cached_section = index_bundle_section(raw, raw_len, level,
							 &c->cached_len);
		free(raw);
		if (c->cached_section == NULL)
			return -1;
		c->cached_stale = false;
	}
	return 0;
}

/* Rebuilds box->chunks for its current records, reusing fresh cached
 * sections. -1 when zlib fails (every chunk is then encoded again at the
 * next upload). */
static int index_box_chunks_update(struct index_mailbox *box, int level,
				   size_t *encoded)
{
	struct index_bundle_chunk *old = box->chunks;
	size_t n_old = box->n_chunks, j = 0, n_new = 0;
	struct index_bundle_chunk *fresh =
		xcalloc(n_old + 1, sizeof(*fresh));
	size_t cap = n_old + 1;
	int ret = 0;
	for (size_t i = 0; i < box->n_recs; ) {
		uint32_t key = box->recs[i].uid >> INDEX_BUNDLE_CHUNK_SHIFT;
		size_t end = key == UINT32_MAX >> INDEX_BUNDLE_CHUNK_SHIFT ?
			box->n_recs : index_mailbox_lower_bound(box,
				(key + 1) << INDEX_BUNDLE_CHUNK_SHIFT);
		/* Chunks without records left: nothing of theirs is lost. */
		for (; j < n_old && old[j].key < key; j++)
			index_chunk_drop(box, &old[j]);
		if (n_new == cap) {
			cap *= 2;
			fresh = xreallocarray(fresh, cap, sizeof(*fresh));
		}
		struct index_bundle_chunk *c = &fresh[n_new];
		if (j < n_old && old[j].key == key) {
			/* Encoding a lazy chunk's cached section looks it up
			 * in box->chunks (still `old`): encode in place. After
			 * a failure the chunk is only carried over (a lazy
			 * one's cached fields live in it). */
			if (ret == 0)
				ret = index_chunk_encode(box, &old[j], i, end,
							 level, encoded);
			*c = old[j];
			memset(&old[j++], 0, sizeof(*c));
			n_new++;
		} else if (ret == 0) {
			memset(c, 0, sizeof(*c));
			c->key = key;
			ret = index_chunk_encode(box, c, i, end, level,
						 encoded);
			n_new++;
		}
		i = end;
	}
	if (ret < 0) {
		/* Keep every chunk, lazy ones included, but re-encode all
		 * at the next upload. */
		for (size_t k = 0; k < n_new; k++)
			fresh[k].stale = fresh[k].cached_stale = true;
	}
	for (; j < n_old; j++)
		index_chunk_drop(box, &old[j]);
	free(old);
	box->chunks = fresh;
	box->n_chunks = n_new;
	return ret;
}

static int index_write_all(int fd, const uint8_t *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Header, meta section, then every mailbox's chunks, into a memfd. */
static int index_bundle_write(struct index_user *user, const uint8_t *meta,
			      size_t meta_len)
{
	uint64_t body = meta_len;
	uint64_t n_sections = 1;
	for (size_t b = 0; b < user->n_boxes; b++) {
		const struct index_mailbox *box = user->boxes[b];
		n_sections += 2 * (uint64_t)box->n_chunks;
		for (size_t i = 0; i < box->n_chunks; i++)
			body += box->chunks[i].len + box->chunks[i].cached_len;
	}
	if (n_sections > UINT32_MAX)
		return -1;
	uint8_t hdr[INDEX_FILE_HDR];
	index_bundle_header(hdr, (uint32_t)n_sections, body);
	int fd = index_blob_memfd(hdr, sizeof(hdr));
	if (fd < 0)
		return -1;
	bool ok = lseek(fd, 0, SEEK_END) >= 0 &&
		index_write_all(fd, meta, meta_len) == 0;
	for (size_t b = 0; b < user->n_boxes && ok; b++) {
		const struct index_mailbox *box = user->boxes[b];
		for (size_t i = 0; i < box->n_chunks && ok; i++)
			ok = index_write_all(fd, box->chunks[i].section,
					     box->chunks[i].len) == 0 &&
				index_write_all(fd,
						box->chunks[i].cached_section,
						box->chunks[i].cached_len) == 0;
	}
	if (!ok || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int index_bundle_build(struct index_user *user, int level, size_t *encoded_r)
{
	*encoded_r = 0;
	for (size_t b = 0; b < user->n_boxes; b++) {
		if (index_box_chunks_update(user->boxes[b], level,
					    encoded_r) < 0)
			return -1;
	}
	size_t raw_len, meta_len;
	uint8_t *raw = index_state_pack_meta(user, &raw_len);
	uint8_t *meta = index_bundle_section(raw, raw_len, level, &meta_len);
	free(raw);
	if (meta == NULL)
		return -1;
	int fd = index_bundle_write(user, meta, meta_len);
	free(meta);
	return fd;
}
