/* Absolute IMAP URLs (RFC 5092) of one message or part, the form URLAUTH
 * (RFC 4467) signs and URLFETCH takes:
 *   imap://USER[;AUTH=mech]@HOST[:port]/MAILBOX[;UIDVALIDITY=n]/;UID=n
 *     [/;SECTION=s][/;PARTIAL=o[.l]][;EXPIRE=date-time]
 *     [;URLAUTH=access[:mechanism:token]]
 * USER and MAILBOX are %-unescaped (the mailbox is UTF-8, RFC 5092 3.2),
 * the section too. access is "submit+USER", "user+USER", "authuser" or
 * "anonymous". Bytes from clients: every part is checked and bounded. */
#ifndef IMAP_URL_H
#define IMAP_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define IMAP_URL_MAX_LEN 4096

enum imap_url_access {
	IMAP_URL_ACCESS_NONE = 0,	/* no ;URLAUTH= */
	IMAP_URL_ACCESS_SUBMIT,		/* submit+USER */
	IMAP_URL_ACCESS_USER,		/* user+USER */
	IMAP_URL_ACCESS_AUTHUSER,
	IMAP_URL_ACCESS_ANONYMOUS,
};

struct imap_url {
	struct buf user;	/* the mailbox owner; never empty */
	struct buf host;
	struct buf mailbox;	/* UTF-8 */
	uint32_t uidvalidity;	/* 0 = not given */
	uint32_t uid;
	struct buf section;	/* empty = the whole message */
	bool partial;
	uint32_t partial_offset, partial_length;	/* length 0 = to end */
	bool expire;
	int64_t expire_time;	/* unix seconds */
	enum imap_url_access access;
	struct buf access_user;	/* for submit+ and user+ */
	/* url[0..rump_len) is what the token authorizes (RFC 4467 3):
	 * all up to and with the access identifier. */
	size_t rump_len;
	struct buf mechanism;	/* empty: URLAUTH-ready, not authorized */
	struct buf token;	/* hex digits as given */
};

/* Returns 0, or -1 when url[0..len) is not of the form above (a NUL
 * inside is refused). Free with imap_url_free() either way. */
int imap_url_parse(const char *url, size_t len, struct imap_url *u);
void imap_url_free(struct imap_url *u);

/* RFC 3339 date-time ("2026-12-31T23:59:59Z", "...+01:00", fractions
 * of a second ignored) to unix seconds; -1 when invalid. */
int imap_url_parse_datetime(const char *s, size_t len, int64_t *t_r);

#endif
