/* OBJECTID (RFC 8474): the stable ids of mailboxes and messages, taken
 * from what svc-index already keeps, so no id is stored twice. MAILBOXID
 * is "F" + the mailbox GUID (stable across RENAME); EMAILID is "M" + the
 * message GUID, which COPY and MOVE carry to the copy (the copies share
 * the stored object). THREADID is NIL: no thread ids are kept. */
#ifndef IMAP_OBJECTID_H
#define IMAP_OBJECTID_H

#include "buf.h"

#define IMAP_MAILBOXID_PREFIX 'F'
#define IMAP_EMAILID_PREFIX 'M'

/* Appends "(<prefix><id>)": characters outside objectid's ALPHA / DIGIT
 * / "-" / "_" (never in a GUID svc-index made) become "_". */
void imap_objectid_append(struct buf *out, char prefix, const char *id);
/* The GUID an EMAILID names, or NULL when it cannot name one. */
const char *imap_emailid_guid(const char *emailid);

#endif
