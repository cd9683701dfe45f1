/* Non-blocking text connection (see text-conn.h). Ops are called only from
 * the loop; freeing the conn from inside an op is deferred to the end of
 * that callback so no op ever returns into freed memory. Bytes go through
 * a struct stream, which a TLS layer may replace (text_conn_upgrade): its
 * handshake can make a read wait for EPOLLOUT or a write for EPOLLIN, and
 * it can hold bytes epoll never reports, read from the kick timer. */
#include "text-conn.h"
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define TEXT_CONN_READ_CHUNK 16384

struct text_conn {
	struct loop *loop;
	int fd;
	struct stream *stream;
	struct loop_io *io;
	struct loop_timer *idle_timer;
	struct loop_timer *kick_timer;	/* re-runs input / closed report */
	uint64_t idle_msecs;
	const struct text_conn_ops *ops;
	void *ctx;
	struct buf in, out;
	uint32_t events;
	int depth;		/* > 0 while inside one of our callbacks */
	bool paused;
	bool out_paused;	/* paused because output is over the high mark */
	/* EPOLLIN stays armed through a pause (most pauses are one RPC
	 * round trip with nothing arriving) and is dropped only once bytes
	 * came that cannot be read yet: an epoll_ctl pair less per command. */
	bool in_stalled;
	bool closing;		/* close once the output is written */
	bool closed_reported;
	bool free_pending;
	bool read_kick;		/* the stream holds bytes: read on kick */
	/* The last write stopped on EAGAIN: only then is EPOLLOUT watched.
	 * Output that was just queued is written by the callback we are in
	 * or by the kick, in the same loop iteration, without arming
	 * EPOLLOUT for it (that was an epoll_ctl pair per POP3 RETR). */
	bool write_blocked;
	const char *close_reason;
	/* text_conn_upgrade: swap the stream once the output is written */
	text_conn_upgrade_fn *upgrade;
	void *upgrade_ctx;
};

static void text_conn_update_events(struct text_conn *conn);
static void text_conn_schedule_kick(struct text_conn *conn);
static void text_conn_report_closed(struct text_conn *conn,
				    const char *reason);

static void text_conn_really_free(struct text_conn *conn)
{
	loop_io_remove(&conn->io);
	loop_timer_remove(&conn->idle_timer);
	loop_timer_remove(&conn->kick_timer);
	stream_destroy(&conn->stream);
	buf_free(&conn->in);
	buf_free(&conn->out);
	free(conn);
}

/* Returns true when the conn was freed inside the callback. */
static bool text_conn_leave(struct text_conn *conn)
{
	if (--conn->depth == 0 && conn->free_pending) {
		text_conn_really_free(conn);
		return true;
	}
	return conn->free_pending;
}

static void text_conn_call_input(struct text_conn *conn)
{
	while (!conn->paused && !conn->closing && conn->in.len > 0 &&
	       !conn->free_pending) {
		size_t before = conn->in.len;
		conn->ops->input(conn->ctx, &conn->in);
		if (conn->free_pending || conn->in.len == before)
			break;
	}
}

/* The owner's reply that announced the new layer is out: any input
 * already read came before it, in the old layer, and is dropped (STARTTLS
 * command injection, RFC 3207 and RFC 8314). */
static void text_conn_run_upgrade(struct text_conn *conn)
{
	text_conn_upgrade_fn *fn = conn->upgrade;
	conn->upgrade = NULL;
	buf_consume(&conn->in, conn->in.len);
	if (fn(conn->upgrade_ctx, &conn->stream) < 0)
		text_conn_report_closed(conn, "TLS could not start");
}

static void text_conn_do_write(struct text_conn *conn)
{
again:
	conn->write_blocked = false;
	while (conn->out.len > 0) {
		ssize_t n = stream_write(conn->stream, conn->out.data,
					 conn->out.len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				conn->write_blocked = true;
				break;
			}
			text_conn_report_closed(conn, errno == EPROTO ?
						"TLS error" : "write failed");
			return;
		}
		buf_consume(&conn->out, (size_t)n);
	}
	if (conn->out.len == 0 && conn->upgrade != NULL) {
		text_conn_run_upgrade(conn);
		if (conn->closed_reported)
			return;
	}
	if (conn->out_paused && conn->out.len < TEXT_CONN_OUT_LOW) {
		conn->out_paused = false;
		if (conn->ops->output_drained != NULL && !conn->closing)
			conn->ops->output_drained(conn->ctx);
	}
	if (conn->free_pending)
		return;
	if (conn->out.len >= TEXT_CONN_OUT_HIGH)
		conn->out_paused = true;
	if (conn->out.len == 0 && conn->closing) {
		text_conn_report_closed(conn, conn->close_reason != NULL ?
					conn->close_reason : "closed");
		return;
	}
	/* output_drained queued more and the socket took all before it:
	 * write that now (EPOLLOUT is not watched for it) */
	if (conn->out.len > 0 && !conn->write_blocked &&
	    !conn->closed_reported)
		goto again;
	text_conn_update_events(conn);
}

