/* IMAP QUOTA (RFC 9208) with `mail_plugins = $mail_plugins imap_quota`:
 * GETQUOTAROOT, GETQUOTA, SETQUOTA (refused: users cannot set quota) and
 * the STATUS items DELETED and DELETED-STORAGE (RFC 9208 4.2). Usage and
 * limits come from svc-quota's Get; nothing here is cached. */
#ifndef IMAP_QUOTA_H
#define IMAP_QUOTA_H

#include "imap-common.h"

bool cmd_getquotaroot(struct imap_cmd *cmd);
bool cmd_setquota(struct imap_cmd *cmd);	/* cmd_getquota: imap-common.h */

/* " QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE" when imap_quota is on. */
void imap_quota_capability(const struct imap_client *client, struct buf *out);

/* STATUS's state (cmd->ctx while STATUS runs). */
struct imap_status_ctx {
	const char *mailbox;	/* wire name, in the command's pool */
	bool want_deleted;	/* DELETED or DELETED-STORAGE asked */
	bool want_count;	/* DELETED asked */
	bool want_storage;	/* DELETED-STORAGE asked: sizes too */
	uint32_t deleted;	/* messages with \Deleted */
	uint64_t deleted_bytes;	/* their stored sizes */
	uint32_t fetch_from;	/* next UID to fetch sizes from */
	uint32_t *uids;		/* the \Deleted UIDs, ascending (pool) */
	size_t n_uids;
	struct imap_arg others;	/* the other items (an IMAP_ARG_LIST) */
	void (*done)(struct imap_cmd *cmd);
};

/* DELETED / DELETED-STORAGE: a STATUS item of this extension (only when
 * imap_quota is on, as the capability advertises it). */
bool imap_quota_status_item(const struct imap_client *client,
			    const struct imap_arg *item);
/* Sorts STATUS's item list: this extension's items set st's want flags,
 * the others are copied (command pool) to st->others for the common
 * STATUS code. */
void imap_quota_status_split(struct imap_cmd *cmd, const struct imap_arg *items,
			     struct imap_status_ctx *st);
/* Adds " DELETED n DELETED-STORAGE k" (those asked) inside the closing
 * parenthesis of a "* STATUS name (...)" line. */
void imap_quota_status_append(const struct imap_status_ctx *st,
			      struct buf *line);
/* Counts the \Deleted messages of st->mailbox (and their size), then
 * calls st->done(cmd); on an index failure the tagged NO is sent and the
 * command ends instead. cmd->ctx must be st. */
void imap_quota_status_count(struct imap_cmd *cmd, struct imap_status_ctx *st);
/* The value of a DELETED* item for the STATUS reply. */
uint64_t imap_quota_status_value(const struct imap_status_ctx *st,
				 const char *item);

#endif
