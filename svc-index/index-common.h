/* svc-index: the in-memory model of one user's metacache and the
 * functions the service's modules share. A user's state is a mailbox list
 * plus one record array per mailbox, loaded from a snapshot and the
 * transaction log after it (index-user.c), changed only through
 * index_user_commit() so that memory and log never disagree. */
#ifndef STRATUS_INDEX_COMMON_H
#define STRATUS_INDEX_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index-file.pb-c.h"

#ifndef N_ELEMENTS
#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define INDEX_GUID_LEN 32
#define INDEX_MAX_KEYWORDS 64
#define INDEX_MAX_NAME_LEN 1000
#define INDEX_MAX_NAME_LEVELS 32
#define INDEX_MAX_USER_LEN 255
#define INDEX_MAX_FLAG_LEN 256
/* Expunge history kept per mailbox for Wait/QRESYNC; older expunges make
 * a Wait since before them answer `resync`. */
#define INDEX_MAX_TOMBSTONES 100000

enum index_flag {
	INDEX_FLAG_SEEN = 0x01,
	INDEX_FLAG_ANSWERED = 0x02,
	INDEX_FLAG_FLAGGED = 0x04,
	INDEX_FLAG_DELETED = 0x08,
	INDEX_FLAG_DRAFT = 0x10,
};
#define INDEX_FLAGS_ALL 0x1f
#define INDEX_N_SYSFLAGS 5u

struct index_cached {
	char *name;
	uint8_t *data;
	size_t len;
};

struct index_record {
	uint32_t uid;
	uint8_t sysflags;
	uint64_t keywords;
	uint64_t modseq;
	int64_t internal_date;
	int64_t save_date;
	uint64_t psize;
	uint64_t vsize;
	char *guid;
	char *object_id;
	struct index_cached *cached;
	size_t n_cached;
};

struct index_tombstone {
	uint32_t uid;
	uint64_t modseq;
};

struct index_waiter;

/* UIDs per record chunk of a bundle: an append re-encodes one chunk. */
#define INDEX_BUNDLE_CHUNK_SHIFT 6
#define INDEX_BUNDLE_CHUNK_UIDS (1u << INDEX_BUNDLE_CHUNK_SHIFT)

/* The two compressed bundle sections of one chunk, as last encoded or
 * as downloaded (index-bundle-cache.c): the records (stale once one of
 * them changed) and their cached fields (stale once one was appended or
 * expunged; a flag change leaves them). `lazy`: the chunk was loaded
 * from a bundle and its records' cached fields are still only in
 * cached_section, inflated on first use (index-bundle-lazy.c). */
struct index_bundle_chunk {
	uint32_t key;		/* uid >> INDEX_BUNDLE_CHUNK_SHIFT */
	bool stale;
	bool cached_stale;
	bool lazy;
	uint8_t *section;
	size_t len;
	uint8_t *cached_section;
	size_t cached_len;
};

struct index_mailbox {
	char *name;
	char guid[INDEX_GUID_LEN + 1];
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t first_recent_uid;
	uint64_t highest_modseq;
	char *keywords[INDEX_MAX_KEYWORDS];
	size_t n_keywords;
	char **special_use;
	size_t n_special_use;
	struct index_record *recs;	/* ascending uid */
	size_t n_recs, cap_recs;
	struct index_tombstone *tombs;	/* ascending modseq */
	size_t n_tombs, cap_tombs;
	uint64_t tomb_floor;
	struct index_waiter *waiters;	/* sessions waiting for changes */
	struct index_bundle_chunk *chunks;	/* ascending key */
	size_t n_chunks;
	size_t n_lazy;		/* chunks whose cached fields are not loaded */
	/* uidnext and highest_modseq of the last bundle this state was
	 * downloaded from or uploaded as (0 = unknown): what a merge into a
	 * newer bundle counts as local changes (index-bundle-merge.c). */
	uint32_t base_uidnext;
	uint64_t base_modseq;
};

enum index_user_state {
	INDEX_USER_LOADING,
	INDEX_USER_READY,
	INDEX_USER_FAILED,
};

struct index_service;
struct index_pending;

struct index_user {
	struct index_service *svc;
	char *name;
	char *dir;		/* mail_home/stratus-index */
	enum index_user_state state;
	struct index_pending *pending;	/* calls waiting for the load */
	struct index_mailbox **boxes;
	size_t n_boxes;
	char **subs;
	size_t n_subs;
	uint32_t last_uidvalidity;
	uint64_t seq;		/* last committed transaction */
	uint64_t generation;	/* bundle generation of this state */
	int log_fd;
	uint64_t log_size;
	uint64_t snap_size;
	/* bundle upload policy */
	bool dirty;
	unsigned int saved_since_upload;
	uint64_t dirty_since_ms;
	bool uploading;
	bool rebuilding;	/* index-rebuild.c owns the LOADING state */
	uint64_t last_access_ms;
	struct index_user *lru_prev, *lru_next;	/* most recent first */
	struct index_user *hash_next;
	/* WaitUser (IMAP NOTIFY): the user's change counter (0 = none
	 * given out yet) and the calls parked until it moves. */
	uint64_t change;
	struct index_user_waiter *user_waiters;
};

/* ---- index-state.c: the model ---- */
struct index_mailbox *index_mailbox_new(const char *name, const char *guid,
					uint32_t uidvalidity);
