/* A framed, non-blocking RPC connection with fd passing (see
 * rpc-private.h). Input is bounded by the frame maximum; received fds wait
 * in a bounded queue until the frame that carries them is complete. */
#include "rpc-private.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct rpc_out_chunk {
	struct buf data;
	size_t sent;
	int fds[RPC_MAX_FDS_PER_FRAME];
	size_t n_fds;		/* until sent (with the batch's first byte) */
	struct rpc_out_chunk *next;
};

struct rpc_conn {
	struct loop *loop;
	int fd;
	struct loop_io *io;
	size_t max_frame;
	struct buf in;
	int in_fds[RPC_MAX_PENDING_FDS];
	size_t n_in_fds;
	struct rpc_out_chunk *out_head, *out_tail;
	rpc_frame_fn *on_frame;
	rpc_close_fn *on_close;
	void *ctx;
	char *label;
	bool closing, in_callback, free_pending;
	bool flush_deferred;	/* rpc_conn_flush_deferred() is queued */
};

static void rpc_conn_io(struct loop_io *io, uint32_t events, void *ctx);
static int rpc_conn_flush(struct rpc_conn *conn);
static void rpc_conn_flush_deferred(void *ctx);

struct rpc_conn *rpc_conn_new(struct loop *loop, int fd, size_t max_frame,
			      rpc_frame_fn *on_frame, rpc_close_fn *on_close,
			      void *ctx)
{
	struct rpc_conn *conn = xcalloc(1, sizeof(*conn));
	conn->loop = loop;
	conn->fd = fd;
	conn->max_frame = max_frame;
	conn->on_frame = on_frame;
	conn->on_close = on_close;
	conn->ctx = ctx;
	buf_init(&conn->in, 4 + max_frame);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	conn->io = loop_io_add(loop, fd, EPOLLIN, rpc_conn_io, conn);
	if (conn->io == NULL) {
		buf_free(&conn->in);
		free(conn);
		return NULL;
	}
	conn->label = xasprintf("fd %d", fd);
	return conn;
}

void rpc_conn_set_max_frame(struct rpc_conn *conn, size_t max)
{
	conn->max_frame = max;
	conn->in.max = 4 + max;
}

const char *rpc_conn_label(const struct rpc_conn *conn)
{
	return conn->label;
}

void rpc_conn_set_label(struct rpc_conn *conn, const char *label)
{
	free(conn->label);
	conn->label = xstrdup(label);
}

/* The chunk's duplicated fds, once the kernel has its own copies. */
static void rpc_chunk_close_fds(struct rpc_out_chunk *c)
{
	for (size_t i = 0; i < c->n_fds; i++)
		close(c->fds[i]);
	c->n_fds = 0;
}

static void rpc_chunk_free(struct rpc_out_chunk *c)
{
	rpc_chunk_close_fds(c);
	buf_free(&c->data);
	free(c);
}

static void rpc_conn_destroy(struct rpc_conn *conn)
{
	if (conn->flush_deferred) {
		/* What was sent last goes out as it did before batching. */
		loop_defer_cancel(conn->loop, rpc_conn_flush_deferred, conn);
		(void)rpc_conn_flush(conn);
	}
	loop_io_remove(&conn->io);
	close(conn->fd);
	for (size_t i = 0; i < conn->n_in_fds; i++)
		close(conn->in_fds[i]);
	while (conn->out_head != NULL) {
		struct rpc_out_chunk *c = conn->out_head;
		conn->out_head = c->next;
		rpc_chunk_free(c);
	}
	buf_free(&conn->in);
	free(conn->label);
	free(conn);
}

void rpc_conn_free(struct rpc_conn **_conn)
{
	struct rpc_conn *conn = *_conn;
	if (conn == NULL)
		return;
	*_conn = NULL;
	if (conn->in_callback) {
		/* Freed by the I/O handler once the callback returns. */
		conn->free_pending = true;
		conn->on_close = NULL;
		return;
	}
	rpc_conn_destroy(conn);
}

