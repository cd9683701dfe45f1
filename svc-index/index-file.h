/* svc-index: the byte formats of the local metacache files and of index
 * bundles, with decoders that treat every byte as untrusted (they are
 * fuzzed by tests/fuzz/fuzz-index-file.c).
 *
 * Log   ("index.log"):  "STXLOG1\n", then records
 *       u32le length | u32le crc32(payload) | payload (a Transaction).
 *       A short or mismatching record ends the valid part: a torn write
 *       from a crash, dropped at open.
 * Snapshot ("index.snap"): "STXSNAP\n" u32le version u32le crc32
 *       u64le length, then a State. Written to a temp file and renamed.
 * Bundle (object "index.bundle" in obox_index_fs), version 2 (written):
 *       "STXBNDL\n" u32le 2 u32le section count u64le body length, then
 *       sections: u32le raw length | u32le deflated length |
 *       u32le crc32(raw) | zlib-deflated bytes. The first section is the
 *       State with every mailbox's records left out; each further one is
 *       a Mailbox holding only its guid and an ascending run of records
 *       (one chunk of INDEX_BUNDLE_CHUNK_UIDS UIDs), appended to that
 *       mailbox. Sections are compressed independently so that an upload
 *       re-encodes only the chunks that changed (index-bundle-cache.c).
 *       Since the lazy load (index-bundle-lazy.c), each chunk is two
 *       sections, its records without their cached fields and then a
 *       Mailbox with the same guid, no records and the cached fields in
 *       cached_records, and the first section's State lists every
 *       further section in `sections` (the directory), so a reader
 *       inflates the records and leaves the cached fields, 90 % of the
 *       bytes, until they are asked for. The version stays 2: an older
 *       reader appends each chunk's records and skips the cached
 *       sections (no records), losing only the cached fields (svc-imap
 *       then reads headers from the message); a bundle without a
 *       directory (older writers) is read whole.
 *       Version 1 (still read): "STXBNDL\n" u32le 1 u32le crc32(raw)
 *       u64le raw length, then the whole State deflated in one piece. */
#ifndef STRATUS_INDEX_FILE_H
#define STRATUS_INDEX_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index-file.pb-c.h"

#define INDEX_FILE_VERSION 1
#define INDEX_LOG_MAGIC "STXLOG1\n"
#define INDEX_SNAP_MAGIC "STXSNAP\n"
#define INDEX_BUNDLE_MAGIC "STXBNDL\n"
#define INDEX_BUNDLE_VERSION 2
#define INDEX_MAGIC_LEN 8
#define INDEX_SECTION_HDR 12
#define INDEX_LOG_RECORD_HDR 8
#define INDEX_FILE_HDR (INDEX_MAGIC_LEN + 16)
/* Bounds on what we read: one transaction, one user's whole state. */
#define INDEX_LOG_RECORD_MAX (16u * 1024 * 1024)
#define INDEX_STATE_MAX (1024ull * 1024 * 1024)

typedef int index_log_txn_cb(const Stratus__Indexfile__Transaction *txn,
			     void *ctx, const char **error_r);

/* Walks the records of a log image. Stops at the first torn or corrupt
 * record: *valid_end_r is where the good part ends (the file is then
 * truncated there). Returns -1 only for a bad header or when cb fails. */
int index_log_parse(const uint8_t *data, size_t len, index_log_txn_cb *cb,
		    void *ctx, size_t *valid_end_r, const char **error_r);
/* One framed record for a packed Transaction (malloc'd). */
uint8_t *index_log_frame(const uint8_t *payload, size_t len, size_t *out_r);

/* Snapshot image: header + payload (malloc'd). */
uint8_t *index_snapshot_encode(const uint8_t *state, size_t len,
			       size_t *out_r);
/* Checks the header and CRC; returns the unpacked State (free with
 * stratus__indexfile__state__free_unpacked) or NULL with *error_r. */
Stratus__Indexfile__State *index_snapshot_decode(const uint8_t *data,
						 size_t len,
						 const char **error_r);
/* Bundle version 2: one framed, deflated section (malloc'd; NULL when
 * zlib fails), and the header before n_sections of body_len bytes. */
uint8_t *index_bundle_section(const uint8_t *raw, size_t len, int level,
			      size_t *out_r);
/* The local snapshot file: a snapshot, or a bundle as downloaded (a
 * cold open keeps the bundle's bytes as its snapshot). */
Stratus__Indexfile__State *index_local_snapshot_decode(const uint8_t *data,
						       size_t len,
						       const char **error_r);
/* Inflates one framed section (header included, len = its whole size)
 * and checks its CRC (malloc'd; NULL with *error_r). */
uint8_t *index_section_inflate(const uint8_t *frame, size_t len,
			       size_t *raw_len_r, const char **error_r);
/* Where each section of a version-2 bundle is, without inflating any:
 * 1 with *refs_r (malloc'd) and *n_r, 0 for a version-1 bundle (one
 * piece), -1 with *error_r for a bad header or framing. */
struct index_section_ref {
	size_t offset, len;	/* of the framed section in the bundle */
	uint32_t raw_len;
};
int index_bundle_frames(const uint8_t *data, size_t len,
			struct index_section_ref **refs_r, uint32_t *n_r,
			const char **error_r);
/* Frees the zlib states index_bundle_section and the section inflates
 * keep between calls. */
void index_file_deinit(void);
void index_bundle_header(uint8_t *out, uint32_t n_sections,
			 uint64_t body_len);
/* Bundle version 1 (kept for tests and old objects): compress a packed
 * State. index_bundle_decode reads both versions and refuses newer. */
uint8_t *index_bundle_encode(const uint8_t *state, size_t len, int level,
			     size_t *out_r);
Stratus__Indexfile__State *index_bundle_decode(const uint8_t *data,
					       size_t len,
					       const char **error_r);

/* File helpers. fsync follows mail_fsync (never = no fsync at all). */
int index_file_read_all(const char *path, uint64_t max, uint8_t **data_r,
			size_t *len_r, const char **error_r);
int index_file_write_atomic(const char *path, const uint8_t *data,
			    size_t len, bool do_fsync, const char **error_r);

#endif
