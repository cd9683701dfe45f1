/* SEARCH keys (RFC 3501 6.4.4) as svc-index search trees, and the check
 * of the messages svc-index cannot decide ("maybe": body text, sent
 * dates, uncached headers) against their bodies with lib/mail. */
#ifndef IMAP_SEARCH_H
#define IMAP_SEARCH_H

#include "imap-common.h"
#include "index.pb-c.h"

#define IMAP_SEARCH_MAX_KEYS 1024	/* keys in one command */

/* Fields of IndexSearchKey.field for what only a body can decide. */
#define IMAP_SEARCH_FIELD_TEXT "text"		/* op BODY: TEXT */
#define IMAP_SEARCH_FIELD_SENTBEFORE "sentbefore"
#define IMAP_SEARCH_FIELD_SENTON "senton"
#define IMAP_SEARCH_FIELD_SENTSINCE "sentsince"

/* Parses the keys (after CHARSET, if any) into one AND key from the
 * command's pool. Returns 0 or -1 with *error_r (static, for BAD). */
int imap_search_parse(struct imap_cmd *cmd, const struct imap_arg *args,
		      size_t n_args, Stratus__IndexSearchKey **key_r,
		      const char **error_r);

/* One message as the body check sees it. */
struct imap_search_msg {
	const Stratus__IndexMessage *m;
	const char *data;		/* the whole message */
	size_t size;
	size_t body_offset;		/* after the header's blank line */
	struct buf text;		/* body decoded by its top-level
					   Content-Transfer-Encoding */
};

/* Fills body_offset and text from data/size (imap_search_msg_free). */
void imap_search_msg_init(struct imap_search_msg *sm,
			  const Stratus__IndexMessage *m, const char *data,
			  size_t size);
void imap_search_msg_free(struct imap_search_msg *sm);
/* Evaluates key for one message against its metadata and body. */
bool imap_search_match(const Stratus__IndexSearchKey *key,
		       const struct imap_search_msg *sm, int tz_offset_secs);

/* cmd-search.c, for SORT and THREAD: the matches in the session's view,
 * UIDs ascending. The callback replies and ends the command. */
typedef void imap_search_done_fn(struct imap_cmd *cmd, const uint32_t *uids,
				 size_t n, uint64_t max_modseq, void *user);
/* args: [CHARSET c] keys. user is freed with user_free when the command
 * ends. Returns like a command handler. */
bool imap_search_run(struct imap_cmd *cmd, const struct imap_arg *args,
		     size_t n_args, imap_search_done_fn *done, void *user,
		     void (*user_free)(void *user));
/* The user pointer imap_search_run() was given. */
void *imap_search_user(struct imap_cmd *cmd);

#endif
