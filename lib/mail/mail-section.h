/* lib/mail FETCH BODY[section]<partial> (RFC 3501 section 6.4.5) over a
 * parsed message, with Dovecot's part-finding rules: numbers walk into
 * multipart children, a number after a message/rfc822 part walks into
 * the encapsulated message, "1" of a non-multipart is its body, a part
 * that does not exist gives empty content (not an error).
 *
 * Content is always CRLF-normalised (bare LF sent as CRLF), as IMAP wants
 * and as RFC822.SIZE / BODYSTRUCTURE sizes count it, and NUL bytes are
 * sent as 0x80 as Dovecot does. */
#ifndef STRATUS_MAIL_SECTION_H
#define STRATUS_MAIL_SECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mail-parser.h"

enum mail_section_kind {
	MAIL_SECTION_ALL,		/* "" or "1.2": the part's content */
	MAIL_SECTION_HEADER,
	MAIL_SECTION_HEADER_FIELDS,
	MAIL_SECTION_HEADER_FIELDS_NOT,
	MAIL_SECTION_TEXT,
	MAIL_SECTION_MIME,
};

#define MAIL_SECTION_MAX_PATH 64
#define MAIL_SECTION_MAX_FIELDS 256

struct mail_section {
	unsigned int path[MAIL_SECTION_MAX_PATH];
	unsigned int path_len;
	enum mail_section_kind kind;
	char **fields;			/* HEADER.FIELDS[.NOT] names */
	unsigned int field_count;
};

/* Parses what is between the brackets of BODY[...], e.g. "1.2.HEADER",
 * "HEADER.FIELDS (From To)", "". Returns 0, or -1 with *error_r (static
 * text) on a syntax error (the command is then a BAD). Free with
 * mail_section_free() in both cases. */
int mail_section_parse(const char *spec, struct mail_section *sect_r,
		       const char **error_r);
void mail_section_free(struct mail_section *sect);

/* Writes the section content (CRLF-normalised) to out. */
void mail_section_fetch(const void *msg, size_t msg_size,
			const struct mail_part *root,
			const struct mail_section *sect, struct buf *out);

/* For every kind but HEADER.FIELDS[.NOT]: the physical byte range of the
 * section, so a server can stream it (normalising LFs) without a copy.
 * Returns false when the part does not exist (empty content). */
bool mail_section_range(const struct mail_part *root,
			const struct mail_section *sect, uint64_t *offset_r,
			uint64_t *size_r);

/* How a header block ended, which decides whether HEADER.FIELDS output
 * closes with a blank line (Dovecot's rule): it had its blank line, it
 * was empty, or its last line had its LF. */
struct mail_header_end {
	bool blank_line, empty, last_lf;
};
void mail_header_end_get(const void *hdr, size_t len,
			 struct mail_header_end *end_r);
/* HEADER.FIELDS[.NOT] of s over the fields of hdr (which may be a subset
 * of a message's header, in order), closed as end says. */
void mail_section_write_fields(const void *hdr, size_t len,
			       const struct mail_section *s,
			       const struct mail_header_end *end,
			       struct buf *out);

/* Appends src with bare LFs written as CRLF and NULs as 0x80. */
void mail_append_crlf(struct buf *out, const void *src, size_t len);

/* IMAP partial <offset.count> applied to content: keeps count bytes from
 * offset (fewer at the end, none past it). */
void mail_section_partial(struct buf *content, uint64_t offset,
			  uint64_t count);

#endif
