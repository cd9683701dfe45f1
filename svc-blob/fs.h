/* The object-storage abstraction of svc-blob. An fs is a chain: zero or
 * more wrappers (fscache, compress) over one driver (posix, s3, scality),
 * built from a Dovecot fs string such as
 * "fscache:1G:/var/cache/mails:s3:https://KEY:SECRET@bucket.host/".
 *
 * Every operation is asynchronous: it returns at once and calls cb exactly
 * once, from the loop (never from inside the call), with a struct
 * fs_result. Keys are full storage keys (the per-user prefix already
 * applied, validated by blob-keys.c). Bodies are file descriptors: put
 * reads the whole of `fd` from offset 0 (pread, so a retry can read it
 * again); get hands back an fd positioned anywhere whose content from
 * offset 0 to `size` is the object. */
#ifndef STRATUS_FS_H
#define STRATUS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

enum fs_status {
	FS_OK = 0,
	FS_NOT_FOUND,
	FS_INVALID,	/* bad key or request */
	FS_DENIED,	/* 403: credentials or permissions */
	FS_TEMPFAIL,	/* storage down, timeouts, retries exhausted */
	FS_CONFLICT,	/* put: the if_match / if_none_match condition failed */
};

/* What a rebuild needs, stored with each object (S3 x-amz-meta-*, CDMI
 * metadata, posix xattr). Strings are owned (NULL = unset). */
struct fs_meta {
	char *mailbox_guid;
	char *message_guid;
	int64_t received_date;
	int64_t save_date;
	uint64_t physical_size;
	uint64_t virtual_size;
	uint64_t generation;	/* index bundles (BlobMeta.generation) */
	bool precompressed;	/* put only: compress: stores the body as is */
	/* put only, borrowed: store only if the object's etag is this, or
	 * only if there is none (drivers without conditions ignore them) */
	const char *if_match;
	bool if_none_match;
	/* get/head/put results: the object's version tag (owned) */
	char *etag;
};

struct fs_list_entry {
	char *key;
	uint64_t size;
};

struct fs_result {
	enum fs_status status;
	const char *error;	/* set when status != FS_OK */
	/* get: the body; the callback may take it (set to -1), otherwise it
	 * is closed after the callback returns. */
	int fd;
	uint64_t size;
	struct fs_meta meta;	/* get/head */
	bool from_cache;
	/* list */
	struct fs_list_entry *entries;
	size_t n_entries;
	char *next;		/* continuation, NULL = done */
	/* delete */
	unsigned int deleted;
	char **failed;
	size_t n_failed;
};

typedef void fs_cb(struct fs_result *result, void *ctx);

struct fs;

/* Per-operation driver interface; wrappers implement it over `parent`. */
struct fs_vfuncs {
	const char *name;
	void (*put)(struct fs *fs, const char *key, int fd,
		    const struct fs_meta *meta, fs_cb *cb, void *ctx);
	void (*get)(struct fs *fs, const char *key, fs_cb *cb, void *ctx);
	void (*head)(struct fs *fs, const char *key, fs_cb *cb, void *ctx);
	void (*delete)(struct fs *fs, const char *const *keys, size_t n,
		       fs_cb *cb, void *ctx);
	void (*copy)(struct fs *fs, const char *src, const char *dst,
		     fs_cb *cb, void *ctx);
	void (*list)(struct fs *fs, const char *prefix, const char *after,
		     unsigned int max_keys, fs_cb *cb, void *ctx);
	void (*free)(struct fs *fs);
	/* Drivers that keep an object as one local file with its metadata
	 * (posix): that file's path (owned by the caller), so a cache in
	 * front can link it instead of copying it. NULL elsewhere. */
	char *(*local_path)(struct fs *fs, const char *key);
};

struct blob_stats;

struct fs {
	const struct fs_vfuncs *v;
	struct fs *parent;	/* the fs this wrapper wraps, NULL for drivers */
	struct loop *loop;
	struct blob_stats *stats;
	void *priv;
	/* The user of the operation being started, set on the driver by
	 * fs_set_request_user() (owned). Drivers read it only while an
	 * operation call runs (wrappers forward calls synchronously), for
	 * per-user headers such as scality's addhdr. */
	char *req_user;
};

