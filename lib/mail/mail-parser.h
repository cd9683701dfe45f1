/* lib/mail message parser: splits an RFC 5322 / MIME message into its part
 * tree (multipart children, message/rfc822 encapsulations) with offsets,
 * physical and virtual (CRLF-normalised) sizes and line counts.
 *
 * The parser is line-driven and streaming: feed it the message in chunks
 * of any size (it keeps only the current line's first bytes and one header
 * field, both bounded), then finish. The tree describes offsets into the
 * message; to produce ENVELOPE/BODYSTRUCTURE or sections the caller keeps
 * the message bytes (in memory or mmap'd) and passes them to mail-imap.h.
 *
 * Hostile input: nesting deeper than max_depth, more than max_parts parts
 * or over-long header fields never fail the parse; the rest is treated as
 * text, as Dovecot does. Memory is O(parts), at most max_parts. */
#ifndef STRATUS_MAIL_PARSER_H
#define STRATUS_MAIL_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mail_size {
	uint64_t physical;	/* bytes as stored */
	uint64_t virtual;	/* bytes with every bare LF counted as CRLF */
	uint64_t lines;		/* LF count */
};

enum mail_part_flags {
	MAIL_PART_MULTIPART = 0x01,	/* Content-Type multipart/ * */
	MAIL_PART_MESSAGE_RFC822 = 0x02,	/* message/rfc822 (or digest child) */
	MAIL_PART_TEXT = 0x04,		/* text/ * or no Content-Type */
	MAIL_PART_DIGEST = 0x08,	/* multipart/digest: children default
					   to message/rfc822 */
	MAIL_PART_HAS_CONTENT_TYPE = 0x10,
	MAIL_PART_OVERFLOW = 0x20,	/* limits hit: rest parsed as text */
};

struct mail_part {
	struct mail_part *parent, *next, *children;
	unsigned int children_count;
	unsigned int flags;		/* enum mail_part_flags */
	uint64_t offset;		/* physical offset of the header */
	struct mail_size header;	/* header incl. the blank line */
	struct mail_size body;
};

static inline uint64_t mail_part_body_offset(const struct mail_part *part)
{
	return part->offset + part->header.physical;
}

struct mail_parser_limits {
	unsigned int max_depth;		/* nested multipart/message levels */
	unsigned int max_parts;		/* parts in the whole message */
	size_t max_header_field;	/* bytes of one (unfolded) field kept
					   for Content-Type parsing */
};

/* Dovecot's defaults: 100 levels, 10000 parts; 64 KiB per field. */
extern const struct mail_parser_limits mail_parser_default_limits;

struct mail_parser;

/* limits may be NULL for the defaults. Never returns NULL. */
struct mail_parser *mail_parser_init(const struct mail_parser_limits *limits);
/* Feeds the next bytes of the message; any chunking gives the same tree. */
void mail_parser_feed(struct mail_parser *parser, const void *data,
		      size_t size);
/* Ends the message and frees the parser; returns the tree (never NULL,
 * the caller frees it with mail_part_free). */
struct mail_part *mail_parser_finish(struct mail_parser **parser);
/* Frees a parser without producing a tree. */
void mail_parser_abort(struct mail_parser **parser);

/* One-shot: parses size bytes with the default limits. */
struct mail_part *mail_parse(const void *data, size_t size);

/* Frees the whole tree; NULL-safe; sets *part to NULL. */
void mail_part_free(struct mail_part **part);

/* Number of parts in the tree (root included). */
unsigned int mail_part_count(const struct mail_part *root);

/* Counts LFs and bare LFs of a byte range: fills physical/virtual/lines. */
void mail_size_count(const void *data, size_t size, struct mail_size *size_r);

#endif
