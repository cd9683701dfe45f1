/* A non-blocking connection for line-based text protocols (the LMTP and
 * POP3 servers, the SMTP client): a bounded input buffer, an output buffer
 * with flow control, an idle timer. It never parses; the owner's ops read
 * the input buffer and append replies. Must never block and never read
 * more than the input bound at once. */
#ifndef STRATUS_TEXT_CONN_H
#define STRATUS_TEXT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "loop.h"

/* Output above this pauses reading until it drains below the low mark, so
 * a client that pipelines but never reads cannot grow our memory. */
#define TEXT_CONN_OUT_HIGH (256 * 1024)
#define TEXT_CONN_OUT_LOW (64 * 1024)

struct text_conn;

struct text_conn_ops {
	/* New bytes are in `in` (bounded by in_max). Consume what was used
	 * with buf_consume(); a full buffer left unconsumed pauses reading
	 * until the owner consumes it (text_conn_resume). */
	void (*input)(void *ctx, struct buf *in);
	/* Output fell below TEXT_CONN_OUT_LOW: append more (streaming). */
	void (*output_drained)(void *ctx);
	/* Idle timeout expired; the owner usually writes a line and calls
	 * text_conn_close_after_flush. */
	void (*idle)(void *ctx);
	/* The connection ended (EOF, error, or closed after a flush). Called
	 * once, from the loop; the owner then frees the conn. `reason` is a
	 * static string for logs. */
	void (*closed)(void *ctx, const char *reason);
};

/* Takes ownership of fd (made non-blocking). idle_msecs 0 = no timer. */
struct text_conn *text_conn_new(struct loop *loop, int fd, size_t in_max,
				uint64_t idle_msecs,
				const struct text_conn_ops *ops, void *ctx);
/* Closes the fd; safe from inside any op. */
void text_conn_free(struct text_conn **conn);

/* The output buffer: append, then call text_conn_flush(). */
struct buf *text_conn_out(struct text_conn *conn);
void text_conn_flush(struct text_conn *conn);
/* Stops/starts reading (e.g. while an RPC answer is awaited). Resuming
 * also re-runs the input op on bytes already buffered. */
void text_conn_pause(struct text_conn *conn);
void text_conn_resume(struct text_conn *conn);
/* Changes the input bound (e.g. bigger after login). */
void text_conn_set_in_max(struct text_conn *conn, size_t in_max);
/* Writes what is queued, then closes and reports `closed`. */
void text_conn_close_after_flush(struct text_conn *conn);
bool text_conn_closing(const struct text_conn *conn);
int text_conn_fd(const struct text_conn *conn);

struct stream;
/* Replaces *sp by a new layer (TLS) around it; -1 on failure (the
 * connection is then closed with reason "TLS could not start"). */
typedef int text_conn_upgrade_fn(void *ctx, struct stream **sp);
/* STARTTLS: once what is queued in the output (the "go ahead" reply) is
 * written, fn wraps the stream. Input already read, and anything read
 * before that point, is dropped unprocessed; nothing is read meanwhile.
 * With empty output (implicit TLS) it runs at once. */
void text_conn_upgrade(struct text_conn *conn, text_conn_upgrade_fn *fn,
		       void *ctx);
/* Implicit TLS: a new connection, nothing read or written yet, gets the
 * layer at once. -1 when fn failed; nothing is reported then, and the
 * caller frees the conn. */
int text_conn_wrap(struct text_conn *conn, text_conn_upgrade_fn *fn,
		   void *ctx);

#endif
