/* stratus-imap: start-up only. The protocol engine lives in imap-client.c,
 * imap-parser.c and one cmd-*.c per command family. */
#include "imap-index.h"
#include "imap-kick.h"
#include "imap-mail-log.h"
#include "session.pb-c.h"
#include "tls-service.h"
#include "rpc-versions.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct imap_listener {
	struct imap_ctx *ctx;
	int fd;
	bool implicit_tls;	/* ssl = yes (imaps) */
	struct loop_io *io;
};

static void imap_accept(struct loop_io *io, uint32_t events, void *ctx)
{
	struct imap_listener *l = ctx;
	(void)io;
	(void)events;
	/* A bounded batch per wake-up keeps one busy listener from starving
	 * the connections already open. */
	for (int i = 0; i < 64; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_error(NULL, "accept() failed: %s",
					  strerror(errno));
			return;
		}
		imap_client_create(l->ctx, fd, l->implicit_tls);
	}
}

static void imap_listener_free(void *ctx)
{
	struct imap_listener *l = ctx;
	loop_io_remove(&l->io);
	free(l);
}

static struct imap_ctx *imap_ctx_get(struct service *svc, char **error_r)
{
	if (svc->ctx != NULL)
		return svc->ctx;
	struct imap_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->svc = svc;
	if (imap_settings_read(svc->cfg, &ctx->set, error_r) < 0) {
		free(ctx);
		return NULL;
	}
	if (imap_mail_log_init(svc->cfg, error_r) < 0) {
		imap_settings_free(&ctx->set);
		free(ctx);
		return NULL;
	}
	ctx->tls = xcalloc(1, sizeof(*ctx->tls));
	if (tls_service_init(ctx->tls, svc->cfg, "imap", error_r) < 0) {
		imap_settings_free(&ctx->set);
		free(ctx->tls);
		free(ctx);
		return NULL;
	}
	imap_auth_init(ctx);
	imap_index_init(ctx);
	svc->ctx = ctx;
	return ctx;
}

static int imap_listener(struct service *svc, const char *fdname, int fd,
			 char **error_r)
{
	struct imap_ctx *ctx = imap_ctx_get(svc, error_r);
	if (ctx == NULL)
		return -1;
	struct imap_listener *l = xcalloc(1, sizeof(*l));
	l->implicit_tls = service_listener_ssl(svc->cfg, "imap", fdname);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	l->ctx = ctx;
	l->fd = fd;
	l->io = loop_io_add(svc->loop, fd, EPOLLIN, imap_accept, l);
	service_add_cleanup(svc, imap_listener_free, l);
	return 0;
}

static int imap_init(struct service *svc, char **error_r)
{
	return imap_ctx_get(svc, error_r) == NULL ? -1 : 0;
}

static void imap_deinit(struct service *svc)
{
	struct imap_ctx *ctx = svc->ctx;
	if (ctx == NULL)
		return;
	imap_clients_destroy_all(ctx);
	imap_auth_deinit(ctx);
	imap_index_deinit(ctx);
	tls_service_deinit(ctx->tls);
	free(ctx->tls);
	imap_settings_free(&ctx->set);
	free(ctx);
	svc->ctx = NULL;
}

/* SIGHUP: a renewed certificate serves the next connections. */
static void imap_reload(struct service *svc)
{
	struct imap_ctx *ctx = svc->ctx;
	if (ctx != NULL && svc->reload_cfg != NULL)
		tls_service_reload(ctx->tls, svc->reload_cfg);
}

static void imap_status(Stratus__StatusReply *reply, struct service *svc)
{
	struct imap_ctx *ctx = svc->ctx;
	if (ctx == NULL)
		return;
	service_status_counter(reply, "connections_total", ctx->n_connections);
	service_status_counter(reply, "commands", ctx->n_commands);
	service_status_counter(reply, "logins", ctx->n_logins);
	service_status_counter(reply, "login_failures", ctx->n_login_failures);
}

/* Schema settings still marked not-yet that this service honours. */
static const char *const imap_settings_implemented[] = {
	"imap_max_line_length",
	"imap_literal_minus",
	"imap_capability",
	"imap_id_send",
	"imap_id_log",
	"imap_client_workarounds",
	"login_greeting",
	"namespace/type",
	"namespace/separator",
	"namespace/prefix",
	"namespace/inbox",
	"namespace/hidden",
	"mail_plugins: imap_quota",
	"mail_plugins: mail_log",
	"plugin/mail_log_events",
	"plugin/mail_log_fields",
	NULL
};

static const struct service_def imap_service = {
	.name = "imap",
	.protocol = "imap",
	.rpc_desc = &stratus__session__descriptor,
	.rpc_major = SESSION_RPC_MAJOR,
	.rpc_minor = SESSION_RPC_MINOR,
	.rpc_handlers = imap_session_handlers,
	.rpc_n_handlers = IMAP_SESSION_N_HANDLERS,
	.init = imap_init,
	.deinit = imap_deinit,
	.listener = imap_listener,
	.status = imap_status,
	.settings_implemented = imap_settings_implemented,
	.reload = imap_reload,
};

int main(int argc, char **argv)
{
	return service_main(&imap_service, argc, argv);
}
