/* Modified UTF-7 (RFC 3501 5.1.3) <-> UTF-8 for mailbox names. Both
 * directions validate strictly: invalid UTF-8, stray '&', bad base64,
 * unpaired surrogates and needlessly encoded ASCII are refused. */
#ifndef IMAP_UTF7_H
#define IMAP_UTF7_H

#include <stdbool.h>
#include "buf.h"

/* Appends the encoding of src to dest. 0, or -1 if src is not UTF-8. */
int imap_utf8_to_utf7(const char *src, struct buf *dest);
/* Appends the decoding of src to dest. 0, or -1 if src is not valid
 * modified UTF-7. */
int imap_utf7_to_utf8(const char *src, struct buf *dest);
/* True if src is valid modified UTF-7. */
bool imap_utf7_is_valid(const char *src);

#endif
