/* lib/mail header-field cache: the raw lines of the header fields mail
 * clients fetch for their message lists (Thunderbird, Apple Mail, K-9,
 * Outlook, mutt, mbsync), kept in the index at delivery/APPEND as the
 * cached field "header.fields", so FETCH BODY.PEEK[HEADER.FIELDS (...)]
 * of those names is answered without reading the body, byte for byte as
 * it would be from the message (like Dovecot's dovecot.index.cache).
 *
 * Value: one character '0'+bits (1 the header had its blank line, 2 its
 * last line ended in LF, 4 it was empty), then each cached field's raw
 * bytes in message order. */
#ifndef STRATUS_MAIL_HEADER_CACHE_H
#define STRATUS_MAIL_HEADER_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "mail-section.h"

#define MAIL_HEADER_CACHE_FIELD "header.fields"
/* A header whose cached lines would be larger is not cached (FETCH then
 * reads the body): a flood of References must not bloat the index. */
#define MAIL_HEADER_CACHE_MAX 16384

/* Whether FETCH of section s can be answered from the cache. */
bool mail_header_cache_covers(const struct mail_section *s);

/* Builds the value for a root header block into out (reset first).
 * Returns false (out empty) when it is larger than MAIL_HEADER_CACHE_MAX. */
bool mail_header_cache_build(const void *hdr, size_t len, struct buf *out);

/* Writes section s (mail_header_cache_covers) from a cached value. Returns
 * false when the value is malformed (then nothing was written). */
bool mail_header_cache_fetch(const void *value, size_t len,
			     const struct mail_section *s, struct buf *out);

#endif
