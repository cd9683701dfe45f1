#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static ssize_t plain_read(struct stream *s, void *buf, size_t len)
{
	ssize_t n;
	do {
		n = recv(s->fd, buf, len, 0);
	} while (n < 0 && errno == EINTR);
	return n;
}

/* MSG_NOSIGNAL: a peer that went away must not kill the process. */
static ssize_t plain_write(struct stream *s, const void *buf, size_t len)
{
	ssize_t n;
	do {
		n = send(s->fd, buf, len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n;
}

static size_t plain_pending(struct stream *s)
{
	(void)s;
	return 0;
}

static void plain_destroy(struct stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

static const struct stream_ops plain_ops = {
	.read = plain_read,
	.write = plain_write,
	.pending = plain_pending,
	.destroy = plain_destroy,
};

struct stream *stream_plain_new(int fd)
{
	struct stream *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->ops = &plain_ops;
	s->fd = fd;
	return s;
}

void stream_destroy(struct stream **sp)
{
	struct stream *s = *sp;
	if (s == NULL)
		return;
	*sp = NULL;
	s->ops->destroy(s);
}
