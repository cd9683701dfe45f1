/* Single instance for a transaction with several recipients: the stored
 * message is the same for all of them (with several recipients the trace
 * headers name none, as Dovecot's LMTP writes them), so it is built,
 * parsed for the cached fields and PUT once, under the key
 * "<mailbox-guid>/<guid>.sis<N>.<owner>" of the first recipient to reach
 * the PUT (its owner), N being the number of distinct users of the
 * transaction; every recipient's index entry references that object.
 * svc-blob (blob-share.h) deletes it when all N users released it; the
 * users that end without a reference (a failed append, a quota refusal,
 * a Sieve discard) are released here when the share is freed.
 *
 * Each recipient's 250 still waits for the PUT and for its own Append,
 * so nothing acknowledged is lost; a crash between the PUT and the last
 * release leaks the object, it never frees a referenced one. */
#ifndef LMTP_SHARE_H
#define LMTP_SHARE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "guid.h"
#include "lmtp-cache.h"
#include "lmtp-message.h"
#include "lmtp-rpc.h"

enum lmtp_share_state {
	LMTP_SHARE_NEW,		/* nobody asked for the PUT yet */
	LMTP_SHARE_PUTTING,
	LMTP_SHARE_STORED,
	LMTP_SHARE_FAILED,
};

struct lmtp_share_waiter;

struct lmtp_share {
	int refcount;
	struct lmtp_rpc_backend *be;
	char *session;		/* for the calls' Context */
	char *client_ip;
	unsigned int client_port;
	struct lmtp_message msg;
	struct lmtp_cached cached;
	bool cached_built, cached_ok;
	char guid[GUID_HEX_LEN + 1];
	enum lmtp_share_state state;
	char *key;		/* relative to the owner's prefix */
	char *object_id;	/* what Put returned */
	char *error;		/* LMTP_SHARE_FAILED */
	char **users;		/* distinct users of the transaction */
	bool *referenced;	/* per user: an append took (or may have) */
	size_t n_users;
	struct lmtp_share_waiter *waiters;
};

/* Builds the shared message from headers and the body; NULL with
 * *error_r (malloc'd). users: the transaction's recipients' users (with
 * repeats). */
struct lmtp_share *lmtp_share_new(struct lmtp_rpc_backend *be,
				  const struct lmtp_client *client,
				  const struct buf *headers, int body_fd,
				  uint64_t body_size, char *const *users,
				  size_t n_users, char **error_r);
void lmtp_share_ref(struct lmtp_share *share);
/* The last unref releases the users left without a reference. */
void lmtp_share_unref(struct lmtp_share **share);

/* object_id NULL: the PUT failed (error says why). */
typedef void lmtp_share_stored_fn(void *ctx, const char *object_id,
				  const char *error);
/* The object, PUT by the first caller (as `user`, in its mailbox) and
 * shared by the others; done runs once, from the loop or at once. */
void lmtp_share_store(struct lmtp_share *share, const char *user,
		      const char *mailbox_guid, int64_t received_time,
		      lmtp_share_stored_fn *done, void *ctx);

/* user's index references the object (or may: an unanswered append). */
void lmtp_share_referenced(struct lmtp_share *share, const char *user);

/* The cached fields, parsed once; NULL when the message cannot be
 * parsed (the appends go without a cache). */
const struct lmtp_cached *lmtp_share_cached(struct lmtp_share *share);

#endif
