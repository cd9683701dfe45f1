/* FETCH items (RFC 3501 6.4.5): parsed once per command into a list the
 * executor (cmd-fetch.c) walks per message. Parsing is separate so it is
 * unit-tested without a server. */
#ifndef IMAP_FETCH_H
#define IMAP_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "imap-common.h"
#include "mail-section.h"

enum imap_fetch_kind {
	IMAP_FETCH_UID,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_BODY,		/* BODY without a section */
	IMAP_FETCH_SECTION,		/* BODY[...], BODY.PEEK[...], RFC822* */
	IMAP_FETCH_MODSEQ,
	IMAP_FETCH_EMAILID,		/* OBJECTID (RFC 8474) */
	IMAP_FETCH_THREADID,
	IMAP_FETCH_BINARY,		/* BINARY[part], BINARY.PEEK[part] */
	IMAP_FETCH_BINARY_SIZE,		/* BINARY.SIZE[part] (RFC 3516) */
	IMAP_FETCH_PREVIEW,		/* PREVIEW [(LAZY)] (RFC 8970) */
	IMAP_FETCH_SAVEDATE,		/* SAVEDATE (RFC 8514) */
};

struct imap_fetch_item {
	enum imap_fetch_kind kind;
	/* SECTION: */
	struct mail_section section;
	const char *name;	/* response name: "BODY[1.MIME]", "RFC822" */
	bool partial;
	uint64_t offset, count;
	bool sets_seen;		/* not PEEK, not RFC822.HEADER */
};

struct imap_fetch_items {
	struct imap_fetch_item *items;	/* from the command's pool */
	size_t n_items;
	bool need_body;		/* a section: the body must be read */
	bool sets_seen;
	bool want_envelope, want_bodystructure, want_body;
	bool want_threadid;	/* the cached thread id (OBJECTID) */
};

#define IMAP_FETCH_MAX_ITEMS 64

/* Parses the items argument (an atom, a macro or a list). Returns 0 or
 * -1 with *error_r (static, for BAD). The sections own memory freed by
 * imap_fetch_items_free(), also after a failure. */
int imap_fetch_items_parse(struct imap_pool *pool, const struct imap_arg *arg,
			   struct imap_fetch_items *items,
			   const char **error_r);
void imap_fetch_items_free(struct imap_fetch_items *items);

#endif
