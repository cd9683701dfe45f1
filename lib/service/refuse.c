/* A listener that answers every connection with one line and closes it:
 * what a protocol service does before its engine exists. */
#include "service.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct refuse_listener {
	int fd;
	char *line;
	struct loop_io *io;
};

static void refuse_accept(struct loop_io *io, uint32_t events, void *ctx)
{
	struct refuse_listener *r = ctx;
	(void)io;
	(void)events;
	for (;;) {
		int fd = accept4(r->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		/* One short write to a fresh socket fits its buffer. */
		ssize_t n = send(fd, r->line, strlen(r->line), MSG_NOSIGNAL);
		(void)n;
		close(fd);
	}
}

static void refuse_listener_free(void *ctx)
{
	struct refuse_listener *r = ctx;
	loop_io_remove(&r->io);
	free(r->line);
	free(r);
}

int service_listener_refuse(struct service *svc, int fd, const char *line)
{
	struct refuse_listener *r = xcalloc(1, sizeof(*r));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	r->fd = fd;
	r->line = xasprintf("%s\r\n", line);
	r->io = loop_io_add(svc->loop, fd, EPOLLIN, refuse_accept, r);
	if (r->io == NULL) {
		free(r->line);
		free(r);
		return -1;
	}
	service_add_cleanup(svc, refuse_listener_free, r);
	return 0;
}
