/* stratus-quota: start-up only. Quota roots, rules and enforcement
 * answers for the saving services; see quota-common.h. */
#include "quota-common.h"
#include "auth.pb-c.h"
#include "buf.h"
#include "index.pb-c.h"
#include "log.h"
#include "quota.pb-c.h"
#include "rpc-versions.h"

#include <stdlib.h>
#include <string.h>

#define QUOTA_EXPIRE_INTERVAL_MS 60000
#define QUOTA_USER_IDLE_MS 300000

/* In the order of proto/quota.proto's service Quota. */
static rpc_handler_fn *const quota_rpc_handlers[] = {
	quota_rpc_get, quota_rpc_check, quota_rpc_recalc, quota_rpc_commit,
	quota_rpc_changed,
};

static const char *const quota_settings_implemented[] = {
	"mail_plugins: quota", "mail_plugins: quota_clone", "plugin/quota",
	"plugin/quota_rule*", "plugin/quota_warning*", "plugin/quota_grace",
	"plugin/quota_exceeded_message", "plugin/quota_vsizes",
	"plugin/quota_clone_dict", "quota_full_tempfail", NULL,
};

static void quota_expire_timer(struct loop_timer *t, void *ctx)
{
	(void)t;
	quota_users_expire(ctx, QUOTA_USER_IDLE_MS);
}

static struct rpc_client *quota_client(struct service *svc, const char *name,
				       const ProtobufCServiceDescriptor *desc,
				       uint32_t major, uint32_t minor)
{
	char *path = service_rpc_socket_path(svc->cfg, name);
	struct rpc_client *c = rpc_client_new(svc->loop, path, desc, major,
					      minor);
	free(path);
	return c;
}

static int quota_init(struct service *svc, char **error_r)
{
	struct quota_ctx *q = xcalloc(1, sizeof(*q));
	q->svc = svc;
	svc->ctx = q;
	if (quota_settings_load(&q->set, svc->cfg, error_r) < 0)
		return -1;
	q->auth = quota_client(svc, "auth", &stratus__auth__descriptor,
			       AUTH_RPC_MAJOR, AUTH_RPC_MINOR);
	q->index = quota_client(svc, "index", &stratus__index__descriptor,
				INDEX_RPC_MAJOR, INDEX_RPC_MINOR);
	q->expire_timer = loop_timer_add(svc->loop, QUOTA_EXPIRE_INTERVAL_MS, true,
				      quota_expire_timer, q);
	if (quota_clone_init(q, error_r) < 0)
		return -1;
	log_info(NULL, "quota %s", q->set.enabled ? "enabled" :
		 "disabled (no quota in mail_plugins or no plugin/quota)");
	return 0;
}

static void quota_deinit(struct service *svc)
{
	struct quota_ctx *q = svc->ctx;
	loop_timer_remove(&q->expire_timer);
	quota_scripts_deinit(q);
	quota_clone_deinit(q);
	/* Clients first: their pending callbacks point at users. */
	rpc_client_free(&q->auth);
	rpc_client_free(&q->index);
	quota_users_free(q);
	quota_settings_free(&q->set);
	free(q);
	svc->ctx = NULL;
}

static void quota_status(Stratus__StatusReply *reply, struct service *svc)
{
	struct quota_ctx *q = svc->ctx;
	service_status_counter(reply, "checks", q->checks);
	service_status_counter(reply, "refusals", q->refusals);
	service_status_counter(reply, "warnings_run", q->warnings_run);
	service_status_counter(reply, "clone_writes", q->clone_writes);
}

static const char *const quota_settings_live[] = QUOTA_SETTINGS_LIVE;

static const struct service_def quota_service = {
	.name = "quota",
	.rpc_desc = &stratus__quota__descriptor,
	.rpc_major = QUOTA_RPC_MAJOR,
	.rpc_minor = QUOTA_RPC_MINOR,
	.rpc_handlers = quota_rpc_handlers,
	.rpc_n_handlers = N_ELEMENTS(quota_rpc_handlers),
	.init = quota_init,
	.deinit = quota_deinit,
	.status = quota_status,
	.settings_implemented = quota_settings_implemented,
	.reload = quota_service_reload,
	.settings_live = quota_settings_live,
};

int main(int argc, char **argv)
{
	return service_main(&quota_service, argc, argv);
}
