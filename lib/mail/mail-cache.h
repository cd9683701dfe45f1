/* lib/mail cached fields: what svc-lmtp computes once per delivered
 * message and svc-index stores, so IMAP can answer ENVELOPE,
 * BODYSTRUCTURE, BODY and section fetches without parsing the body again.
 *
 * "mime.parts" is a compact text form of the part tree (preorder):
 *   "1;" then per part "F,O,HP,HV,HL,BP,BV,BL,N;"
 * flags (hex), header offset, header physical/virtual/lines, body
 * physical/virtual/lines, number of children (all decimal). It is read
 * back with mail_parts_deserialize(), which trusts nothing: a cache
 * entry that does not describe a well-formed tree is refused. */
#ifndef STRATUS_MAIL_CACHE_H
#define STRATUS_MAIL_CACHE_H

#include <stddef.h>

#include "mail-parser.h"

enum mail_cached_field {
	MAIL_CACHED_ENVELOPE,
	MAIL_CACHED_BODYSTRUCTURE,
	MAIL_CACHED_BODY,
	MAIL_CACHED_MIME_PARTS,
	MAIL_CACHED_HEADER_FIELDS,	/* mail-header-cache.h; may be empty */
	MAIL_CACHED_COUNT
};

/* All cached fields of one message together stay under this: they go to
 * svc-index in one RPC frame (RPC_FRAME_MAX, 1 MB) with the append. A
 * field that does not fit is not cached; readers then parse the body (a
 * 1 MB Subject line is delivered, not refused with a 451). */
#define MAIL_CACHED_BUDGET (512 * 1024)

/* "envelope", "bodystructure", "body", "mime.parts", "header.fields" */
extern const char *const mail_cached_field_names[MAIL_CACHED_COUNT];

struct mail_cached_fields {
	char *value[MAIL_CACHED_COUNT];	/* NUL-terminated, owned */
	size_t len[MAIL_CACHED_COUNT];
};

/* Computes every cached field of a parsed message. */
void mail_cached_fields_get(const void *msg, size_t msg_size,
			    const struct mail_part *root,
			    struct mail_cached_fields *fields_r);
void mail_cached_fields_free(struct mail_cached_fields *fields);

/* The "mime.parts" string of a tree; the caller frees it. */
char *mail_parts_serialize(const struct mail_part *root);
/* Rebuilds the tree (free with mail_part_free). Returns 0, or -1 with a
 * static *error_r when the text is malformed, deeper than max_depth,
 * has more than max_parts parts, or has offsets that do not nest. */
int mail_parts_deserialize(const char *text, size_t len,
			   const struct mail_parser_limits *limits,
			   struct mail_part **root_r, const char **error_r);

#endif
