/* stratus-auth: start-up only. The concerns live in their own files:
 * auth-settings.c (config -> chains), auth-rpc.c / auth-sasl.c (RPC),
 * auth-request.c (passdb/userdb chains), db-*.c (drivers),
 * auth-cache.c, auth-penalty.c, auth-anvil.c. */
#include "service.h"
#include "log.h"
#include "rpc-versions.h"
#include "auth.pb-c.h"
#include "auth-anvil.h"
#include "auth-cache.h"
#include "auth-rpc.h"
#include "auth-settings.h"

#include <stdlib.h>

/* CONFIG_NOT_YET settings this service honours (see service.h). */
static const char *const auth_settings_implemented[] = {
	"auth_mechanisms", "auth_cache_size", "auth_cache_ttl",
	"auth_cache_negative_ttl", "auth_failure_delay",
	"auth_username_format", "auth_username_chars",
	"auth_master_user_separator", "auth_worker_max_count",
	"login_trusted_networks", "mail_max_userip_connections",
	"disable_plaintext_auth",
	"passdb/driver", "passdb/args", "passdb/master", "passdb/deny",
	"userdb/driver", "userdb/args",
	"service/unix_listener/mode",
	NULL
};

static int auth_service_init(struct service *svc, char **error_r)
{
	struct auth *auth = xcalloc(1, sizeof(*auth));
	auth->svc = svc;
	svc->ctx = auth;
	if (auth_init(auth, svc->cfg, svc->loop, error_r) < 0)
		return -1;
	auth_rpc_init(auth, svc->rpc);
	log_info(NULL, "%zu passdb(s), %zu userdb(s), cache %s, penalty %s",
		 auth->n_passdbs, auth->n_userdbs,
		 auth->cache != NULL ? "on" : "off",
		 auth->set.penalty_enabled ? "on" : "off");
	return 0;
}

static void auth_service_deinit(struct service *svc)
{
	struct auth *auth = svc->ctx;
	if (auth == NULL)
		return;
	auth_rpc_deinit(auth);
	auth_deinit(auth);
	free(auth);
	svc->ctx = NULL;
}

static void auth_service_status(Stratus__StatusReply *reply,
				struct service *svc)
{
	const struct auth *auth = svc->ctx;
	const struct auth_stats *s = &auth->stats;
	service_status_counter(reply, "auth_requests", s->requests);
	service_status_counter(reply, "auth_successes", s->successes);
	service_status_counter(reply, "auth_failures", s->failures);
	service_status_counter(reply, "auth_tempfails", s->tempfails);
	service_status_counter(reply, "cache_hits", s->cache_hits);
	service_status_counter(reply, "cache_misses", s->cache_misses);
	service_status_counter(reply, "cache_entries", auth->cache != NULL ?
			       auth_cache_count(auth->cache) : 0);
	service_status_counter(reply, "ldap_searches", s->ldap_searches);
	service_status_counter(reply, "ldap_binds", s->ldap_binds);
	service_status_counter(reply, "penalty_delays", s->penalty_delays);
	service_status_counter(reply, "userip_refusals", s->limit_refusals);
	service_status_counter(reply, "userip_sessions",
			       auth_anvil_total(auth->anvil));
	service_status_counter(reply, "forwarding_ignored", s->trust_ignored);
}

/* Reload: cached passdb/userdb answers may predate the new passdbs,
 * userdbs or LDAP files, so they go, as doveadm reload does. */
static void auth_service_reload(struct service *svc)
{
	struct auth *auth = svc->ctx;
	if (auth != NULL && auth->cache != NULL)
		log_info(NULL, "reload: auth cache flushed (%u entries)",
			 auth_cache_flush(auth->cache, NULL));
}

static const struct service_def auth_service = {
	.name = "auth",
	.protocol = NULL,
	.rpc_desc = &stratus__auth__descriptor,
	.rpc_major = AUTH_RPC_MAJOR,
	.rpc_minor = AUTH_RPC_MINOR,
	.rpc_handlers = auth_rpc_handlers,
	.init = auth_service_init,
	.deinit = auth_service_deinit,
	.status = auth_service_status,
	.reload = auth_service_reload,
	.settings_implemented = auth_settings_implemented,
};

int main(int argc, char **argv)
{
	struct service_def def = auth_service;
	def.rpc_n_handlers = auth_rpc_n_handlers;
	return service_main(&def, argc, argv);
}
