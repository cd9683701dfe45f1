/* Calls into svc-index for a command in progress: the reply comes back
 * from the loop to cb with the command (never after the client is gone).
 * Also the selected-mailbox state and the NO texts for index failures. */
#ifndef IMAP_INDEX_H
#define IMAP_INDEX_H

#include "imap-common.h"
#include "imap-rpc.h"
#include "index.pb-c.h"

enum imap_index_method {
	IMAP_INDEX_LIST = 0,
	IMAP_INDEX_CREATE = 1,
	IMAP_INDEX_DELETE = 2,
	IMAP_INDEX_RENAME = 3,
	IMAP_INDEX_SUBSCRIBE = 4,
	IMAP_INDEX_STATUS = 5,
	IMAP_INDEX_OPEN = 6,
	IMAP_INDEX_APPEND = 7,
	IMAP_INDEX_STORE = 8,
	IMAP_INDEX_EXPUNGE = 9,
	IMAP_INDEX_COPY = 10,
	IMAP_INDEX_FETCH = 11,
	IMAP_INDEX_SEARCH = 12,
	IMAP_INDEX_WAIT = 13,
	IMAP_INDEX_WAIT_USER = 18,	/* (2.2) NOTIFY */
};

typedef imap_rpc_cb imap_index_cb;

void imap_index_init(struct imap_ctx *ctx);
void imap_index_deinit(struct imap_ctx *ctx);
void imap_index_call(struct imap_cmd *cmd, enum imap_index_method method,
		     const ProtobufCMessage *req, imap_index_cb *cb);
/* Sends the tagged NO for a failed index call and ends the command. */
void imap_index_fail(struct imap_cmd *cmd, const struct rpc_reply *reply,
		     const char *mailbox);
/* A mailbox argument to the index's wire name: INBOX normalised, a
 * trailing separator dropped (tb-extra-mailbox-sep, or always for CREATE),
 * mUTF-7 checked. NULL with a tagged NO sent when invalid. */
const char *imap_mailbox_arg(struct imap_cmd *cmd, const struct imap_arg *arg,
			     bool strip_sep);
/* After an expunge (EXPUNGE, CLOSE): deletes the objects no mailbox
 * references from svc-blob and tells svc-quota (fire and forget). */
void imap_expunge_cleanup(struct imap_client *client,
			  const Stratus__IndexExpungeReply *r);
/* STATUS items (a list): all known; HIGHESTMODSEQ enables CONDSTORE. */
bool imap_status_items_valid(struct imap_client *client,
			     const struct imap_arg *items);
/* "* STATUS name (ITEM n ...)" for the items list. */
void imap_status_format(struct imap_client *client, struct buf *out,
			const char *name, const struct imap_arg *items,
			const Stratus__IndexMailboxStatus *st);
/* A name (or LIST pattern) from the client in the index's form: the
 * same, or from UTF-8 after ENABLE IMAP4rev2; NULL if not UTF-8. */
const char *imap_mailbox_from_client(struct imap_cmd *cmd, const char *name);
/* Appends a mailbox name as an atom when safe, else quoted/literal. */
void imap_append_astring(struct buf *out, const char *s);

#endif
