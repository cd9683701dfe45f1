/* lib/mail IMAP renderings of a parsed message: ENVELOPE, BODY and
 * BODYSTRUCTURE (RFC 3501 section 7.4.2), byte-exact with Dovecot 2.3
 * (golden files in lib/mail/testdata). Also the IMAP string writers used
 * for them.
 *
 * msg/msg_size are the message bytes the tree was parsed from; part is a
 * node of that tree (the root for the whole message). Output is appended
 * to out, an unbounded struct buf the caller owns. Nothing fails: broken
 * input gives Dovecot's fallbacks (NIL, MISSING_DOMAIN, text/plain). */
#ifndef STRATUS_MAIL_IMAP_H
#define STRATUS_MAIL_IMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "mail-parser.h"

/* ENVELOPE of the message whose header starts at part (root, or the
 * child of a message/rfc822 part). */
void mail_imap_envelope(const void *msg, size_t msg_size,
			const struct mail_part *part, struct buf *out);
/* BODYSTRUCTURE (extended = true) or BODY (false) of part and below. */
void mail_imap_bodystructure(const void *msg, size_t msg_size,
			     const struct mail_part *part, bool extended,
			     struct buf *out);

/* IMAP strings: NULL -> NIL; quoted when it can be, else a literal
 * {n}\r\n (8-bit, CR/LF, or more than 4 characters to escape). */
void imap_append_nstring(struct buf *out, const char *s);
/* Same after removing CR/LF (folded header values). */
void imap_append_nstring_nolf(struct buf *out, const char *s);
/* Subjects and display names: whitespace collapsed, and a literal when
 * anything had to change or the text has '"', '\\' or 8-bit bytes. */
void imap_append_string_for_humans(struct buf *out, const char *s);

#endif
