/* Accepting connections on a protocol listener: the non-blocking accept
 * loop, bounded per wake-up so one busy listener cannot starve the loop,
 * and the peer's address as text for logs and auth. */
#include "service.h"
#include "buf.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#define SERVICE_ACCEPT_BATCH 64

struct service_acceptor {
	int fd;
	struct loop_io *io;
	service_accept_fn *cb;
	void *ctx;
};

static void service_acceptor_io(struct loop_io *io, uint32_t events,
				void *ctx)
{
	struct service_acceptor *a = ctx;
	(void)io;
	(void)events;
	for (int i = 0; i < SERVICE_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(a->fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		char ip[INET6_ADDRSTRLEN] = "";
		unsigned int port = 0;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
			port = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
			port = ntohs(sin6->sin6_port);
		}
		a->cb(fd, ip, port, a->ctx);
	}
}

static void service_acceptor_free(void *ctx)
{
	struct service_acceptor *a = ctx;
	loop_io_remove(&a->io);
	free(a);
}

int service_listener_accept(struct service *svc, const char *fdname, int fd,
			    service_accept_fn *cb, void *ctx, char **error_r)
{
	struct service_acceptor *a = xcalloc(1, sizeof(*a));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	a->fd = fd;
	a->cb = cb;
	a->ctx = ctx;
	a->io = loop_io_add(svc->loop, fd, EPOLLIN, service_acceptor_io, a);
	if (a->io == NULL) {
		*error_r = xasprintf("cannot watch listener %s", fdname);
		free(a);
		return -1;
	}
	service_add_cleanup(svc, service_acceptor_free, a);
	return 0;
}