/* Closes the connection on an error and tells the owner. */
static void rpc_conn_fail(struct rpc_conn *conn, const char *reason)
{
	rpc_close_fn *cb = conn->on_close;
	conn->on_close = NULL;
	conn->free_pending = true;
	if (cb != NULL)
		cb(conn, reason, conn->ctx);
}

/* Up to this many queued frames leave in one sendmsg(). */
#define RPC_FLUSH_IOV 64

/* Sends queued frames, as many per sendmsg() as fit: their fds together
 * stay within one frame's RPC_MAX_FDS_PER_FRAME (what the receiver's
 * control buffer holds); fds travel with the first byte sent, which on
 * a stream socket is never after the frame that announces them. */
static int rpc_conn_flush(struct rpc_conn *conn)
{
	while (conn->out_head != NULL) {
		struct iovec iov[RPC_FLUSH_IOV];
		int fds[RPC_MAX_FDS_PER_FRAME];
		size_t n_iov = 0, n_fds = 0;
		for (struct rpc_out_chunk *c = conn->out_head;
		     c != NULL && n_iov < RPC_FLUSH_IOV; c = c->next) {
			size_t cfds = c->n_fds;	/* 0 once sent */
			if (n_fds + cfds > RPC_MAX_FDS_PER_FRAME)
				break;
			memcpy(fds + n_fds, c->fds, cfds * sizeof(int));
			n_fds += cfds;
			iov[n_iov].iov_base = c->data.data + c->sent;
			iov[n_iov].iov_len = c->data.len - c->sent;
			n_iov++;
		}
		union {
			char buf[CMSG_SPACE(sizeof(int) * RPC_MAX_FDS_PER_FRAME)];
			struct cmsghdr align;
		} cbuf;
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = n_iov };
		if (n_fds > 0) {
			msg.msg_control = cbuf.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
			struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
			memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
		}
		ssize_t n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		/* Every fd of the batch went with the first byte, even
		 * those of frames the kernel did not take yet. */
		struct rpc_out_chunk *c = conn->out_head;
		for (size_t i = 0; i < n_iov; i++, c = c->next)
			rpc_chunk_close_fds(c);
		size_t left = (size_t)n;
		bool partial = false;
		for (size_t i = 0; i < n_iov; i++) {
			c = conn->out_head;
			size_t rest = c->data.len - c->sent;
			if (left < rest) {
				c->sent += left;
				partial = true;
				break;
			}
			left -= rest;
			conn->out_head = c->next;
			if (conn->out_head == NULL)
				conn->out_tail = NULL;
			rpc_chunk_free(c);
		}
		if (partial)
			break;
	}
	loop_io_set_events(conn->io, conn->out_head != NULL ?
			   EPOLLIN | EPOLLOUT : EPOLLIN);
	return 0;
}

static void rpc_conn_flush_deferred(void *ctx)
{
	struct rpc_conn *conn = ctx;
	conn->flush_deferred = false;
	if (rpc_conn_flush(conn) < 0) {
		/* Reported by the I/O handler, which sees the error too. */
		loop_io_set_events(conn->io, EPOLLIN | EPOLLOUT);
	}
}

int rpc_conn_send(struct rpc_conn *conn, const Stratus__Frame *frame,
		  const int *fds, size_t n_fds)
{
	if (conn->free_pending || n_fds > RPC_MAX_FDS_PER_FRAME)
		return -1;
	struct rpc_out_chunk *c = xcalloc(1, sizeof(*c));
	buf_init(&c->data, 0);
	Stratus__Frame f = *frame;
	f.n_fds = (uint32_t)n_fds;
	if (rpc_frame_pack(&f, conn->max_frame, &c->data) < 0) {
		rpc_chunk_free(c);
		return -1;
	}
	for (size_t i = 0; i < n_fds; i++) {
		c->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
		if (c->fds[i] < 0) {
			c->n_fds = i;
			rpc_chunk_free(c);
			return -1;
		}
	}
	c->n_fds = n_fds;
	if (conn->out_tail != NULL)
		conn->out_tail->next = c;
	else
		conn->out_head = c;
	conn->out_tail = c;
	/* Frames sent in one loop turn (replies to several sessions, or
	 * calls for them) leave together at its end. */
	if (!conn->flush_deferred) {
		conn->flush_deferred = true;
		loop_defer(conn->loop, rpc_conn_flush_deferred, conn);
	}
	return 0;
}

