/* CATENATE (RFC 4469): the IMAP URLs an APPEND may take parts from, in
 * the forms a client sends for its own messages (RFC 5092, no server
 * part): "/MAILBOX[;UIDVALIDITY=n]/;UID=n[/;SECTION=s]", or relative to
 * the selected mailbox ";UID=n[/;SECTION=s]". The mailbox is UTF-8 with
 * %-escapes (RFC 5092 section 3.2), the section %-escaped. */
#ifndef IMAP_CATENATE_H
#define IMAP_CATENATE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

struct imap_cat_url {
	struct buf mailbox;	/* UTF-8, unescaped; empty = the selected */
	bool relative;
	uint32_t uidvalidity;	/* 0 = not given */
	uint32_t uid;
	struct buf section;	/* unescaped; empty = the whole message */
};

/* Returns 0, or -1 when url is not one of the forms above. Free with
 * imap_cat_url_free() either way. */
int imap_cat_url_parse(const char *url, struct imap_cat_url *u);
void imap_cat_url_free(struct imap_cat_url *u);

#endif