void index_mailbox_free(struct index_mailbox *box);
void index_record_clear(struct index_record *rec);
struct index_mailbox *index_user_find_box(const struct index_user *user,
					  const char *name);
struct index_mailbox *index_user_find_guid(const struct index_user *user,
					   const char *guid);
/* Index of the record with `uid`, or -1. */
long index_mailbox_find_uid(const struct index_mailbox *box, uint32_t uid);
/* First record index with uid >= `uid`. */
size_t index_mailbox_lower_bound(const struct index_mailbox *box,
				 uint32_t uid);
void index_user_clear_state(struct index_user *user);
uint64_t index_user_message_count(const struct index_user *user);

/* Flags as strings <-> bits; keyword names are looked up (and with
 * `add`, appended) in the mailbox's table. -1 with *error_r for a bad
 * flag name or a full keyword table. */
int index_flags_parse(struct index_mailbox *box, char *const *flags,
		      size_t n, bool add, uint8_t *sys_r, uint64_t *kw_r,
		      const char **error_r);
/* Returns a malloc'd array of borrowed strings (free the array only). */
const char **index_flags_names(const struct index_mailbox *box,
			       uint8_t sys, uint64_t kw, size_t *n_r);

/* pb <-> model. to_pb borrows the record's strings; cached fields only
 * when with_cached. */
void index_record_to_pb(const struct index_record *rec,
			Stratus__Indexfile__Record *pb,
			Stratus__Indexfile__Cached **cached_buf,
			Stratus__Indexfile__Cached *cached_store,
			bool with_cached);
void index_record_from_pb(struct index_record *rec,
			  const Stratus__Indexfile__Record *pb);
/* rec's cached fields from pb (one allocation, freed by
 * index_record_clear). */
void index_record_cached_from_pb(struct index_record *rec,
				 Stratus__Indexfile__Cached *const *cached,
				 size_t n);

/* ---- index-apply.c: apply a committed transaction ---- */
int index_apply_op(struct index_user *user, const Stratus__Indexfile__Op *op,
		   const char **error_r);
/* Loads a decoded snapshot into an empty user. */
int index_state_load(struct index_user *user,
		     const Stratus__Indexfile__State *st, const char **error_r);
/* Appends records (ascending UIDs above the box's last, below its
 * uidnext) to box; without cached fields when !with_cached. */
int index_box_load_records(struct index_mailbox *box,
			   Stratus__Indexfile__Record *const *recs, size_t n,
			   bool with_cached, const char **error_r);
/* Builds the snapshot of the user's state and packs it (malloc'd); loads
 * every cached field first. */
uint8_t *index_state_pack(struct index_user *user, size_t *len_r);
/* The same without any record, with the directory of box->chunks (a
 * bundle's first section), and the two sections of one bundle chunk: a
 * Mailbox with box's guid and records [from, to) without their cached
 * fields, and one with their cached fields (loaded first). */
uint8_t *index_state_pack_meta(const struct index_user *user, size_t *len_r);
uint8_t *index_box_pack_chunk(const struct index_mailbox *box, size_t from,
			      size_t to, size_t *len_r);
uint8_t *index_box_pack_chunk_cached(struct index_mailbox *box, size_t from,
				     size_t to, size_t *len_r);

/* ---- index-bundle-cache.c: per-chunk bundle sections ---- */
/* The record with this uid was appended or expunged: both sections of
 * its chunk are encoded again; its flags changed: only the records. */
void index_box_chunk_stale(struct index_mailbox *box, uint32_t uid);
void index_box_chunk_flags_stale(struct index_mailbox *box, uint32_t uid);
void index_box_chunks_free(struct index_mailbox *box);	/* with the box */
/* The chunk of key, or NULL. */
struct index_bundle_chunk *index_box_chunk_find(struct index_mailbox *box,
						uint32_t key);

/* ---- index-bundle-lazy.c: bundles loaded lazily ---- */
/* Loads a whole state (a local snapshot, or a bundle of any version)
 * into the empty user. A bundle with a directory (index-file.h) has its
 * records loaded now and their cached fields left deflated in the
 * mailboxes' chunk cache until first use. -1 with *error_r (the user is
 * then empty again). */
int index_state_load_file(struct index_user *user, const uint8_t *data,
			  size_t len, const char **error_r);
/* Records [from, to) of box (every record: 0, box->n_recs) have their
 * cached fields in memory after this. A cached section that no longer
 * decodes is logged and dropped: its records answer as uncached. */
void index_box_cached_load(struct index_mailbox *box, size_t from,
			   size_t to);
void index_user_cached_load_all(struct index_user *user);
/* Encodes the user's bundle (re-encoding only stale or new chunks) into
 * a memfd at offset 0; -1 when zlib or the memfd fails. *encoded_r:
 * the chunks compressed this time (the others came from the cache). */
int index_bundle_build(struct index_user *user, int level,
		       size_t *encoded_r);

/* ---- index-names.c: names and patterns ---- */
/* Normalises a mailbox name in place ("inbox/x" -> "INBOX/x") after
 * validating it; -1 with *error_r. */
int index_name_check(char *name, char sep, const char **error_r);
bool index_name_is_inbox(const char *name);
bool index_mutf7_valid(const char *name);
/* IMAP LIST pattern match ('*' any, '%' any but the separator). */
bool index_pattern_match(const char *pattern, const char *name, char sep);
bool index_user_name_valid(const char *user);
void index_guid_new(char out[INDEX_GUID_LEN + 1]);

#endif
