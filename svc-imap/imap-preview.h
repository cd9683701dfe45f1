/* PREVIEW (RFC 8970): up to 256 characters of a message's first text
 * part, for message lists (imap-preview.c). Computed from the body that
 * FETCH PREVIEW reads; nothing is cached at delivery yet. */
#ifndef IMAP_PREVIEW_H
#define IMAP_PREVIEW_H

#include <stddef.h>

#include "buf.h"
#include "mail-parser.h"

#define IMAP_PREVIEW_MAX_CHARS 256
/* Bytes of the part decoded at most: a preview needs its start only. */
#define IMAP_PREVIEW_MAX_INPUT (64 * 1024)

/* Appends the preview text (UTF-8, no control characters, white space
 * runs as one space, trimmed; possibly empty) to out. text/plain is
 * preferred to text/html, whose tags and entities are dropped. */
void imap_preview_get(const char *msg, size_t msg_size,
		      const struct mail_part *root, struct buf *out);

#endif
