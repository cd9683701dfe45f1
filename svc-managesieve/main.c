/* stratus-managesieve: start-up only. The protocol engine lives in
 * managesieve-client.c (connections, command table), managesieve-parser.c
 * (the command reader), managesieve-auth.c, managesieve-storage.c and
 * cmd-scripts.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "managesieve-common.h"
#include "sieve.h"

struct ms_listener {
	struct ms_ctx *ctx;
	int fd;
	bool tls;		/* ssl = yes: TLS from the first byte */
	struct loop_io *io;
};

static const char *const implemented[] = {
	"managesieve_max_line_length",
	"managesieve_implementation_string",
	"managesieve_sieve_capability",
	"managesieve_max_compile_errors",
	"plugin/sieve_quota_max_scripts",
	"plugin/sieve_quota_max_storage",
	"plugin/sieve_max_script_size",
	"plugin/sieve_max_redirects",
	/* where PUTSCRIPT looks for a script that include :global names */
	"plugin/sieve_global",
	"plugin/sieve_global_dir",
	/* through svc-auth's Connect (protocol sieve) and Trust */
	"mail_max_userip_connections",
	"login_trusted_networks",
	NULL
};

static uint64_t plugin_size(const struct config *cfg, const char *key,
			    uint64_t def)
{
	const char *v = config_plugin_get(cfg, "sieve", key);
	uint64_t n;

	if (v == NULL || config_parse_size(v, &n) < 0)
		return def;
	return n;
}

/* sieve_global, else sieve_global_dir ("file:/path;..." or "/path"), as
 * svc-lmtp reads it for include :global; NULL when unset or relative. */
static char *global_dir(const struct config *cfg)
{
	const char *v = config_plugin_get(cfg, "sieve", "sieve_global");

	if (v == NULL || *v == '\0')
		v = config_plugin_get(cfg, "sieve", "sieve_global_dir");
	if (v == NULL || *v == '\0')
		return NULL;
	if (strncmp(v, "file:", 5) == 0)
		v += 5;
	if (v[0] != '/') {
		log_warning(NULL, "sieve_global %s is not an absolute path; "
			    "every include :global counts as missing", v);
		return NULL;
	}
	return xstrndup(v, strcspn(v, ";"));
}

static void settings_read(const struct config *cfg, struct ms_settings *set)
{
	const char *impl = config_get(cfg, "sieve",
				      "managesieve_implementation_string");
	const char *caps = config_get(cfg, "sieve",
				      "managesieve_sieve_capability");

	set->max_line = config_get_size(cfg, "sieve",
					"managesieve_max_line_length");
	if (set->max_line < 1024)
		set->max_line = 1024;
	set->implementation = impl != NULL ? impl : "Dovecot Pigeonhole";
	/* As in Pigeonhole: an operator may announce another list (say,
	 * the one of the backends behind a proxy); empty = lib/sieve's. */
	set->sieve_capability = caps != NULL && *caps != '\0' ? caps :
				sieve_extensions_string();
	set->max_compile_errors = (unsigned int)config_get_uint(cfg, "sieve",
		"managesieve_max_compile_errors");
	if (set->max_compile_errors == 0)
		set->max_compile_errors = 5;
	set->max_script_size = plugin_size(cfg, "sieve_max_script_size",
					   1024 * 1024);
	if (set->max_script_size == 0 ||
	    set->max_script_size > SIEVE_MAX_SCRIPT_SIZE_LIMIT)
		set->max_script_size = SIEVE_MAX_SCRIPT_SIZE_LIMIT;
	set->quota_max_scripts = (unsigned int)plugin_size(cfg,
		"sieve_quota_max_scripts", 0);
	set->quota_max_storage = plugin_size(cfg, "sieve_quota_max_storage",
					     0);
	set->max_redirects = (unsigned int)plugin_size(cfg,
		"sieve_max_redirects", 4);
	set->global_dir = global_dir(cfg);
}

static void ms_accept(struct loop_io *io, uint32_t events, void *ctx)
{
	struct ms_listener *l = ctx;

	(void)io;
	(void)events;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(l->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_error(NULL, "accept() failed: %s",
					  strerror(errno));
			return;
		}
		ms_client_create(l->ctx, fd, l->tls);
	}
}

static void listener_free(void *ctx)
{
	struct ms_listener *l = ctx;

	loop_io_remove(&l->io);
	free(l);
}

static struct ms_ctx *ctx_get(struct service *svc)
{
	struct ms_ctx *ctx;

	if (svc->ctx != NULL)
		return svc->ctx;
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->svc = svc;
	settings_read(svc->cfg, &ctx->set);
	char *error = NULL;
	if (tls_service_init(&ctx->tls, svc->cfg, "sieve", &error) < 0)
		log_fatal("%s", error);
	ms_auth_init(ctx);
	ms_storage_init(ctx);
	svc->ctx = ctx;
	return ctx;
}

static int managesieve_listener(struct service *svc, const char *fdname,
				int fd, char **error_r)
{
	struct ms_listener *l;
	bool tls = service_listener_ssl(svc->cfg, "managesieve", fdname);

	if (strcmp(fdname, "inet-sieve") != 0 && !tls)
		return service_listener_refuse(svc, fd, "BYE \"Unknown "
					       "listener\"");
	/* The accept loop drains the backlog until EAGAIN. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		*error_r = xasprintf("fcntl(O_NONBLOCK) failed");
		return -1;
	}
	l = xcalloc(1, sizeof(*l));
	l->ctx = ctx_get(svc);
	l->fd = fd;
	l->tls = tls;
	l->io = loop_io_add(svc->loop, fd, EPOLLIN, ms_accept, l);
	service_add_cleanup(svc, listener_free, l);
	return 0;
}

static void managesieve_deinit(struct service *svc)
{
	struct ms_ctx *ctx = svc->ctx;

	if (ctx == NULL)
		return;
	/* Close every connection; one waiting for an RPC is freed when
	 * that RPC's callback runs, which freeing the RPC clients does. */
	for (struct ms_client *c = ctx->clients, *next; c != NULL; c = next) {
		next = c->next;
		ms_client_disconnect(c, "shutting down");
	}
	ms_storage_deinit(ctx);
	ms_auth_deinit(ctx);
	tls_service_deinit(&ctx->tls);
	free(ctx->set.global_dir);
	free(ctx);
	svc->ctx = NULL;
}

/* SIGHUP: a renewed certificate serves the next connections. */
static void managesieve_reload(struct service *svc)
{
	struct ms_ctx *ctx = svc->ctx;

	if (ctx != NULL && svc->reload_cfg != NULL)
		tls_service_reload(&ctx->tls, svc->reload_cfg);
}

static const struct service_def managesieve_service = {
	.name = "managesieve",
	.protocol = "sieve",
	.listener = managesieve_listener,
	.deinit = managesieve_deinit,
	.reload = managesieve_reload,
	.settings_implemented = implemented,
};

int main(int argc, char **argv)
{
	return service_main(&managesieve_service, argc, argv);
}
