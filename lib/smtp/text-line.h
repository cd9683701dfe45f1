/* What the line-based servers on text-conn (svc-lmtp, svc-pop3) share
 * above the connection: cutting bounded command lines out of the input
 * buffer (an over-long line is reported once and skipped to its end),
 * one-line replies, random session ids, and the list of a server's
 * clients. */
#ifndef STRATUS_TEXT_LINE_H
#define STRATUS_TEXT_LINE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "text-conn.h"

enum text_line_result {
	TEXT_LINE_NONE,		/* no complete line buffered yet */
	TEXT_LINE_OK,		/* a line, NUL-terminated, without CR LF */
	TEXT_LINE_TOO_LONG,	/* the buffer filled without a LF: answer
				 * once; the bytes were dropped and the rest
				 * of that line will be skipped */
};

struct text_line_reader {
	bool discarding;	/* skipping the rest of an over-long line */
	size_t used;		/* bytes of `in` the returned line takes */
};

/* The next command line of `in`. On TEXT_LINE_OK, *line_r points into
 * `in` (its CR LF replaced by a NUL) until text_line_consume(). */
enum text_line_result text_line_next(struct text_line_reader *r,
				     struct buf *in, char **line_r,
				     size_t *len_r);
/* Drops the line text_line_next returned from `in`. */
void text_line_consume(struct text_line_reader *r, struct buf *in);

/* Appends fmt + CRLF to conn's output and flushes; nothing when conn is
 * NULL (the client went away while the backend worked). */
void text_conn_vreply(struct text_conn *conn, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* A random session id of size - 1 characters (at most 16) for logs. */
void text_session_id(char *out, size_t size);

/* A server's clients: a doubly-linked list through `prev`/`next` with the
 * head in `*head` and a count, for any client struct that has them. */
#define TEXT_CLIENT_LINK(head, count, client) do { \
		(client)->prev = NULL; \
		(client)->next = *(head); \
		if (*(head) != NULL) \
			(*(head))->prev = (client); \
		*(head) = (client); \
		(count)++; \
	} while (0)
#define TEXT_CLIENT_UNLINK(head, count, client) do { \
		if ((client)->prev != NULL) \
			(client)->prev->next = (client)->next; \
		else \
			*(head) = (client)->next; \
		if ((client)->next != NULL) \
			(client)->next->prev = (client)->prev; \
		(client)->prev = (client)->next = NULL; \
		(count)--; \
	} while (0)

#endif
