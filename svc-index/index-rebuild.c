/* svc-index: rebuild from object listings (see index-rebuild.h). */
#include "index-rebuild.h"

void index_rebuild_user(struct index_service *svc, const char *name,
			index_rebuild_cb *cb, void *ctx)
{
	(void)svc;
	(void)name;
	cb(ctx, -1, 0, "object storage is not configured");
}
