/* OBJECTID (RFC 8474): the stable ids of mailboxes and messages, taken
 * from what svc-index already keeps, so no id is stored twice. MAILBOXID
 * is "F" + the mailbox GUID (stable across RENAME); EMAILID is "M" + the
 * message GUID, which COPY and MOVE carry to the copy (the copies share
 * the stored object). THREADID is "T" + the thread id svc-imap and
 * svc-lmtp cache with the message at APPEND and delivery (lib/mail's
 * mail-threadid.h: a hash of the thread root's msg-id, kept by COPY and
 * MOVE with the rest of the record); a message with no msg-id at all is a
 * thread of its own, whose id is its GUID. */
#ifndef IMAP_OBJECTID_H
#define IMAP_OBJECTID_H

#include "buf.h"
#include "mail-threadid.h"

#define IMAP_MAILBOXID_PREFIX 'F'
#define IMAP_EMAILID_PREFIX 'M'
#define IMAP_THREADID_PREFIX 'T'

/* Appends "(<prefix><id>)": characters outside objectid's ALPHA / DIGIT
 * / "-" / "_" (never in a GUID svc-index made) become "_". */
void imap_objectid_append(struct buf *out, char prefix, const char *id);
/* The GUID an EMAILID names, or NULL when it cannot name one. */
const char *imap_emailid_guid(const char *emailid);
/* "(T<threadid>)": the cached thread id, or guid when none is cached. */
void imap_threadid_append(struct buf *out, const char *threadid,
			  const char *guid);
/* The thread id a THREADID names, or NULL when it cannot name one. */
const char *imap_threadid_value(const char *threadid);

#endif
