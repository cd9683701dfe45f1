/* Single-instance mail objects: one object stored once for the several
 * users an LMTP transaction delivered it to, each user's index
 * referencing it, deleted when the last of them released it.
 *
 * The key says it all, so that any svc-blob of the fleet (and any caller
 * that only knows the key) treats it the same way:
 *
 *   <mailbox-guid>/<message-guid>.sis<N>.<owner>
 *
 * stored under <owner>'s prefix, shared by N distinct users (the owner
 * among them). A Get/Head/Copy of such a key by any user reads the
 * owner's object. A Delete of it by user U is a release: a marker
 * "sis-released/<message-guid>.sis<N>.<owner>/<md5(U)>" is stored under
 * the owner's prefix, and the object (with its markers) is deleted only
 * once N distinct markers exist. A marker is named by its user, so a
 * repeated release counts once; a crash between the steps leaves an
 * object or markers behind (a leak), never deletes a referenced one. */
#ifndef STRATUS_BLOB_SHARE_H
#define STRATUS_BLOB_SHARE_H

#include <stdbool.h>
#include <stddef.h>

#include "blob.h"

/* The folder (under the owner's prefix) of the release markers. */
#define BLOB_SHARE_RELEASED "sis-released/"

/* Whether `key` (relative, already valid) names a shared object: then
 * *owner_r (malloc'd) is its owner and *n_r the number of users. */
bool blob_share_parse(const char *key, char **owner_r, unsigned int *n_r);

/* Whether any of the keys names a shared object. */
bool blob_share_any(char *const *keys, size_t n);

/* Delete for `user` of keys of which some are shared: plain keys are
 * deleted under the user's prefix, shared ones released; one reply. */
void blob_share_delete(struct rpc_call *call, struct blob *blob,
		       struct fs *fs, const char *user,
		       char *const *keys, size_t n_keys);

#endif
