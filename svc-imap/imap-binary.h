/* BINARY (RFC 3516): a part's content with its Content-Transfer-Encoding
 * undone (imap-binary.c). Used by FETCH BINARY[...] and BINARY.SIZE[...]
 * over the message bytes and part tree cmd-fetch.c already has. */
#ifndef IMAP_BINARY_H
#define IMAP_BINARY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "mail-section.h"

/* Appends the decoded content of sect's part (section kind ALL) to out.
 * "" (no part number) is the whole message as stored, LFs as CRLF. A
 * part that does not exist is empty. Returns false, out unchanged, when
 * the encoding is one this server does not know ([UNKNOWN-CTE]). */
bool imap_binary_content(const char *msg, size_t msg_size,
			 const struct mail_part *root,
			 const struct mail_section *sect, struct buf *out);
/* The part's encoding is known (base64, quoted-printable, 7bit, 8bit,
 * binary or none), so imap_binary_content() will succeed. */
bool imap_binary_decodable(const char *msg, size_t msg_size,
			   const struct mail_part *root,
			   const struct mail_section *sect);

#endif
