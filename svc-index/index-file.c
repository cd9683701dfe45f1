/* svc-index: encoders and bounded decoders for the log, snapshot and
 * bundle formats described in index-file.h, and the two file helpers
 * (bounded read, write-temp-then-rename). */
#include "index-file.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static uint32_t index_crc(const uint8_t *data, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	/* zlib takes uInt lengths: feed big buffers in pieces. */
	while (len > 0) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		crc = crc32(crc, data, n);
		data += n;
		len -= n;
	}
	return (uint32_t)crc;
}

int index_log_parse(const uint8_t *data, size_t len, index_log_txn_cb *cb,
		    void *ctx, size_t *valid_end_r, const char **error_r)
{
	*valid_end_r = 0;
	if (len < INDEX_MAGIC_LEN ||
	    memcmp(data, INDEX_LOG_MAGIC, INDEX_MAGIC_LEN) != 0) {
		*error_r = "not a Stratus index log (bad magic)";
		return -1;
	}
	size_t pos = INDEX_MAGIC_LEN;
	*valid_end_r = pos;
	while (len - pos >= INDEX_LOG_RECORD_HDR) {
		uint32_t rlen = get_u32(data + pos);
		uint32_t crc = get_u32(data + pos + 4);
		if (rlen == 0 || rlen > INDEX_LOG_RECORD_MAX ||
		    rlen > len - pos - INDEX_LOG_RECORD_HDR)
			break;	/* torn: the tail never made it to disk */
		const uint8_t *payload = data + pos + INDEX_LOG_RECORD_HDR;
		if (index_crc(payload, rlen) != crc)
			break;
		Stratus__Indexfile__Transaction *txn =
			stratus__indexfile__transaction__unpack(NULL, rlen,
								payload);
		if (txn == NULL)
			break;
		int ret = cb != NULL ? cb(txn, ctx, error_r) : 0;
		stratus__indexfile__transaction__free_unpacked(txn, NULL);
		if (ret < 0)
			return -1;
		pos += INDEX_LOG_RECORD_HDR + rlen;
		*valid_end_r = pos;
	}
	return 0;
}

uint8_t *index_log_frame(const uint8_t *payload, size_t len, size_t *out_r)
{
	uint8_t *out = xmalloc(len + INDEX_LOG_RECORD_HDR);
	put_u32(out, (uint32_t)len);
	put_u32(out + 4, index_crc(payload, len));
	memcpy(out + INDEX_LOG_RECORD_HDR, payload, len);
	*out_r = len + INDEX_LOG_RECORD_HDR;
	return out;
}

static void index_header_put_version(uint8_t *out, const char *magic,
				     uint32_t version, uint32_t crc,
				     uint64_t len)
{
	memcpy(out, magic, INDEX_MAGIC_LEN);
	put_u32(out + INDEX_MAGIC_LEN, version);
	put_u32(out + INDEX_MAGIC_LEN + 4, crc);
	put_u64(out + INDEX_MAGIC_LEN + 8, len);
}

static void index_header_put(uint8_t *out, const char *magic, uint32_t crc,
			     uint64_t len)
{
	index_header_put_version(out, magic, INDEX_FILE_VERSION, crc, len);
}

/* Checks magic and version (at most max_version); returns the version
 * and the declared CRC and length. */
static int index_header_check_version(const uint8_t *data, size_t len,
				      const char *magic,
				      uint32_t max_version,
				      uint32_t *version_r, uint32_t *crc_r,
				      uint64_t *len_r, const char **error_r)
{
	if (len < INDEX_FILE_HDR || memcmp(data, magic, INDEX_MAGIC_LEN) != 0) {
		*error_r = "bad magic or truncated header";
		return -1;
	}
	uint32_t version = get_u32(data + INDEX_MAGIC_LEN);
	*version_r = version;
	if (version > max_version) {
		*error_r = "written by a newer Stratus (format version too new)";
		return -1;
	}
	if (version == 0) {
		*error_r = "bad format version 0";
		return -1;
	}
	*crc_r = get_u32(data + INDEX_MAGIC_LEN + 4);
	*len_r = get_u64(data + INDEX_MAGIC_LEN + 8);
	if (*len_r > INDEX_STATE_MAX) {
		*error_r = "declared size too large";
		return -1;
	}
	return 0;
}