static bool text_conn_wants_input(const struct text_conn *conn)
{
	return !conn->paused && !conn->out_paused && !conn->closing &&
	       conn->upgrade == NULL && conn->in.len < conn->in.max;
}

static void text_conn_update_events(struct text_conn *conn)
{
	if (conn->io == NULL)
		return;
	bool want_input = text_conn_wants_input(conn);
	if (want_input)
		conn->in_stalled = false;
	uint32_t ev = stream_events(conn->stream,
				    want_input || !conn->in_stalled,
				    conn->out.len > 0 && conn->write_blocked);
	if (want_input && stream_pending(conn->stream) > 0) {
		conn->read_kick = true;
		text_conn_schedule_kick(conn);
	}
	/* queued output not written yet: the kick writes it (inside a
	 * callback, its way out does) */
	if (conn->out.len > 0 && !conn->write_blocked && conn->depth == 0)
		text_conn_schedule_kick(conn);
	if (ev != conn->events) {
		conn->events = ev;
		loop_io_set_events(conn->io, ev);
	}
}

static void text_conn_report_closed(struct text_conn *conn,
				    const char *reason)
{
	if (conn->closed_reported)
		return;
	conn->closed_reported = true;
	loop_io_remove(&conn->io);
	loop_timer_remove(&conn->idle_timer);
	conn->ops->closed(conn->ctx, reason);
}

static void text_conn_read(struct text_conn *conn)
{
	size_t room = conn->in.max - conn->in.len;
	if (room > TEXT_CONN_READ_CHUNK)
		room = TEXT_CONN_READ_CHUNK;
	if (room == 0)
		return;
	char *p = buf_append_space(&conn->in, room);
	if (p == NULL)
		return;
	ssize_t n = stream_read(conn->stream, p, room);
	int err = errno;
	conn->in.len -= room;
	if (n > 0)
		conn->in.len += (size_t)n;
	conn->in.data[conn->in.len] = '\0';
	if (n == 0) {
		text_conn_report_closed(conn, "disconnected");
		return;
	}
	if (n < 0) {
		if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR)
			text_conn_report_closed(conn, err == EPROTO ?
						"TLS error" : "read failed");
		return;
	}
	if (conn->idle_timer != NULL)
		loop_timer_reset(conn->idle_timer);
	text_conn_call_input(conn);
}

