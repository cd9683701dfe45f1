/* svc-index: rebuilding a user's index from the objects in storage.
 * index-rebuild.c fetches: list CHAIN_MAIL under the user's prefix,
 * read the mailbox name markers (index-marker.h) and HEAD each message
 * object ("<mailbox-guid>/<message-guid>") for its BlobMeta.
 * index-rebuild-build.c merges what was found into the user's state:
 * records whose message has an object are kept with their UIDs and
 * flags, objects the index does not know become new records, records
 * without an object are expunged, and mailboxes the index lost come
 * back under their marker's name with a new UIDVALIDITY (their UIDs are
 * new, so clients must resync). Flags that only lived in a lost index
 * are lost; messages are not. */
#ifndef STRATUS_INDEX_REBUILD_H
#define STRATUS_INDEX_REBUILD_H

#include "index-service.h"
#include "index-marker.h"

/* Bound on the objects one user may have for a rebuild. */
#define INDEX_REBUILD_MAX_OBJECTS 5000000u
/* HEAD/GET requests in flight per rebuild. */
#define INDEX_REBUILD_PARALLEL 16u

typedef void index_rebuild_cb(void *ctx, int ret, uint64_t messages,
			      const char *error);
/* Rebuilds `name` (loading it first if needed) and replaces its state;
 * calls for the user queue meanwhile. */
void index_rebuild_user(struct index_service *svc, const char *name,
			index_rebuild_cb *cb, void *ctx);
/* Load step when there is neither local cache nor bundle: rebuilds
 * the LOADING user, then index_user_load_done(). */
void index_rebuild_load(struct index_user *user);

/* ---- what the fetch found, for index-rebuild-build.c ---- */
struct index_rebuild_msg {
	char *key;			/* relative to the user's prefix */
	/* What svc-blob's Put returned for this key (its List names the
	 * prefix), so a rebuilt record has the id the lost one had. NULL
	 * from an older svc-blob: the key is used. */
	char *object_id;
	char box_guid[INDEX_GUID_LEN + 1];	/* from the key or BlobMeta */
	char *message_guid;
	int64_t received_date, save_date;
	uint64_t psize, vsize;
	bool found;			/* HEAD answered */
};

struct index_rebuild_box {
	char guid[INDEX_GUID_LEN + 1];
	struct index_marker marker;
	bool found;			/* marker read and parsed */
};

struct index_rebuild_stats {
	uint64_t messages;		/* in the rebuilt state */
	uint64_t added, dropped;
	unsigned int boxes_created;
};

/* Splits "<32 hex>/<name>": 1 = message key, 2 = marker key, 0 =
 * anything else (bundles, Sieve scripts, dot files). */
int index_rebuild_key_kind(const char *key, char guid_r[INDEX_GUID_LEN + 1]);
/* Merges found objects and markers into st (the user's state, unpacked
 * with the system allocator; changed in place). New UIDVALIDITYs come
 * from user. Returns the mailboxes that were created (their markers are
 * rewritten by the caller) as an array of GUIDs (malloc'd). */
char **index_rebuild_merge(Stratus__Indexfile__State *st,
			   struct index_rebuild_msg *msgs, size_t n_msgs,
			   struct index_rebuild_box *boxes, size_t n_boxes,
			   struct index_user *user,
			   struct index_rebuild_stats *stats_r);

#endif
