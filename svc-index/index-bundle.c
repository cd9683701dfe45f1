/* svc-index: index bundles on object storage. (First version: without
 * svc-blob the local cache is all there is.) */
#include "index-bundle.h"

void index_bundle_load(struct index_user *user, int local)
{
	(void)local;
	index_user_load_done(user, 0, NULL);
}

void index_bundle_changed(struct index_user *user)
{
	(void)user;
}

void index_bundle_user_dropped(struct index_user *user)
{
	(void)user;
}

void index_bundle_upload(struct index_user *user, index_bundle_done_cb *cb,
			 void *ctx)
{
	(void)user;
	cb(ctx, 0);
}

void index_bundle_init(struct index_service *svc)
{
	(void)svc;
}

void index_bundle_deinit(struct index_service *svc)
{
	(void)svc;
}
