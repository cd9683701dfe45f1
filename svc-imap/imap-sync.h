/* The selected mailbox's changes as untagged responses (imap-sync.c). */
#ifndef IMAP_SYNC_H
#define IMAP_SYNC_H

#include "imap-common.h"
#include "index.pb-c.h"

/* Applies a Wait reply to the session's view and sends the untagged
 * responses. Returns false when the client is being disconnected (the
 * mailbox is gone). */
bool imap_sync_apply(struct imap_client *client,
		     const Stratus__IndexWaitReply *r);
/* A Wait request from the session's state (strings borrowed). */
void imap_sync_wait_request(struct imap_client *client,
			    Stratus__IndexWaitRequest *req, uint32_t timeout);
/* Removes expunged UIDs from the view with "* n EXPUNGE" each. */
void imap_client_expunged(struct imap_client *client, const uint32_t *uids,
			  size_t n);
/* The message is \Recent for this session. */
bool imap_client_is_recent(const struct imap_client *client, uint32_t uid);
/* "FLAGS (...)" */
void imap_append_flags(struct buf *out, char *const *flags, size_t n,
		       bool recent);

#endif
