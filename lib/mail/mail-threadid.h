/* lib/mail thread ids (IMAP OBJECTID THREADID, RFC 8474 5.2): every
 * message of one conversation gets the same id, computed from its own
 * header alone, so it is the same whatever order the messages arrive
 * in and never changes once stored.
 *
 * The thread's root is the first msg-id of References (RFC 5322 3.6.4:
 * the first is the thread's start), else the first of In-Reply-To, else
 * the message's own Message-ID: the root message itself and every reply
 * whose References keep the root agree. The id is 32 hex digits of a
 * hash of the root's msg-id. A message with none of the three has no
 * root here; its caller makes it a thread of its own (its GUID). */
#ifndef STRATUS_MAIL_THREADID_H
#define STRATUS_MAIL_THREADID_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define MAIL_THREADID_LEN 32
/* The index's cached field that holds it (absent: the message's GUID). */
#define MAIL_THREADID_FIELD "threadid"

/* The root msg-id (without "<>", blanks removed) into root (reset
 * first). header/size: the header block. False when there is none. */
bool mail_thread_root(const void *header, size_t size, struct buf *root);
/* out: MAIL_THREADID_LEN hex digits + NUL. False when no root. */
bool mail_threadid(const void *header, size_t size,
		   char out[MAIL_THREADID_LEN + 1]);
/* The id of a given root msg-id (what mail_threadid computes). */
void mail_threadid_of_root(const char *root, size_t len,
			   char out[MAIL_THREADID_LEN + 1]);

#endif
