/* svc-index: index bundles on object storage (obox_index_fs through
 * svc-blob): download at load when the local cache is missing or stale
 * (metacache_close_delay), upload by the metacache_* policy, and rebuild
 * from the mail objects when there is neither cache nor bundle. */
#ifndef STRATUS_INDEX_BUNDLE_H
#define STRATUS_INDEX_BUNDLE_H

#include "index-service.h"

/* Object key of the bundle, relative to the user's prefix. */
#define INDEX_BUNDLE_KEY "index.bundle"

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
/* Starts the periodic metacache_upload_interval check. */
void index_bundle_init(struct index_service *svc);
void index_bundle_deinit(struct index_service *svc);

#endif
