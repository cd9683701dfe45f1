/* Outgoing mail for svc-lmtp (Sieve redirect, vacation, reject MDNs):
 * one message to one or more recipients, submitted asynchronously on the
 * caller's loop, either over SMTP to submission_host ("host:port") or by
 * running sendmail_path ("-i -f SENDER -- RCPTS", message on stdin).
 * submission_host wins when it is set, as in Dovecot. Never blocks the
 * loop (the host is resolved once, when the submitter is created) and
 * never keeps a message after its callback ran. */
#ifndef STRATUS_SMTP_CLIENT_H
#define STRATUS_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define SMTP_DEFAULT_TIMEOUT_MSECS (30 * 1000)

enum smtp_status {
	SMTP_STATUS_OK,
	SMTP_STATUS_TEMPFAIL,	/* 4xx, connect/timeout, sendmail EX_TEMPFAIL */
	SMTP_STATUS_PERMFAIL,	/* 5xx, sendmail exit status other than 0/75 */
};

struct smtp_submit_settings {
	const char *submission_host;	/* "host:port" ("host" = port 25) */
	const char *sendmail_path;	/* used when submission_host is "" */
	const char *helo_name;		/* EHLO argument */
	/* Each step (connect, one reply, writing progress, the sendmail
	 * program as a whole) must finish within this; 0 = default. */
	uint64_t timeout_msecs;
};

struct smtp_submitter;
struct smtp_submit;

/* Copies the settings and resolves submission_host (blocking, once, at
 * start-up). Returns NULL with *error_r (malloc'd) when the settings are
 * unusable: nothing to submit with, or an unresolvable host. */
struct smtp_submitter *smtp_submitter_new(struct loop *loop,
					  const struct smtp_submit_settings *set,
					  char **error_r);
void smtp_submitter_free(struct smtp_submitter **sub);
/* "smtp host:port" or "sendmail /path", for logs. Static per submitter. */
const char *smtp_submitter_describe(const struct smtp_submitter *sub);

/* status, and for failures a one-line reason (valid during the call). */
typedef void smtp_submit_cb(void *ctx, enum smtp_status status,
			    const char *error);

/* Submits msg (len bytes, LF or CRLF line ends, not dot-stuffed; copied)
 * from mail_from ("" = the null sender <>) to rcpts. cb runs exactly
 * once, always from the loop (never inside this call); the returned
 * handle is valid until then and may be aborted before (no cb). */
struct smtp_submit *smtp_submit(struct smtp_submitter *sub,
				const char *mail_from,
				const char *const *rcpts, size_t n_rcpts,
				const void *msg, size_t len,
				smtp_submit_cb *cb, void *ctx);
void smtp_submit_abort(struct smtp_submit **submit);

#endif
