/* svc-index: the service-wide state (settings, the cached users, the
 * blob client) and the user lifecycle: get (load on first use, queueing
 * calls while a load is in flight), commit, compact, drop. */
#ifndef STRATUS_INDEX_SERVICE_H
#define STRATUS_INDEX_SERVICE_H

#include "index-common.h"
#include "config.h"
#include "loop.h"

enum index_fsync_mode {
	INDEX_FSYNC_NEVER,
	INDEX_FSYNC_OPTIMIZED,
	INDEX_FSYNC_ALWAYS,
};

struct index_autobox {
	char *name;
	char **special_use;
	size_t n_special_use;
	bool subscribe;
};

struct index_settings {
	char *mail_home;	/* template */
	enum index_fsync_mode fsync;
	char sep;
	struct index_autobox *autoboxes;
	size_t n_autoboxes;
	bool bundles;		/* obox_index_fs set: upload bundles */
	bool rebuild_from_objects;	/* obox_fs set */
	uint64_t max_space;	/* metacache_max_space, 0 = unlimited */
	bool delay_uploads;
	uint64_t upload_interval_ms;
	uint64_t close_delay_ms;
	unsigned int rescan_mail_count;	/* obox_max_rescan_mail_count */
	bool autofix;
	int compress_level;
	/* A log grown past max(this, snapshot size) is compacted. */
	uint64_t compact_min_bytes;
};

#define INDEX_USER_HASH_SIZE 4096

struct index_blob;

struct index_service {
	struct loop *loop;
	const struct config *cfg;
	struct index_settings set;
	struct index_user *buckets[INDEX_USER_HASH_SIZE];
	struct index_user *lru_head, *lru_tail;
	unsigned int n_users;
	uint64_t total_bytes;	/* local files of every cached user */
	struct index_blob *blob;	/* NULL without bundles/rebuild */
	struct loop_timer *upload_timer;
	struct loop_timer *evict_timer;	/* a pass is scheduled */
	/* counters for `stratusctl status` and tests */
	uint64_t n_commits, n_compactions, n_torn_tails, n_corrupt;
	uint64_t n_uploads, n_upload_failures, n_downloads, n_rebuilds;
	/* bundle encoding: chunks compressed, time spent (microseconds) */
	uint64_t n_upload_chunks, upload_encode_us;
	uint64_t n_evictions, n_notifications;
	uint64_t user_changes;	/* index_notify_user_changed's counter */
	/* fleet: generations lost to another backend, merges into theirs */
	uint64_t n_publish_conflicts, n_merges;
};

int index_settings_read(struct index_settings *set, const struct config *cfg,
			char **error_r);
void index_settings_free(struct index_settings *set);

struct index_service *index_service_new(struct loop *loop,
					const struct config *cfg,
					char **error_r);
void index_service_free(struct index_service **svc);

/* Called with the ready user, or user = NULL and an error with a status
 * (STRATUS__STATUS__STATUS_*) when loading failed. */
typedef void index_user_cb(struct index_user *user, int status,
			   const char *error, void *ctx);
void index_user_get(struct index_service *svc, const char *name,
		    index_user_cb *cb, void *ctx);
struct index_user *index_user_lookup(struct index_service *svc,
				     const char *name);
/* Logs the transaction, then applies it. -1 with *error_r (nothing
 * applied) when the log cannot be written. */
int index_user_commit(struct index_user *user,
		      Stratus__Indexfile__Op **ops, size_t n_ops,
		      const char **error_r);
/* Writes a snapshot and starts a new log. crash_point (tests only): 1 =
 * stop after writing the snapshot temp file, 2 = after renaming it. */
int index_user_compact(struct index_user *user, int crash_point);
/* Loads the user's local files (the load step of index_user_get):
 * 1 loaded, 0 no local state, -1 corrupt (files moved aside). */
int index_user_load_local(struct index_user *user);
/* Replaces the user's state with a decoded one (bundle or rebuild) and
 * writes it locally as the new snapshot: file (the bundle st was decoded
 * from) as it is, or, when NULL, st encoded as a snapshot. */
int index_user_replace_state(struct index_user *user,
			     const Stratus__Indexfile__State *st,
			     const uint8_t *file, size_t flen,
			     const char **error_r);
/* The same with the state loaded into `from` (a user struct of its
 * own, left empty) and file, the bundle it was loaded from, as the new
 * snapshot. */
int index_user_take_state(struct index_user *user, struct index_user *from,
			  const uint8_t *file, size_t flen,
			  const char **error_r);
/* Creates INBOX and the auto=create|subscribe mailboxes that are missing. */
int index_user_autocreate(struct index_user *user, const char **error_r);
void index_user_touch(struct index_user *user);
/* The local state has changes no bundle holds / a bundle holds them
 * all now (kept on disk as index.dirty across restarts). */
void index_user_mark_dirty(struct index_user *user);
void index_user_mark_clean(struct index_user *user);
/* Bytes of the user's local files. */
uint64_t index_user_disk_bytes(const struct index_user *user);
/* Forgets the user in memory and (with delete_files) on disk. */
void index_user_drop(struct index_user *user, bool delete_files);
/* Completes the pending gets of a user whose load finished. */
void index_user_load_done(struct index_user *user, int status,
			  const char *error);
/* Allocates a fresh UIDVALIDITY (time based, unique per user). */
uint32_t index_user_new_uidvalidity(struct index_user *user);

#endif
