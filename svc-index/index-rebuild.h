/* svc-index: rebuilding a user's index from the objects in storage
 * (index-rebuild.c): list CHAIN_MAIL under the user's prefix, HEAD each
 * message object for its BlobMeta, and recreate mailboxes and records.
 * Flags that only lived in the lost index are lost; messages are not. */
#ifndef STRATUS_INDEX_REBUILD_H
#define STRATUS_INDEX_REBUILD_H

#include "index-service.h"

typedef void index_rebuild_cb(void *ctx, int ret, uint64_t messages,
			      const char *error);
/* Rebuilds `name` (loaded or not) and replaces its state. */
void index_rebuild_user(struct index_service *svc, const char *name,
			index_rebuild_cb *cb, void *ctx);

#endif
