/* The mail Sieve sends at delivery, built as bytes (CRLF line ends) for
 * lib/smtp's submitter: a redirected copy, a vacation reply (RFC 5230,
 * RFC 3834) and a reject MDN (RFC 5429, RFC 8098). Pure functions of the
 * original message and the settings, so unit tests check each header.
 * Every value that comes from a script or the original message is put on
 * one line (CR/LF become spaces): a script cannot inject headers. */
#ifndef LMTP_SIEVE_MAIL_H
#define LMTP_SIEVE_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "sieve.h"

/* A message carrying more Delivered-To fields than this is looping. */
#define LMTP_SIEVE_MAX_DELIVERED_TO 10

struct lmtp_sieve_orig {
	const char *data;	/* the message as received */
	size_t size, body_off;	/* body_off: the blank line ending the header */
	const char *mail_from;	/* envelope sender, "" for <> */
	const char *rcpt;	/* the envelope recipient */
	const char *orcpt;	/* ORCPT, or NULL */
	const char *msgid;	/* Message-ID, or NULL */
	const char *hostname;	/* for Message-IDs and Reporting-UA */
	time_t now;
};

/* Why redirecting this message would loop (static text), or NULL: it
 * already carries X-Sieve-Redirected-From (or -By) with our recipient,
 * or more than LMTP_SIEVE_MAX_DELIVERED_TO Delivered-To fields. */
const char *lmtp_sieve_redirect_loop(const struct lmtp_sieve_orig *o);

/* The redirected copy: "X-Sieve-Redirected-From: <rcpt>" first, then the
 * original message unchanged. */
void lmtp_sieve_redirect_build(const struct lmtp_sieve_orig *o,
			       struct buf *out);

/* The vacation reply from v->from (or the recipient) to v->to. */
void lmtp_sieve_vacation_build(const struct lmtp_sieve_orig *o,
			       const struct sieve_vacation_reply *v,
			       struct buf *out);

struct lmtp_sieve_mdn_settings {
	const char *postmaster;		/* postmaster_address, expanded */
	const char *subject;		/* rejection_subject: %s */
	const char *reason;		/* rejection_reason: %t %n %r */
};

/* The multipart/report MDN telling o->mail_from that o->rcpt's script
 * rejected the message with `reason`. */
void lmtp_sieve_mdn_build(const struct lmtp_sieve_orig *o,
			  const struct lmtp_sieve_mdn_settings *set,
			  const char *reason, struct buf *out);

/* postmaster_address with %d = the recipient's domain (and %% = %). */
char *lmtp_sieve_postmaster(const char *tmpl, const char *rcpt);

#endif