static void text_conn_io(struct loop_io *io, uint32_t events, void *ctx)
{
	struct text_conn *conn = ctx;
	(void)io;
	conn->depth++;
	if ((events & EPOLLOUT) != 0 && !conn->closed_reported)
		text_conn_do_write(conn);
	/* EPOLLOUT with want_write: a TLS handshake step waited for room */
	if (((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 ||
	     conn->stream->want_write) &&
	    !conn->closed_reported && !conn->free_pending) {
		if (((events & EPOLLIN) != 0 || conn->stream->want_write) &&
		    text_conn_wants_input(conn))
			text_conn_read(conn);
		else if ((events & (EPOLLHUP | EPOLLERR)) != 0)
			text_conn_report_closed(conn, "disconnected");
		else if ((events & EPOLLIN) != 0)
			conn->in_stalled = true;
	}
	if (!conn->free_pending && !conn->closed_reported)
		text_conn_do_write(conn);
	text_conn_leave(conn);
}

static void text_conn_idle(struct loop_timer *t, void *ctx)
{
	struct text_conn *conn = ctx;
	(void)t;
	conn->depth++;
	if (conn->ops->idle != NULL)
		conn->ops->idle(conn->ctx);
	else
		text_conn_report_closed(conn, "idle timeout");
	if (!conn->free_pending && !conn->closed_reported)
		text_conn_do_write(conn);
	text_conn_leave(conn);
}

static void text_conn_kick(struct loop_timer *t, void *ctx)
{
	struct text_conn *conn = ctx;
	(void)t;
	loop_timer_remove(&conn->kick_timer);
	conn->depth++;
	if (conn->read_kick && !conn->closed_reported && !conn->closing &&
	    conn->upgrade == NULL) {
		conn->read_kick = false;
		text_conn_read(conn);
	}
	if (!conn->closed_reported && !conn->free_pending) {
		text_conn_call_input(conn);
		if (!conn->free_pending && !conn->closed_reported)
			text_conn_do_write(conn);
	}
	text_conn_leave(conn);
}

static void text_conn_schedule_kick(struct text_conn *conn)
{
	if (conn->kick_timer == NULL)
		conn->kick_timer = loop_timer_add(conn->loop, 0, false,
						  text_conn_kick, conn);
}

struct text_conn *text_conn_new(struct loop *loop, int fd, size_t in_max,
				uint64_t idle_msecs,
				const struct text_conn_ops *ops, void *ctx)
{
	struct text_conn *conn = xcalloc(1, sizeof(*conn));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	conn->loop = loop;
	conn->fd = fd;
	conn->stream = stream_plain_new(fd);
	if (conn->stream == NULL)
		abort();
	conn->ops = ops;
	conn->ctx = ctx;
	conn->idle_msecs = idle_msecs;
	buf_init(&conn->in, in_max);
	buf_init(&conn->out, 0);
	conn->events = EPOLLIN;
	conn->io = loop_io_add(loop, fd, EPOLLIN, text_conn_io, conn);
	if (idle_msecs > 0)
		conn->idle_timer = loop_timer_add(loop, idle_msecs, false,
						  text_conn_idle, conn);
	if (conn->io == NULL)
		text_conn_close_after_flush(conn);
	return conn;
}

void text_conn_free(struct text_conn **_conn)
{
	struct text_conn *conn = *_conn;
	if (conn == NULL)
		return;
	*_conn = NULL;
	if (conn->depth > 0) {
		conn->free_pending = true;
		loop_io_remove(&conn->io);
		loop_timer_remove(&conn->idle_timer);
		loop_timer_remove(&conn->kick_timer);
		return;
	}
	text_conn_really_free(conn);
}

struct buf *text_conn_out(struct text_conn *conn)
{
	return &conn->out;
}

void text_conn_flush(struct text_conn *conn)
{
	if (conn->closed_reported || conn->free_pending)
		return;
	/* Over the high mark output_drained asks for more once it drains,
	 * also when it was queued outside our callbacks (a POP3 body sent
	 * from an RPC answer; without this a message over the mark stalled
	 * once the socket took the first part whole). */
	if (conn->out.len >= TEXT_CONN_OUT_HIGH)
		conn->out_paused = true;
	if (conn->depth > 0)
		return;		/* the callback we are in writes on its way out */
	text_conn_schedule_kick(conn);
}

void text_conn_pause(struct text_conn *conn)
{
	conn->paused = true;
	text_conn_update_events(conn);
}

void text_conn_resume(struct text_conn *conn)
{
	conn->paused = false;
	text_conn_update_events(conn);
	if (conn->in.len > 0)
		text_conn_schedule_kick(conn);
}

void text_conn_set_in_max(struct text_conn *conn, size_t in_max)
{
	if (in_max >= conn->in.len)
		conn->in.max = in_max;
	text_conn_update_events(conn);
}

void text_conn_close_after_flush(struct text_conn *conn)
{
	if (conn->closing)
		return;
	conn->closing = true;
	if (conn->close_reason == NULL)
		conn->close_reason = "closed";
	text_conn_schedule_kick(conn);
}

bool text_conn_closing(const struct text_conn *conn)
{
	return conn->closing || conn->closed_reported;
}

int text_conn_fd(const struct text_conn *conn)
{
	return conn->fd;
}

void text_conn_upgrade(struct text_conn *conn, text_conn_upgrade_fn *fn,
		       void *ctx)
{
	conn->upgrade = fn;
	conn->upgrade_ctx = ctx;
	buf_consume(&conn->in, conn->in.len);
	if (conn->out.len == 0 && conn->depth == 0) {
		text_conn_run_upgrade(conn);
		text_conn_update_events(conn);
		return;
	}
	/* Written (and the upgrade run) on the way out of the callback
	 * we are in, or by the kick. */
	text_conn_update_events(conn);
	text_conn_schedule_kick(conn);
}

int text_conn_wrap(struct text_conn *conn, text_conn_upgrade_fn *fn,
		   void *ctx)
{
	if (fn(ctx, &conn->stream) < 0)
		return -1;
	text_conn_update_events(conn);
	return 0;
}
