/* The message as it is stored for one recipient: the trace headers LMTP
 * adds (Return-Path, Delivered-To, Received) followed by the body the
 * client sent, in a fresh memfd, with the sizes svc-index and svc-blob
 * need. Pure functions of their inputs: no RPC, no settings lookups. */
#ifndef LMTP_MESSAGE_H
#define LMTP_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* A header value longer than this is logged cut (it is only for logs). */
#define LMTP_MSGID_LOG_MAX 200

struct lmtp_trace_info {
	const char *mail_from;	/* "" for the null sender */
	const char *delivered_to;	/* NULL: no Delivered-To header */
	const char *for_rcpt;	/* NULL: no "for <...>" in Received */
	const char *helo;	/* may be NULL or "" */
	const char *client_ip;	/* "" on a UNIX socket */
	const char *hostname;
	const char *session;
	int64_t time;		/* unix seconds */
};

/* Appends the trace headers, each ending in CRLF. */
void lmtp_trace_headers(const struct lmtp_trace_info *info, struct buf *out);

struct lmtp_message {
	int fd;			/* memfd: headers + body; -1 when none */
	uint64_t physical_size;
	uint64_t virtual_size;	/* every bare LF counted as CRLF */
	/* For mail_log lines; NULL when absent from the first 64 KiB. */
	char *msgid;
	char *from;
	char *subject;
};

/* Builds msg_r from the headers and body_fd (read with pread from offset
 * 0, so several recipients may share it). 0, or -1 with *error_r
 * (malloc'd); msg_r is then empty. Free with lmtp_message_free. */
int lmtp_message_build(const struct buf *headers, int body_fd,
		       uint64_t body_size, struct lmtp_message *msg_r,
		       char **error_r);
void lmtp_message_free(struct lmtp_message *msg);

/* The unfolded value of the first header field called name in data
 * (which may hold the body too), without surrounding whitespace; NULL
 * when there is none. Cut to LMTP_MSGID_LOG_MAX bytes. malloc'd. */
char *lmtp_find_header(const char *data, size_t size, const char *name);

/* Adds the virtual size of data to *vsize; *last_cr carries whether the
 * previous chunk ended in CR. */
void lmtp_count_vsize(const char *data, size_t size, uint64_t *vsize,
		      int *last_cr);

#endif