static int index_header_check(const uint8_t *data, size_t len,
			      const char *magic, uint32_t *crc_r,
			      uint64_t *len_r, const char **error_r)
{
	uint32_t version;
	return index_header_check_version(data, len, magic,
					  INDEX_FILE_VERSION, &version, crc_r,
					  len_r, error_r);
}

uint8_t *index_snapshot_encode(const uint8_t *state, size_t len,
			       size_t *out_r)
{
	uint8_t *out = xmalloc(INDEX_FILE_HDR + len);
	index_header_put(out, INDEX_SNAP_MAGIC, index_crc(state, len), len);
	memcpy(out + INDEX_FILE_HDR, state, len);
	*out_r = INDEX_FILE_HDR + len;
	return out;
}

static Stratus__Indexfile__State *index_state_unpack(const uint8_t *data,
						     size_t len,
						     const char **error_r)
{
	Stratus__Indexfile__State *st =
		stratus__indexfile__state__unpack(NULL, len, data);
	if (st == NULL)
		*error_r = "state does not decode";
	return st;
}

Stratus__Indexfile__State *index_snapshot_decode(const uint8_t *data,
						 size_t len,
						 const char **error_r)
{
	uint32_t crc;
	uint64_t plen;
	if (index_header_check(data, len, INDEX_SNAP_MAGIC, &crc, &plen,
			       error_r) < 0)
		return NULL;
	if (plen != len - INDEX_FILE_HDR) {
		*error_r = "snapshot truncated";
		return NULL;
	}
	if (index_crc(data + INDEX_FILE_HDR, plen) != crc) {
		*error_r = "snapshot checksum mismatch";
		return NULL;
	}
	return index_state_unpack(data + INDEX_FILE_HDR, plen, error_r);
}

/* Inflates exactly raw_len bytes and checks their CRC (malloc'd). */
static uint8_t *index_inflate(const uint8_t *in, size_t in_len,
			      uint64_t raw_len, uint32_t crc,
			      const char **error_r)
{
	/* The declared size bounds the output; a bomb cannot grow past it. */
	uint8_t *raw = xmalloc(raw_len + 1);
	uLongf out_len = (uLongf)raw_len;
	int zret = uncompress(raw, &out_len, in, (uLong)in_len);
	if (zret != Z_OK || out_len != raw_len) {
		free(raw);
		*error_r = zret == Z_BUF_ERROR ?
			"bundle larger than declared or truncated" :
			"bundle does not decompress";
		return NULL;
	}
	if (index_crc(raw, raw_len) != crc) {
		free(raw);
		*error_r = "bundle checksum mismatch";
		return NULL;
	}
	return raw;
}

/* One inflate state for the process, reset per section: a lazy load
 * inflates thousands of small sections, and inflateInit/End allocate
 * and free the 32 KB window each time. */
static z_stream section_is;
static bool section_is_ready;

static uint8_t *index_section_inflate_raw(const uint8_t *in, size_t in_len,
					  uint32_t raw_len, uint32_t crc,
					  const char **error_r)
{
	if (!section_is_ready) {
		memset(&section_is, 0, sizeof(section_is));
		if (inflateInit(&section_is) != Z_OK) {
			*error_r = "out of memory (inflateInit)";
			return NULL;
		}
		section_is_ready = true;
	} else if (inflateReset(&section_is) != Z_OK) {
		*error_r = "inflateReset failed";
		return NULL;
	}
	uint8_t *raw = xmalloc((size_t)raw_len + 1);
	section_is.next_in = (Bytef *)(uintptr_t)in;
	section_is.avail_in = (uInt)in_len;
	section_is.next_out = raw;
	section_is.avail_out = raw_len;
	int zret = inflate(&section_is, Z_FINISH);
	if (zret != Z_STREAM_END || section_is.total_out != raw_len) {
		free(raw);
		*error_r = zret == Z_BUF_ERROR || zret == Z_OK ?
			"bundle larger than declared or truncated" :
			"bundle does not decompress";
		return NULL;
	}
	if (index_crc(raw, raw_len) != crc) {
		free(raw);
		*error_r = "bundle checksum mismatch";
		return NULL;
	}
	return raw;
}

uint8_t *index_section_inflate(const uint8_t *frame, size_t len,
			       size_t *raw_len_r, const char **error_r)
{
	if (len < INDEX_SECTION_HDR) {
		*error_r = "bundle truncated (section header)";
		return NULL;
	}
	uint32_t raw_len = get_u32(frame);
	uint32_t clen = get_u32(frame + 4);
	if (clen != len - INDEX_SECTION_HDR) {
		*error_r = "bundle truncated (section)";
		return NULL;
	}
	*raw_len_r = raw_len;
	return index_section_inflate_raw(frame + INDEX_SECTION_HDR, clen,
					 raw_len, get_u32(frame + 8), error_r);
}