/* Settings that come from outside the fs string. */
struct fs_settings {
	unsigned int max_parallel_gets;	/* mail_prefetch_count */
	unsigned int max_parallel_writes;
	unsigned int max_parallel_copies;
	unsigned int max_parallel_deletes;
	const char *user;	/* for %-variables in addhdr (may be NULL) */
	/* mail_fsync = never: the posix driver writes without fsync, as
	 * Dovecot does; optimized and always fsync file and folder. */
	bool no_fsync;
};

/* Limits on what the service accepts. */
#define FS_KEY_MAX 1024
#define FS_LIST_MAX_KEYS 1000
#define FS_DELETE_MAX_KEYS 1000

/* Builds the chain for `str`; -1 with *error_r (malloc'd) when the string
 * is malformed or a driver cannot start. */
int fs_init(const char *str, struct loop *loop, struct blob_stats *stats,
	    const struct fs_settings *set, struct fs **fs_r, char **error_r);
void fs_deinit(struct fs **fs);

/* Names the user of the next operation started on `fs` (any layer of a
 * chain; stored on its driver). NULL clears it. */
void fs_set_request_user(struct fs *fs, const char *user);

static inline void fs_put(struct fs *fs, const char *key, int fd,
			  const struct fs_meta *meta, fs_cb *cb, void *ctx)
{ fs->v->put(fs, key, fd, meta, cb, ctx); }
static inline void fs_get(struct fs *fs, const char *key, fs_cb *cb, void *ctx)
{ fs->v->get(fs, key, cb, ctx); }
static inline void fs_head(struct fs *fs, const char *key, fs_cb *cb, void *ctx)
{ fs->v->head(fs, key, cb, ctx); }
static inline void fs_delete(struct fs *fs, const char *const *keys, size_t n,
			     fs_cb *cb, void *ctx)
{ fs->v->delete(fs, keys, n, cb, ctx); }
static inline void fs_copy(struct fs *fs, const char *src, const char *dst,
			   fs_cb *cb, void *ctx)
{ fs->v->copy(fs, src, dst, cb, ctx); }
static inline void fs_list(struct fs *fs, const char *prefix, const char *after,
			   unsigned int max_keys, fs_cb *cb, void *ctx)
{ fs->v->list(fs, prefix, after, max_keys, cb, ctx); }

/* ---- helpers shared by drivers (fs-common.c) ---- */

void fs_meta_clear(struct fs_meta *meta);
void fs_meta_copy(struct fs_meta *dst, const struct fs_meta *src);
/* Packs/unpacks the meta as a BlobMeta protobuf (posix xattr, cache). */
size_t fs_meta_pack(const struct fs_meta *meta, uint8_t **data_r);
int fs_meta_unpack(const uint8_t *data, size_t len, struct fs_meta *meta_r);

/* A result being built; fs_result_deliver() calls cb from the loop and
 * then frees everything (closing fd if not taken). */
struct fs_pending {
	struct fs_result r;
	fs_cb *cb;
	void *ctx;
	char *error_buf;
};
struct fs_pending *fs_pending_new(fs_cb *cb, void *ctx);
void fs_pending_fail(struct fs_pending *p, enum fs_status status,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fs_pending_deliver(struct loop *loop, struct fs_pending *p);
/* Calls the callback now (for callers already running from the loop). */
void fs_pending_finish(struct fs_pending *p);
void fs_result_free_contents(struct fs_result *r);

/* An anonymous in-memory file for bodies; -1 on failure. */
int fs_memfd(const char *name);
/* Copies all of in (from offset 0) to out at its current offset; returns
 * bytes copied or -1. */
int64_t fs_copy_fd(int in, int out);
/* Size of an fd's file, or -1. */
int64_t fs_fd_size(int fd);

const char *fs_status_name(enum fs_status status);

#endif
