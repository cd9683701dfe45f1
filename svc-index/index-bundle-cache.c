/* svc-index: building version-2 bundles (index-file.h) incrementally.
 * Each mailbox keeps the compressed section of every chunk of
 * INDEX_BUNDLE_CHUNK_UIDS UIDs as last encoded; index-apply.c marks a
 * chunk stale when one of its records is appended, changed or expunged.
 * An upload compresses the mailbox list (small: no records) and the stale
 * or new chunks only, so its cost follows what changed since the last
 * upload rather than the size of the user. The cache is memory only: a
 * loaded user starts with none and its first upload encodes everything. */
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

void index_box_chunk_stale(struct index_mailbox *box, uint32_t uid)
{
	uint32_t key = uid >> INDEX_BUNDLE_CHUNK_SHIFT;
	size_t i = index_chunk_lower_bound(box, key);
	if (i < box->n_chunks && box->chunks[i].key == key)
		box->chunks[i].stale = true;
}

void index_box_chunks_free(struct index_mailbox *box)
{
	for (size_t i = 0; i < box->n_chunks; i++)
		free(box->chunks[i].section);
	free(box->chunks);
	box->chunks = NULL;
	box->n_chunks = 0;
}

/* Rebuilds box->chunks for its current records, reusing fresh cached
 * sections. -1 when zlib fails (the cache is then dropped). */
static int index_box_chunks_update(struct index_mailbox *box, int level,
				   size_t *encoded)
{
	struct index_bundle_chunk *old = box->chunks;
	size_t n_old = box->n_chunks, j = 0, n_new = 0;
	struct index_bundle_chunk *fresh = NULL;
	int ret = 0;
	for (size_t i = 0; i < box->n_recs && ret == 0; ) {
		uint32_t key = box->recs[i].uid >> INDEX_BUNDLE_CHUNK_SHIFT;
		size_t end = key == UINT32_MAX >> INDEX_BUNDLE_CHUNK_SHIFT ?
			box->n_recs : index_mailbox_lower_bound(box,
				(key + 1) << INDEX_BUNDLE_CHUNK_SHIFT);
		for (; j < n_old && old[j].key < key; j++)
			free(old[j].section);
		fresh = xreallocarray(fresh, n_new + 1, sizeof(*fresh));
		struct index_bundle_chunk *c = &fresh[n_new];
		if (j < n_old && old[j].key == key && !old[j].stale) {
			*c = old[j++];
		} else {
			if (j < n_old && old[j].key == key)
				free(old[j++].section);
			size_t raw_len;
			uint8_t *raw = index_box_pack_chunk(box, i, end,
							    &raw_len);
			c->key = key;
			c->stale = false;
			c->section = index_bundle_section(raw, raw_len, level,
							  &c->len);
			free(raw);
			(*encoded)++;
			if (c->section == NULL)
				ret = -1;
		}
		if (ret == 0)
			n_new++;
		i = end;
	}
	for (; j < n_old; j++)
		free(old[j].section);
	free(old);
	box->chunks = fresh;
	box->n_chunks = n_new;
	if (ret < 0)
		index_box_chunks_free(box);
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
		n_sections += box->n_chunks;
		for (size_t i = 0; i < box->n_chunks; i++)
			body += box->chunks[i].len;
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
					     box->chunks[i].len) == 0;
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
