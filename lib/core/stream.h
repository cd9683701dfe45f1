#ifndef STRATUS_STREAM_H
#define STRATUS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

/* A client connection's byte stream. Protocol code reads and writes
 * through these function pointers so that a plaintext socket can be
 * swapped for a TLS session (STARTTLS, implicit TLS) or wrapped by a
 * compression layer without touching the protocol code.
 *
 * read:  >0 bytes read, 0 end of stream, -1 with errno (EAGAIN when
 *        nothing is available now).
 * write: >0 bytes taken, -1 with errno (EAGAIN when the peer is slow).
 * pending: bytes the layer already holds that epoll will not signal
 *        (TLS records decrypted but not yet read); 0 for a socket.
 * destroy: closes the fd and frees the stream.
 *
 * want_write is set by a layer whose read needs the socket writable
 * (a TLS handshake whose own output did not fit): the owner then
 * watches EPOLLOUT and retries the read when it fires.
 * want_read is set by a layer whose write needs the socket readable (a
 * TLS handshake that waits for the peer's next flight before any
 * application data can go out): the owner then watches EPOLLIN instead
 * of EPOLLOUT for that output, so it does not spin on a writable socket.
 * Both are cleared by the next successful call of the same direction. */
struct stream;

struct stream_ops {
	ssize_t (*read)(struct stream *s, void *buf, size_t len);
	ssize_t (*write)(struct stream *s, const void *buf, size_t len);
	size_t (*pending)(struct stream *s);
	void (*destroy)(struct stream *s);
};

struct stream {
	const struct stream_ops *ops;
	int fd;
	bool want_write;	/* the last read needs EPOLLOUT */
	bool want_read;		/* the last write needs EPOLLIN */
};

/* A stream over a connected non-blocking socket; owns fd. */
struct stream *stream_plain_new(int fd);

static inline ssize_t stream_read(struct stream *s, void *buf, size_t len)
{
	return s->ops->read(s, buf, len);
}

static inline ssize_t stream_write(struct stream *s, const void *buf,
				   size_t len)
{
	return s->ops->write(s, buf, len);
}

static inline size_t stream_pending(struct stream *s)
{
	return s->ops->pending(s);
}

/* The epoll events the owner of s should watch: want_input when it would
 * read now, have_output when bytes wait to be written. A TLS layer that
 * is mid-handshake may turn one direction's need into the other's. */
static inline uint32_t stream_events(const struct stream *s, bool want_input,
				     bool have_output)
{
	uint32_t ev = 0;
	if (want_input)
		ev |= s->want_write ? EPOLLOUT : EPOLLIN;
	if (have_output)
		ev |= s->want_read ? EPOLLIN : EPOLLOUT;
	return ev;
}

/* Closes and frees *sp; NULL-safe, sets *sp to NULL. */
void stream_destroy(struct stream **sp);

#endif