static int rpc_conn_read(struct rpc_conn *conn)
{
	for (;;) {
		size_t room = conn->in.max - conn->in.len;
		if (room == 0)
			return 0;	/* a whole frame is waiting; parse it */
		if (room > 65536)
			room = 65536;
		unsigned char *p = buf_append_space(&conn->in, room);
		union {
			char buf[CMSG_SPACE(sizeof(int) * RPC_MAX_FDS_PER_FRAME)];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { .iov_base = p, .iov_len = room };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf.buf,
			.msg_controllen = sizeof(cbuf.buf),
		};
		ssize_t n = recvmsg(conn->fd, &msg, MSG_CMSG_CLOEXEC);
		conn->in.len -= room - (n > 0 ? (size_t)n : 0);
		conn->in.data[conn->in.len] = '\0';
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); n >= 0 && cm;
		     cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level != SOL_SOCKET ||
			    cm->cmsg_type != SCM_RIGHTS)
				continue;
			size_t cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int *fds = (int *)CMSG_DATA(cm);
			for (size_t i = 0; i < cnt; i++) {
				if (conn->n_in_fds == RPC_MAX_PENDING_FDS) {
					close(fds[i]);
					return -2;
				}
				conn->in_fds[conn->n_in_fds++] = fds[i];
			}
		}
		if (msg.msg_flags & MSG_CTRUNC)
			return -2;
		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if ((size_t)n < room)
			return 0;
	}
}

/* Parses every complete frame in the input. -1 closes the connection. */
static int rpc_conn_parse(struct rpc_conn *conn, const char **reason_r)
{
	while (conn->in.len >= 4 && !conn->free_pending) {
		uint32_t len = rpc_frame_length((unsigned char *)conn->in.data);
		if (len > conn->max_frame) {
			*reason_r = "oversized frame";
			return -1;
		}
		if (conn->in.len < 4 + (size_t)len)
			return 0;
		const char *error;
		Stratus__Frame *f = rpc_frame_unpack(
			(unsigned char *)conn->in.data + 4, len, &error);
		if (f == NULL) {
			*reason_r = error;
			return -1;
		}
		if (f->n_fds > conn->n_in_fds) {
			stratus__frame__free_unpacked(f, NULL);
			*reason_r = "frame announces fds that were not sent";
			return -1;
		}
		int fds[RPC_MAX_FDS_PER_FRAME];
		size_t n_fds = f->n_fds;
		memcpy(fds, conn->in_fds, n_fds * sizeof(int));
		memmove(conn->in_fds, conn->in_fds + n_fds,
			(conn->n_in_fds - n_fds) * sizeof(int));
		conn->n_in_fds -= n_fds;
		buf_consume(&conn->in, 4 + (size_t)len);
		int r = conn->on_frame(conn, f, fds, n_fds, conn->ctx);
		stratus__frame__free_unpacked(f, NULL);
		if (r < 0) {
			*reason_r = "protocol error";
			return -1;
		}
	}
	return 0;
}

static void rpc_conn_io(struct loop_io *io, uint32_t events, void *ctx)
{
	struct rpc_conn *conn = ctx;
	const char *reason = NULL;
	(void)io;
	/* Callbacks below may free the connection: defer that to the end. */
	conn->in_callback = true;
	if ((events & EPOLLOUT) && rpc_conn_flush(conn) < 0)
		reason = "write failed";
	if (reason == NULL && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		int r = rpc_conn_read(conn);
		if (rpc_conn_parse(conn, &reason) == 0 && reason == NULL) {
			if (r == -2)
				reason = "too many file descriptors";
			else if (r == -1)
				reason = conn->in.len > 0 ?
					"connection closed mid-frame" :
					"connection closed";
		}
	}
	if (reason != NULL && !conn->free_pending)
		rpc_conn_fail(conn, reason);
	conn->in_callback = false;
	if (conn->free_pending)
		rpc_conn_destroy(conn);
}
