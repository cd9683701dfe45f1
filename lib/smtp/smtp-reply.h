/* SMTP reply parsing (RFC 5321 4.2, RFC 3463 enhanced codes): one line at
 * a time, multi-line replies joined. Pure; fed by the SMTP client and the
 * fuzz target. */
#ifndef STRATUS_SMTP_REPLY_H
#define STRATUS_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define SMTP_REPLY_MAX_LINES 100
#define SMTP_REPLY_MAX_TEXT 512	/* kept of the first line, for errors */

struct smtp_reply {
	unsigned int code;	/* 200..599 once a line was parsed */
	char enhanced[12];	/* "5.1.1", or "" */
	struct buf text;	/* first line's text after the codes */
	unsigned int n_lines;
	bool ehlo_8bitmime;	/* a continuation line said 8BITMIME */
};

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_reset(struct smtp_reply *r);
void smtp_reply_free(struct smtp_reply *r);

/* One line without its CRLF. Returns 1 when the reply is complete, 0 when
 * more lines follow, -1 when the line is not a valid reply line (bad
 * code, code changed inside a multi-line reply, too many lines). */
int smtp_reply_line(struct smtp_reply *r, const char *line, size_t len);

/* "550 5.1.1 text" of a complete reply, malloc'd. */
char *smtp_reply_describe(const struct smtp_reply *r);

#endif
