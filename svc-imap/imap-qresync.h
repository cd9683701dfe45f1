/* QRESYNC's VANISHED (EARLIER) without a complete expunge history
 * (imap-qresync.c). svc-index keeps a bounded history of expunged UIDs;
 * a client whose modseq is older than it still gets an exact answer in
 * the form RFC 7162 3.2.5.1 allows: every UID of its known set that is
 * not in the mailbox now, even UIDs it never saw or that never existed. */
#ifndef IMAP_QRESYNC_H
#define IMAP_QRESYNC_H

#include "imap-common.h"

/* Appends to out (no leading space) the UIDs of known (unsorted ranges,
 * IMAP_SEQ_STAR = hi; NULL = 1:hi) within [lo, hi] that are not in uids
 * (ascending), as a compact UID set. Returns false when there is none
 * (out unchanged). */
bool imap_qresync_missing(struct buf *out, const struct imap_seq_range *known,
			  size_t n_known, uint32_t lo, uint32_t hi,
			  const uint32_t *uids, size_t n_uids);

/* RFC 7162 3.2.5.2 message sequence match data: the highest UID of a
 * (seq, uid) pair that the view uids[] still has at that sequence number
 * (nothing at or below it was expunged since), 0 when none matches.
 * Returns -1 when the two sets differ in size or are too large to walk
 * (IMAP_QRESYNC_MAX_PAIRS), with the data to be ignored. */
#define IMAP_QRESYNC_MAX_PAIRS 1000000
int imap_qresync_match_floor(const struct imap_seq_range *seqs, size_t n_seqs,
			     const struct imap_seq_range *uidr, size_t n_uidr,
			     const uint32_t *uids, size_t n_uids,
			     uint32_t *floor_r);

#endif