int index_bundle_frames(const uint8_t *data, size_t len,
			struct index_section_ref **refs_r, uint32_t *n_r,
			const char **error_r)
{
	uint32_t n, version;
	uint64_t body_len;
	*refs_r = NULL;
	*n_r = 0;
	if (index_header_check_version(data, len, INDEX_BUNDLE_MAGIC,
				       INDEX_BUNDLE_VERSION, &version, &n,
				       &body_len, error_r) < 0)
		return -1;
	if (version != INDEX_BUNDLE_VERSION)
		return 0;
	if (body_len != len - INDEX_FILE_HDR || n == 0 ||
	    n > (len - INDEX_FILE_HDR) / INDEX_SECTION_HDR) {
		*error_r = n == 0 ? "bundle has no sections" :
			"bundle truncated";
		return -1;
	}
	struct index_section_ref *refs = xcalloc(n, sizeof(*refs));
	size_t pos = INDEX_FILE_HDR;
	uint64_t total_raw = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (len - pos < INDEX_SECTION_HDR) {
			*error_r = "bundle truncated (section header)";
			goto fail;
		}
		uint32_t clen = get_u32(data + pos + 4);
		refs[i].raw_len = get_u32(data + pos);
		total_raw += refs[i].raw_len;
		if (clen > len - pos - INDEX_SECTION_HDR) {
			*error_r = "bundle truncated (section)";
			goto fail;
		}
		if (total_raw > INDEX_STATE_MAX) {
			*error_r = "declared size too large";
			goto fail;
		}
		refs[i].offset = pos;
		refs[i].len = INDEX_SECTION_HDR + (size_t)clen;
		pos += refs[i].len;
	}
	if (pos != len) {
		*error_r = "bundle has bytes after its last section";
		goto fail;
	}
	*refs_r = refs;
	*n_r = n;
	return 1;
fail:
	free(refs);
	return -1;
}

/* One deflate state for the process, reset per section: compress2's
 * deflateInit/deflateEnd allocated and freed ~256 KB for every section
 * of every bundle upload, which was most of an upload's cost for the
 * small sections an upload re-encodes. */
static z_stream section_zs;
static int section_zs_level = -1;

static z_stream *index_section_deflater(int level)
{
	if (section_zs_level == level) {
		if (deflateReset(&section_zs) == Z_OK)
			return &section_zs;
		index_file_deinit();
	} else if (section_zs_level >= 0) {
		index_file_deinit();
	}
	memset(&section_zs, 0, sizeof(section_zs));
	if (deflateInit(&section_zs, level) != Z_OK)
		return NULL;
	section_zs_level = level;
	return &section_zs;
}

void index_file_deinit(void)
{
	if (section_zs_level >= 0)
		(void)deflateEnd(&section_zs);
	section_zs_level = -1;
	if (section_is_ready)
		(void)inflateEnd(&section_is);
	section_is_ready = false;
}

uint8_t *index_bundle_section(const uint8_t *raw, size_t len, int level,
			      size_t *out_r)
{
	z_stream *zs = len > UINT32_MAX ? NULL : index_section_deflater(level);
	if (zs == NULL)
		return NULL;
	uLong bound = deflateBound(zs, (uLong)len);
	if (bound > UINT32_MAX)
		return NULL;
	uint8_t *out = xmalloc(INDEX_SECTION_HDR + bound);
	zs->next_in = (Bytef *)(uintptr_t)raw;
	zs->avail_in = (uInt)len;
	zs->next_out = out + INDEX_SECTION_HDR;
	zs->avail_out = (uInt)bound;
	if (deflate(zs, Z_FINISH) != Z_STREAM_END || zs->total_out > UINT32_MAX) {
		free(out);
		return NULL;
	}
	size_t clen = zs->total_out;
	put_u32(out, (uint32_t)len);
	put_u32(out + 4, (uint32_t)clen);
	put_u32(out + 8, index_crc(raw, len));
	*out_r = INDEX_SECTION_HDR + clen;
	return out;
}

void index_bundle_header(uint8_t *out, uint32_t n_sections, uint64_t body_len)
{
	index_header_put_version(out, INDEX_BUNDLE_MAGIC, INDEX_BUNDLE_VERSION,
				 n_sections, body_len);
}

