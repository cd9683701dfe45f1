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
/* The sync field of an index request or reply of method (Fetch, Store,
 * Search, Expunge, Append, Copy), or NULL for the other methods. */
Stratus__IndexWaitRequest **imap_sync_request_slot(int method,
						   ProtobufCMessage *req);
Stratus__IndexWaitReply **imap_sync_reply_slot(int method,
					       ProtobufCMessage *reply);
/* A Wait request to ride along with cmd's index call (timeout 0, the
 * \Recent claim as imap_sync_reply() would make it). */
void imap_sync_ahead_request(struct imap_cmd *cmd,
			     Stratus__IndexWaitRequest *req);
/* Keeps the sync a reply brought for imap_sync_reply() (takes it). */
void imap_sync_ahead_keep(struct imap_cmd *cmd, Stratus__IndexWaitReply *r);
void imap_sync_ahead_clear(struct imap_cmd *cmd);
/* Removes expunged UIDs from the view with "* n EXPUNGE" each (or one
 * VANISHED), the held ones first; while client->hold_expunges they are
 * held instead. */
void imap_client_expunged(struct imap_client *client, const uint32_t *uids,
			  size_t n);
void imap_client_held_expunges_clear(struct imap_client *client);
/* A Wait claimed uid as \Recent for this session before it is in the
 * view (a NOTIFY watcher's answer that came too late to apply): it is
 * \Recent once a sync brings it in. */
void imap_client_claimed_recent(struct imap_client *client, uint32_t uid);
/* The message is \Recent for this session. */
bool imap_client_is_recent(const struct imap_client *client, uint32_t uid);
/* "FLAGS (...)" */
void imap_append_flags(struct buf *out, char *const *flags, size_t n,
		       bool recent);

#endif
