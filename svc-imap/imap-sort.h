/* What SORT (RFC 5256, 5957) and THREAD compare, per matching message:
 * svc-index's metadata and the headers read from the body in svc-blob. */
#ifndef IMAP_SORT_H
#define IMAP_SORT_H

#include "imap-common.h"

struct imap_sort_msg {
	uint32_t uid, seq;
	int64_t arrival;		/* INTERNALDATE */
	int64_t date;			/* Date:, else INTERNALDATE (UTC) */
	uint64_t size;			/* RFC822.SIZE */
	char *object_id;
	/* Heap strings, "" when absent. */
	char *subject;			/* base subject */
	bool subject_reply;		/* Re:/Fwd: was removed */
	char *from, *to, *cc;		/* first address's addr-mailbox */
	char *display_from, *display_to; /* RFC 5957 */
	char *message_id;		/* "<...>" or "" */
	char **refs;			/* References, else In-Reply-To */
	size_t n_refs;
	bool have_headers;		/* from the index's header.fields */
};

struct imap_sort_job;
/* Called once every message has its fields; replies and ends cmd. */
typedef void imap_sort_ready_fn(struct imap_cmd *cmd,
				struct imap_sort_job *job);

struct imap_sort_job {
	bool uid_cmd;
	imap_sort_ready_fn *ready;
	void *owner;			/* the SORT or THREAD state */
	void (*owner_free)(void *owner);
	struct imap_sort_msg *msgs;	/* in UID order */
	size_t n_msgs, next;
	const uint32_t *uids;		/* the matches (search's array) */
	size_t n_uids;
	uint64_t max_modseq;
	bool metadata_only;		/* ARRIVAL/SIZE: no body needed */
};

void imap_sort_job_free(void *job);
/* imap_search_done_fn for a job passed as imap_search_run()'s user. */
void imap_sort_collect(struct imap_cmd *cmd, const uint32_t *uids, size_t n,
		       uint64_t max_modseq, void *job);
/* The charset of SORT/THREAD: true if usable, else the reply is sent. */
bool imap_sort_charset_ok(struct imap_cmd *cmd, const struct imap_arg *arg);

#endif