/* Chunks are merged into the header section's State as they are read;
 * records arrays grow geometrically (caps per mailbox), so a bundle of
 * many small chunks merges in linear time, and consecutive chunks of
 * one mailbox find it without a search. */
struct index_bundle_merger {
	Stratus__Indexfile__State *st;
	size_t *caps;		/* records capacity, per st->mailboxes[i] */
	size_t last;		/* mailbox of the previous chunk */
};

static Stratus__Indexfile__Mailbox *
index_bundle_merge_target(struct index_bundle_merger *m, const char *guid)
{
	Stratus__Indexfile__State *st = m->st;
	if (m->caps == NULL) {
		m->caps = xcalloc(st->n_mailboxes + 1, sizeof(*m->caps));
		for (size_t i = 0; i < st->n_mailboxes; i++)
			m->caps[i] = st->mailboxes[i]->n_records;
	}
	if (m->last < st->n_mailboxes &&
	    strcmp(st->mailboxes[m->last]->guid, guid) == 0)
		return st->mailboxes[m->last];
	for (size_t i = 0; i < st->n_mailboxes; i++) {
		if (strcmp(st->mailboxes[i]->guid, guid) == 0) {
			m->last = i;
			return st->mailboxes[i];
		}
	}
	return NULL;
}

/* A cached-fields section: each entry's fields move to the record with
 * its UID (records of a chunk come before its cached fields; an entry
 * without its record, or for a record that has fields, is dropped). */
static void index_bundle_merge_cached(Stratus__Indexfile__Mailbox *mb,
				      Stratus__Indexfile__Mailbox *chunk)
{
	for (size_t i = 0; i < chunk->n_cached_records; i++) {
		Stratus__Indexfile__CachedRecord *cr = chunk->cached_records[i];
		size_t lo = 0, hi = mb->n_records;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (mb->records[mid]->uid < cr->uid)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == mb->n_records || mb->records[lo]->uid != cr->uid ||
		    mb->records[lo]->n_cached > 0)
			continue;
		mb->records[lo]->cached = cr->cached;
		mb->records[lo]->n_cached = cr->n_cached;
		cr->cached = NULL;
		cr->n_cached = 0;
	}
}

/* Moves a record-chunk section's records to the end of its mailbox in
 * the header section's State. */
static int index_bundle_merge(struct index_bundle_merger *m,
			      Stratus__Indexfile__Mailbox *chunk,
			      const char **error_r)
{
	Stratus__Indexfile__Mailbox *mb =
		index_bundle_merge_target(m, chunk->guid);
	if (mb == NULL) {
		*error_r = "bundle section for an unknown mailbox";
		return -1;
	}
	index_bundle_merge_cached(mb, chunk);
	if (chunk->n_records == 0)
		return 0;
	size_t need = mb->n_records + chunk->n_records;
	if (need > m->caps[m->last]) {
		size_t cap = m->caps[m->last] * 2;
		if (cap < need)
			cap = need;
		mb->records = xreallocarray(mb->records, cap,
					    sizeof(*mb->records));
		m->caps[m->last] = cap;
	}
	memcpy(mb->records + mb->n_records, chunk->records,
	       chunk->n_records * sizeof(*chunk->records));
	mb->n_records = need;
	free(chunk->records);
	chunk->records = NULL;
	chunk->n_records = 0;
	return 0;
}

/* One section at *pos: the State (first) or a chunk merged into it. */
static int index_bundle_section_decode(const uint8_t *data, size_t len,
				       size_t *pos, uint64_t *total_raw,
				       struct index_bundle_merger *m,
				       const char **error_r)
{
	if (len - *pos < INDEX_SECTION_HDR) {
		*error_r = "bundle truncated (section header)";
		return -1;
	}
	uint32_t raw_len = get_u32(data + *pos);
	uint32_t clen = get_u32(data + *pos + 4);
	uint32_t crc = get_u32(data + *pos + 8);
	*pos += INDEX_SECTION_HDR;
	if (clen > len - *pos) {
		*error_r = "bundle truncated (section)";
		return -1;
	}
	*total_raw += raw_len;
	if (*total_raw > INDEX_STATE_MAX) {
		*error_r = "declared size too large";
		return -1;
	}
	uint8_t *raw = index_section_inflate_raw(data + *pos, clen, raw_len,
						 crc, error_r);
	if (raw == NULL)
		return -1;
	*pos += clen;
	int ret = 0;
	if (m->st == NULL) {
		m->st = index_state_unpack(raw, raw_len, error_r);
		ret = m->st == NULL ? -1 : 0;
	} else {
		Stratus__Indexfile__Mailbox *chunk =
			stratus__indexfile__mailbox__unpack(NULL, raw_len, raw);
		if (chunk == NULL) {
			*error_r = "bundle section does not decode";
			ret = -1;
		} else {
			ret = index_bundle_merge(m, chunk, error_r);
			stratus__indexfile__mailbox__free_unpacked(chunk, NULL);
		}
	}
	free(raw);
	return ret;
}

