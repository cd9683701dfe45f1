/* Non-blocking TCP client connection on the loop: connect, bounded input
 * buffer, output queue, per-command timeout. The owner gets on_input for
 * new bytes and on_fail once for any failure (refused, reset, EOF,
 * timeout, input over LG_MAX_INPUT); after on_fail the owner closes. */
#include "lg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LG_READ_CHUNK (256u * 1024)

static void conn_fail(struct lg_conn *conn, const char *why)
{
	lg_conn_timeout(conn, 0);
	if (conn->io != NULL)
		loop_io_set_events(conn->io, 0);
	conn->on_fail(conn, why);
}

static void conn_timer_cb(struct loop_timer *timer, void *ctx)
{
	struct lg_conn *conn = ctx;
	(void)timer;
	conn_fail(conn, "timeout");
}

void lg_conn_timeout(struct lg_conn *conn, unsigned int msecs)
{
	if (conn->timer != NULL)
		loop_timer_remove(&conn->timer);
	if (msecs > 0)
		conn->timer = loop_timer_add(conn->lg->loop, msecs, false,
					     conn_timer_cb, conn);
}

static int conn_flush(struct lg_conn *conn)
{
	while (conn->out.len > 0) {
		ssize_t n = send(conn->fd, conn->out.data, conn->out.len,
				 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -1;
		buf_consume(&conn->out, (size_t)n);
	}
	loop_io_set_events(conn->io, EPOLLIN |
			   (conn->out.len > 0 ? EPOLLOUT : 0));
	return 0;
}

static int conn_read(struct lg_conn *conn)
{
	/* drop what the owner consumed before growing the buffer */
	if (conn->in_off > 0) {
		buf_consume(&conn->in, conn->in_off);
		conn->in_off = 0;
	}
	size_t old = conn->in.len;
	char *p = buf_append_space(&conn->in, LG_READ_CHUNK);
	if (p == NULL)
		return -2;
	ssize_t n = recv(conn->fd, p, LG_READ_CHUNK, 0);
	int saved = errno;
	conn->in.len = old + (n > 0 ? (size_t)n : 0);
	conn->in.data[conn->in.len] = '\0';
	if (n == 0)
		return -1;
	if (n < 0)
		return saved == EAGAIN || saved == EINTR ? 0 : -1;
	return 1;
}

static void conn_io_cb(struct loop_io *io, uint32_t events, void *ctx)
{
	struct lg_conn *conn = ctx;
	(void)io;
	if (!conn->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
		    err != 0) {
			conn_fail(conn, err == ECONNREFUSED ?
				  "connection refused" : "connect failed");
			return;
		}
		conn->connected = true;
	}
	if ((events & EPOLLOUT) != 0 && conn_flush(conn) < 0) {
		conn_fail(conn, "send failed");
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0)
		return;
	int r = conn_read(conn);
	if (r == -2) {
		conn_fail(conn, "input over the load generator's limit");
		return;
	}
	if (r == 1) {
		conn->on_input(conn);
		return;
	}
	if (r < 0) {
		/* let the owner see the last bytes (a BYE) before the close */
		if (conn->in.len > conn->in_off)
			conn->on_input(conn);
		if (conn->fd >= 0 && conn->io != NULL)
			conn_fail(conn, "connection closed by server");
	}
}

int lg_conn_open(struct lg_conn *conn, struct lg *lg, void *ctx,
		 lg_conn_input_cb *on_input, lg_conn_fail_cb *on_fail)
{
	memset(conn, 0, sizeof(*conn));
	conn->lg = lg;
	conn->ctx = ctx;
	conn->on_input = on_input;
	conn->on_fail = on_fail;
	buf_init(&conn->in, LG_MAX_INPUT);
	buf_init(&conn->out, 0);
	conn->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  0);
	if (conn->fd < 0)
		return -1;
	int one = 1;
	(void)setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)lg->opts.port) };
	if (inet_pton(AF_INET, lg->opts.host, &sin.sin_addr) != 1) {
		close(conn->fd);
		conn->fd = -1;
		return -1;
	}
	if (connect(conn->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
	    errno != EINPROGRESS) {
		close(conn->fd);
		conn->fd = -1;
		return -1;
	}
	conn->io = loop_io_add(lg->loop, conn->fd, EPOLLIN | EPOLLOUT,
			       conn_io_cb, conn);
	lg_conn_timeout(conn, lg->opts.timeout_ms);
	return 0;
}

void lg_conn_close(struct lg_conn *conn)
{
	lg_conn_timeout(conn, 0);
	if (conn->io != NULL)
		loop_io_remove(&conn->io);
	if (conn->fd >= 0)
		close(conn->fd);
	conn->fd = -1;
	buf_free(&conn->in);
	buf_free(&conn->out);
	conn->in_off = 0;
	conn->connected = false;
}

void lg_conn_send(struct lg_conn *conn, const void *data, size_t len)
{
	(void)buf_append(&conn->out, data, len);
	/* a failed send shows up as an error on the next read, so the owner
	 * is never called back from inside its own send */
	if (conn->connected)
		(void)conn_flush(conn);
}

void lg_conn_printf(struct lg_conn *conn, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)buf_vprintf(&conn->out, fmt, ap);
	va_end(ap);
	if (conn->connected)
		(void)conn_flush(conn);
}

void lg_conn_consume(struct lg_conn *conn, size_t n)
{
	conn->in_off += n;
}
