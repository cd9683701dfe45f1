/* stratus-lmtp: start-up only. Listeners hand accepted connections to the
 * LMTP engine (lmtp-client.c); lmtp-delivery.c talks to the other
 * services. */
#include "service.h"
#include "lmtp-common.h"
#include "lmtp-delivery.h"
#include "lmtp-reload.h"
#include "tls-service.h"

#include <stdlib.h>
#include <string.h>

static struct lmtp_server *lmtp_server_get(struct service *svc);

static void lmtp_clients_changed(struct lmtp_server *server)
{
	struct service *svc = server->svc;
	svc->clients = server->n_clients;
	service_clients_changed(svc);
}

static void lmtp_server_cleanup(void *ctx)
{
	struct lmtp_server *server = ctx;
	void *be = server->backend_ctx;
	lmtp_server_deinit(server);
	tls_service_deinit(server->tls);
	free(server->tls);
	lmtp_rpc_backend_free(be);
	free(server);
}

static struct lmtp_server *lmtp_server_get(struct service *svc)
{
	if (svc->ctx != NULL)
		return svc->ctx;
	struct lmtp_server *server = xcalloc(1, sizeof(*server));
	void *be_ctx;
	const struct lmtp_backend *be =
		lmtp_rpc_backend_new(svc->loop, svc->cfg, &be_ctx);
	lmtp_server_init(server, svc->loop, svc->cfg, be, be_ctx);
	server->svc = svc;
	server->clients_changed = lmtp_clients_changed;
	server->tls = xcalloc(1, sizeof(*server->tls));
	char *error = NULL;
	if (tls_service_init(server->tls, svc->cfg, "lmtp", &error) < 0)
		log_fatal("%s", error);
	svc->ctx = server;
	service_add_cleanup(svc, lmtp_server_cleanup, server);
	return server;
}

static void lmtp_accepted(int fd, const char *ip, unsigned int port,
			  void *ctx)
{
	lmtp_client_create(lmtp_server_get(ctx), fd, ip, port);
}

static void lmtps_accepted(int fd, const char *ip, unsigned int port,
			   void *ctx)
{
	lmtp_client_create_tls(lmtp_server_get(ctx), fd, ip, port);
}

static int lmtp_listener(struct service *svc, const char *fdname, int fd,
			 char **error_r)
{
	/* The server is created first so its cleanup runs after the
	 * listener's. */
	lmtp_server_get(svc);
	bool implicit_tls = service_listener_ssl(svc->cfg, "lmtp", fdname);
	return service_listener_accept(svc, fdname, fd, implicit_tls ?
				       lmtps_accepted : lmtp_accepted, svc,
				       error_r);
}

static void lmtp_status(Stratus__StatusReply *reply, struct service *svc)
{
	struct lmtp_server *server = svc->ctx;
	if (server == NULL)
		return;
	service_status_counter(reply, "connections", server->n_connections);
	service_status_counter(reply, "delivered", server->n_delivered);
	service_status_counter(reply, "delivery_failed", server->n_failed);
	service_status_counter(reply, "rcpt_rejected",
			       server->n_rejected_rcpts);
	lmtp_rpc_backend_status(server->backend_ctx, reply);
}

static const char *const lmtp_settings_implemented[] = {
	"hostname",
	"login_greeting",
	"recipient_delimiter",
	"lmtp_save_to_detail_mailbox",
	"lmtp_hdr_delivery_address",
	"lda_mailbox_autocreate",
	"lda_mailbox_autosubscribe",
	/* Sieve's outgoing mail and its global scripts (lmtp-sieve*.c) */
	"postmaster_address",
	"submission_host",
	"submission_timeout",
	"sendmail_path",
	"rejection_subject",
	"rejection_reason",
	"plugin/sieve_before*",
	"plugin/sieve_after*",
	"plugin/sieve_global",
	"plugin/sieve_global_dir",
	"plugin/sieve_include_max_nesting_depth",
	"plugin/sieve_include_max_includes",
	"plugin/sieve_max_actions",
	"plugin/sieve_max_redirects",
	"plugin/sieve_max_cpu_time",
	"plugin/sieve_vacation_min_period",
	"plugin/sieve_vacation_max_period",
	"plugin/sieve_vacation_default_period",
	NULL
};

static const char *const lmtp_settings_live[] = LMTP_SETTINGS_LIVE;

static const struct service_def lmtp_service = {
	.name = "lmtp",
	.protocol = "lmtp",
	.listener = lmtp_listener,
	.status = lmtp_status,
	.settings_implemented = lmtp_settings_implemented,
	.reload = lmtp_service_reload,
	.settings_live = lmtp_settings_live,
};

int main(int argc, char **argv)
{
	return service_main(&lmtp_service, argc, argv);
}
