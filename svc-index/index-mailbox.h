/* svc-index: the operations on a loaded user, one per RPC method, each a
 * single transaction (validate everything, commit, then notify waiters).
 * They return a Stratus__Status (0 = OK) with *error_r set otherwise; the
 * RPC layer (index-rpc.c) only converts between frames and these. */
#ifndef STRATUS_INDEX_MAILBOX_H
#define STRATUS_INDEX_MAILBOX_H

#include "index-service.h"
#include "index.pb-c.h"

/* Resolves a wire name to a mailbox (normalising INBOX); NOT_FOUND or
 * INVALID otherwise. */
int index_mailbox_lookup(struct index_user *user, const char *name,
			 struct index_mailbox **box_r, const char **error_r);

/* Fills `st` (caller-owned, strings borrowed from the model; free the
 * keyword array with index_status_clear). */
void index_status_fill(const struct index_mailbox *box,
		       Stratus__IndexMailboxStatus *st);
void index_status_clear(Stratus__IndexMailboxStatus *st);

int index_mailbox_create(struct index_user *user, const char *name,
			 char *const *special_use, size_t n_special_use,
			 struct index_mailbox **box_r, const char **error_r);
int index_mailbox_delete(struct index_user *user, const char *name,
			 const char **error_r);
int index_mailbox_rename(struct index_user *user, const char *name,
			 const char *new_name, const char **error_r);
int index_mailbox_subscribe(struct index_user *user, const char *name,
			    bool subscribe, const char **error_r);
/* Claims \Recent unless readonly; *recent_first_r is the first UID that
 * is recent for this session (uidnext when none). */
int index_mailbox_open(struct index_user *user, struct index_mailbox *box,
		       bool readonly, uint32_t *recent_first_r,
		       const char **error_r);
int index_mailbox_append(struct index_user *user, struct index_mailbox *box,
			 Stratus__IndexMessage *const *msgs, size_t n,
			 uint32_t *uids_r, uint64_t *modseq_r,
			 const char **error_r);
int index_mailbox_store(struct index_user *user, struct index_mailbox *box,
			const Stratus__IndexStoreRequest *req,
			Stratus__IndexStoreReply *reply, const char **error_r);
int index_mailbox_expunge(struct index_user *user, struct index_mailbox *box,
			  const Stratus__IndexExpungeRequest *req,
			  Stratus__IndexExpungeReply *reply,
			  const char **error_r);
int index_mailbox_copy(struct index_user *user, struct index_mailbox *src,
		       struct index_mailbox *dest,
		       const Stratus__IndexCopyRequest *req,
		       Stratus__IndexCopyReply *reply, const char **error_r);
/* Frees the arrays the functions above put into replies. */
void index_store_reply_clear(Stratus__IndexStoreReply *reply);
void index_expunge_reply_clear(Stratus__IndexExpungeReply *reply);
void index_copy_reply_clear(Stratus__IndexCopyReply *reply);

/* Keyword table bookkeeping around a commit (see index-mailbox.c). */
struct index_kw_undo {
	size_t old, new;
	char **copy;
};
void index_kw_prepare(struct index_mailbox *box, size_t old,
		      Stratus__Indexfile__Op *op, struct index_kw_undo *u);
void index_kw_finish(struct index_kw_undo *u);
void index_kw_rollback(struct index_mailbox *box, size_t old);

/* A UID set as ascending, non-overlapping closed spans (last 0 = "*",
 * reversed ranges swapped); malloc'd, *n_r entries. */
struct index_uid_span {
	uint32_t first, last;
};
struct index_uid_span *index_uid_spans(Stratus__IndexUidRange *const *r,
				       size_t n, size_t *n_r);
/* Whether uid lies in any range (no ranges = all when empty_all). */
/* The records a range set can match lie in [*begin_r, *end_r) of
 * box->recs: from the lowest first UID to the highest last (the whole
 * mailbox for an empty set when empty_all, none otherwise), so a command
 * on a few UIDs of a large mailbox does not test every record. */
void index_ranges_span(const struct index_mailbox *box,
		       Stratus__IndexUidRange *const *r, size_t n,
		       bool empty_all, size_t *begin_r, size_t *end_r);
bool index_uid_in_ranges(uint32_t uid, Stratus__IndexUidRange *const *r,
			 size_t n, bool empty_all);

#endif
