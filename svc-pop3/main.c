/* stratus-pop3: start-up only. Listeners hand accepted connections to the
 * POP3 engine (pop3-client.c); pop3-maildrop.c talks to the other
 * services. */
#include "service.h"
#include "pop3-common.h"
#include "pop3-maildrop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct pop3_listener {
	struct service *svc;
	int fd;
	struct loop_io *io;
};

static struct pop3_server *pop3_server_get(struct service *svc);

static void pop3_clients_changed(struct pop3_server *server)
{
	struct service *svc = server->svc;
	svc->clients = server->n_clients;
	service_clients_changed(svc);
}

static void pop3_server_cleanup(void *ctx)
{
	struct pop3_server *server = ctx;
	void *be = server->backend_ctx;
	pop3_server_deinit(server);
	pop3_rpc_backend_free(be);
	free(server);
}

static struct pop3_server *pop3_server_get(struct service *svc)
{
	if (svc->ctx != NULL)
		return svc->ctx;
	struct pop3_server *server = xcalloc(1, sizeof(*server));
	void *be_ctx;
	const struct pop3_backend *be =
		pop3_rpc_backend_new(svc->loop, svc->cfg, &be_ctx);
	pop3_server_init(server, svc->loop, svc->cfg, be, be_ctx);
	server->svc = svc;
	server->clients_changed = pop3_clients_changed;
	svc->ctx = server;
	service_add_cleanup(svc, pop3_server_cleanup, server);
	return server;
}

static void pop3_accept(struct loop_io *io, uint32_t events, void *ctx)
{
	struct pop3_listener *l = ctx;
	(void)io;
	(void)events;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
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
		pop3_client_create(pop3_server_get(l->svc), fd, ip, port);
	}
}

static void pop3_listener_free(void *ctx)
{
	struct pop3_listener *l = ctx;
	loop_io_remove(&l->io);
	free(l);
}

static int pop3_listener(struct service *svc, const char *fdname, int fd,
			 char **error_r)
{
	struct pop3_listener *l = xcalloc(1, sizeof(*l));
	(void)fdname;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	l->svc = svc;
	l->fd = fd;
	l->io = loop_io_add(svc->loop, fd, EPOLLIN, pop3_accept, l);
	if (l->io == NULL) {
		*error_r = xasprintf("cannot watch listener %s", fdname);
		free(l);
		return -1;
	}
	/* The server is created first so its cleanup runs after ours. */
	pop3_server_get(svc);
	service_add_cleanup(svc, pop3_listener_free, l);
	return 0;
}

static void pop3_status(Stratus__StatusReply *reply, struct service *svc)
{
	struct pop3_server *server = svc->ctx;
	if (server == NULL)
		return;
	service_status_counter(reply, "logins", server->n_logins);
	service_status_counter(reply, "login_failures",
			       server->n_login_failures);
	service_status_counter(reply, "retr", server->n_retr);
	service_status_counter(reply, "expunged", server->n_expunged);
	pop3_rpc_backend_status(server->backend_ctx, reply);
}

static const char *const pop3_settings_implemented[] = {
	"login_greeting",
	"pop3_no_flag_updates",
	"pop3_client_workarounds",
	"pop3_uidl_format",
	NULL
};

static const struct service_def pop3_service = {
	.name = "pop3",
	.protocol = "pop3",
	.listener = pop3_listener,
	.status = pop3_status,
	.settings_implemented = pop3_settings_implemented,
};

int main(int argc, char **argv)
{
	return service_main(&pop3_service, argc, argv);
}
