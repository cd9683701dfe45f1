/* RFC 5256 2.1: the base subject SORT SUBJECT and THREAD compare. */
#ifndef IMAP_BASE_SUBJECT_H
#define IMAP_BASE_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Appends the base subject of a raw (possibly RFC 2047 encoded, folded)
 * Subject value to out. *is_reply_r: a reply/forward prefix or trailer
 * was removed (THREAD=REFERENCES step 4). */
void imap_base_subject(const char *value, size_t len, struct buf *out,
		       bool *is_reply_r);

#endif
