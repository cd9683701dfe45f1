/* stratus-pop3: start-up only. Listeners hand accepted connections to the
 * POP3 engine (pop3-client.c); pop3-maildrop.c talks to the other
 * services. */
#include "service.h"
#include "pop3-common.h"
#include "pop3-maildrop.h"
#include "tls-service.h"
#include "pop3-kick.h"
#include "rpc-versions.h"
#include "session.pb-c.h"

#include <stdlib.h>
#include <string.h>

static struct pop3_server *pop3_server_get(struct service *svc);

static void pop3_clients_changed(struct pop3_server *server)
{
	struct service *svc = server->svc;
	svc->clients = server->n_clients;
	service_clients_changed(svc);
}

static bool pop3_tls_available(struct pop3_server *server)
{
	return tls_service_available(server->tls);
}

static int pop3_tls_start(struct pop3_server *server, struct stream **sp)
{
	return tls_service_start(server->tls, sp);
}

static bool pop3_plaintext_allowed(struct pop3_server *server, bool secured)
{
	return tls_service_plaintext_allowed(server->tls, secured);
}

static void pop3_server_cleanup(void *ctx)
{
	struct pop3_server *server = ctx;
	void *be = server->backend_ctx;
	pop3_server_deinit(server);
	tls_service_deinit(server->tls);
	free(server->tls);
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
	server->tls = xcalloc(1, sizeof(*server->tls));
	char *error = NULL;
	if (tls_service_init(server->tls, svc->cfg, "pop3", &error) < 0)
		log_fatal("%s", error);
	server->tls_available = pop3_tls_available;
	server->tls_start = pop3_tls_start;
	server->plaintext_allowed = pop3_plaintext_allowed;
	svc->ctx = server;
	service_add_cleanup(svc, pop3_server_cleanup, server);
	return server;
}

static void pop3_accepted(int fd, const char *ip, unsigned int port,
			  void *ctx)
{
	pop3_client_create(pop3_server_get(ctx), fd, ip, port);
}

static void pop3s_accepted(int fd, const char *ip, unsigned int port,
			   void *ctx)
{
	pop3_client_create_tls(pop3_server_get(ctx), fd, ip, port);
}

static int pop3_listener(struct service *svc, const char *fdname, int fd,
			 char **error_r)
{
	/* The server is created first so its cleanup runs after the
	 * listener's. */
	pop3_server_get(svc);
	bool implicit_tls = service_listener_ssl(svc->cfg, "pop3", fdname);
	return service_listener_accept(svc, fdname, fd, implicit_tls ?
				       pop3s_accepted : pop3_accepted, svc,
				       error_r);
}

/* SIGHUP: a renewed certificate serves the next connections. */
static void pop3_reload(struct service *svc)
{
	struct pop3_server *server = svc->ctx;
	if (server != NULL && svc->reload_cfg != NULL)
		tls_service_reload(server->tls, svc->reload_cfg);
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
	"mail_plugins: mail_log",
	"plugin/mail_log_events",
	"plugin/mail_log_fields",
	NULL
};

static const struct service_def pop3_service = {
	.name = "pop3",
	.protocol = "pop3",
	.rpc_desc = &stratus__session__descriptor,
	.rpc_major = SESSION_RPC_MAJOR,
	.rpc_minor = SESSION_RPC_MINOR,
	.rpc_handlers = pop3_session_handlers,
	.rpc_n_handlers = POP3_SESSION_N_HANDLERS,
	.listener = pop3_listener,
	.status = pop3_status,
	.settings_implemented = pop3_settings_implemented,
	.reload = pop3_reload,
};

int main(int argc, char **argv)
{
	return service_main(&pop3_service, argc, argv);
}
