/* Message sets of the selected mailbox: a sequence set or UID set from a
 * command, resolved against the session's view (client->uids) into the
 * UIDs it names and the svc-index UID ranges covering exactly those. A
 * UID the session has not seen (appended meanwhile by someone else) is
 * never named, so a command acts only on what the client knows. */
#ifndef IMAP_MSGSET_H
#define IMAP_MSGSET_H

#include "imap-common.h"
#include "index.pb-c.h"

struct imap_msgset {
	uint32_t *uids;			/* ascending, from cmd->pool */
	size_t n_uids;
	Stratus__IndexUidRange **ranges;	/* runs of consecutive seqs */
	size_t n_ranges;
};

/* Returns 0, or -1 with *error_r (static text, for a tagged BAD) when the
 * set is malformed or, for sequence numbers, names a message that does
 * not exist. An empty result is not an error. */
int imap_msgset_parse(struct imap_cmd *cmd, const char *set, bool uid,
		      struct imap_msgset *ms, const char **error_r);

/* The sequence number of uid in the session's view, 0 when not in it. */
uint32_t imap_client_seq(const struct imap_client *client, uint32_t uid);

#endif
