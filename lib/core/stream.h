#ifndef STRATUS_STREAM_H
#define STRATUS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
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
 * (a TLS handshake or renegotiation): the owner then watches EPOLLOUT
 * and retries the read when it fires. */
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
	bool want_write;
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

/* Closes and frees *sp; NULL-safe, sets *sp to NULL. */
void stream_destroy(struct stream **sp);

#endif