static Stratus__Indexfile__State *
index_bundle_sections_decode(const uint8_t *data, size_t len,
			     uint32_t n_sections, uint64_t body_len,
			     const char **error_r)
{
	if (body_len != len - INDEX_FILE_HDR) {
		*error_r = "bundle truncated";
		return NULL;
	}
	if (n_sections == 0) {
		*error_r = "bundle has no sections";
		return NULL;
	}
	struct index_bundle_merger m = { .st = NULL };
	size_t pos = INDEX_FILE_HDR;
	uint64_t total_raw = 0;
	for (uint32_t i = 0; i < n_sections; i++) {
		if (index_bundle_section_decode(data, len, &pos, &total_raw,
						&m, error_r) < 0)
			goto fail;
	}
	if (pos != len) {
		*error_r = "bundle has bytes after its last section";
		goto fail;
	}
	free(m.caps);
	return m.st;
fail:
	free(m.caps);
	if (m.st != NULL)
		stratus__indexfile__state__free_unpacked(m.st, NULL);
	return NULL;
}

uint8_t *index_bundle_encode(const uint8_t *state, size_t len, int level,
			     size_t *out_r)
{
	uLong bound = compressBound((uLong)len);
	uint8_t *out = xmalloc(INDEX_FILE_HDR + bound);
	uLongf clen = bound;
	if (compress2(out + INDEX_FILE_HDR, &clen, state, (uLong)len,
		      level) != Z_OK) {
		free(out);
		return NULL;
	}
	index_header_put(out, INDEX_BUNDLE_MAGIC, index_crc(state, len), len);
	*out_r = INDEX_FILE_HDR + clen;
	return out;
}

Stratus__Indexfile__State *index_bundle_decode(const uint8_t *data,
					       size_t len,
					       const char **error_r)
{
	uint32_t crc, version;
	uint64_t raw_len;
	if (index_header_check_version(data, len, INDEX_BUNDLE_MAGIC,
				       INDEX_BUNDLE_VERSION, &version, &crc,
				       &raw_len, error_r) < 0)
		return NULL;
	if (version == INDEX_BUNDLE_VERSION)
		return index_bundle_sections_decode(data, len, crc, raw_len,
						    error_r);
	uint8_t *raw = index_inflate(data + INDEX_FILE_HDR, len - INDEX_FILE_HDR,
				     raw_len, crc, error_r);
	if (raw == NULL)
		return NULL;
	Stratus__Indexfile__State *st = index_state_unpack(raw, raw_len,
							   error_r);
	free(raw);
	return st;
}

Stratus__Indexfile__State *index_local_snapshot_decode(const uint8_t *data,
						       size_t len,
						       const char **error_r)
{
	if (len >= INDEX_MAGIC_LEN &&
	    memcmp(data, INDEX_BUNDLE_MAGIC, INDEX_MAGIC_LEN) == 0)
		return index_bundle_decode(data, len, error_r);
	return index_snapshot_decode(data, len, error_r);
}

int index_file_read_all(const char *path, uint64_t max, uint8_t **data_r,
			size_t *len_r, const char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = errno == ENOENT ? "missing" : strerror(errno);
		return errno == ENOENT ? 0 : -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > max) {
		*error_r = "file too large";
		close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	uint8_t *data = xmalloc(size + 1);
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*data_r = data;
	*len_r = got;
	return 1;
}

int index_file_write_atomic(const char *path, const uint8_t *data,
			    size_t len, bool do_fsync, const char **error_r)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = strerror(errno);
		free(tmp);
		return -1;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = strerror(errno);
			close(fd);
			unlink(tmp);
			free(tmp);
			return -1;
		}
		done += (size_t)n;
	}
	if ((do_fsync && fdatasync(fd) < 0) || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		*error_r = strerror(errno);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}
