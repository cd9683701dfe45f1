/* svc-index: index bundles on object storage (obox_index_fs through
 * svc-blob): download at load when the local cache is missing or stale
 * (metacache_close_delay), upload by the metacache_* policy, and rebuild
 * from the mail objects when there is neither cache nor bundle. */
#ifndef STRATUS_INDEX_BUNDLE_H
#define STRATUS_INDEX_BUNDLE_H

#include "index-service.h"
#include "rpc.h"

/* Object key of the bundle, relative to the user's prefix. */
#define INDEX_BUNDLE_KEY "index.bundle"

/* Get / Head of user's bundle object through svc-blob (CHAIN_INDEX);
 * cb runs as for rpc_client_call(). */
void index_bundle_get(struct index_service *svc, const char *user,
		      rpc_reply_cb *cb, void *ctx);
void index_bundle_head(struct index_service *svc, const char *user,
		       rpc_reply_cb *cb, void *ctx);

/* Second step of a load, after index_user_load_local() returned
 * `local`; ends with index_user_load_done(). */
void index_bundle_load(struct index_user *user, int local);
/* A transaction was committed: apply the upload policy. */
void index_bundle_changed(struct index_user *user);
/* The user is being forgotten: cancel what refers to it. */
void index_bundle_user_dropped(struct index_user *user);
/* Uploads the user's state now; cb(ctx, 0 | -1) from the loop. */
typedef void index_bundle_done_cb(void *ctx, int ret);
void index_bundle_upload(struct index_user *user, index_bundle_done_cb *cb,
			 void *ctx);
/* Uploads under a generation claim (index-bundle-publish.c): a backend
 * that finds a newer bundle merges into it and uploads again. */
/* metacache_close_delay: user was not accessed for that long, so another
 * backend may have changed it; index_bundle_refresh() puts it in
 * LOADING, checks the stored bundle's generation and takes (or merges
 * into) a newer one, then completes the queued calls. */
bool index_bundle_refresh_due(const struct index_user *user);
void index_bundle_refresh(struct index_user *user);
/* Merges user's state into `newer`, a bundle of a later generation
 * (index-bundle-merge.c): newer's UIDs and flags stay, local changes
 * since the mailboxes' base go on top (local new messages get new UIDs).
 * The result becomes the local snapshot, dirty. -1 with *error_r. */
int index_bundle_merge(struct index_user *user,
		       const Stratus__Indexfile__State *newer,
		       const char **error_r);
/* The user's state is the stored bundle's: each mailbox's base. */
void index_bundle_set_base(struct index_user *user);
/* Starts the periodic metacache_upload_interval check. */
void index_bundle_init(struct index_service *svc);
void index_bundle_deinit(struct index_service *svc);

#endif
