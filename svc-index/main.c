/* stratus-index: start-up only. The metacache lives in index-*.c: the
 * model (index-state, index-apply), local files (index-file, index-user),
 * operations (index-mailbox, index-message, index-list, index-search),
 * notifications (index-notify), bundles and eviction (index-bundle,
 * index-evict, index-rebuild) and the RPC glue (index-rpc, index-admin). */
#include "service.h"
#include "rpc-versions.h"
#include "index.pb-c.h"
#include "index-rpc.h"
#include "index-service.h"

static int index_init(struct service *s, char **error_r)
{
	struct index_service *svc = index_service_new(s->loop, s->cfg,
						      error_r);
	if (svc == NULL)
		return -1;
	s->ctx = svc;
	return 0;
}

static void index_deinit(struct service *s)
{
	struct index_service *svc = s->ctx;
	index_service_free(&svc);
	s->ctx = NULL;
}

static void index_status(Stratus__StatusReply *reply, struct service *s)
{
	const struct index_service *svc = s->ctx;
	if (svc == NULL)
		return;
	service_status_counter(reply, "users", svc->n_users);
	service_status_counter(reply, "cache_bytes", svc->total_bytes);
	service_status_counter(reply, "commits", svc->n_commits);
	service_status_counter(reply, "compactions", svc->n_compactions);
	service_status_counter(reply, "torn_tails", svc->n_torn_tails);
	service_status_counter(reply, "corrupt", svc->n_corrupt);
	service_status_counter(reply, "bundle_uploads", svc->n_uploads);
	service_status_counter(reply, "bundle_upload_failures",
			       svc->n_upload_failures);
	service_status_counter(reply, "bundle_downloads", svc->n_downloads);
	service_status_counter(reply, "bundle_chunks_encoded",
			       svc->n_upload_chunks);
	service_status_counter(reply, "bundle_encode_us",
			       svc->upload_encode_us);
	service_status_counter(reply, "rebuilds", svc->n_rebuilds);
	service_status_counter(reply, "bundle_publish_conflicts",
			       svc->n_publish_conflicts);
	service_status_counter(reply, "bundle_merges", svc->n_merges);
	service_status_counter(reply, "evictions", svc->n_evictions);
	service_status_counter(reply, "notifications", svc->n_notifications);
}

/* Schema settings still marked not-yet that svc-index honours. */
static const char *const index_settings_implemented[] = {
	"mail_home",
	"mail_fsync",
	"mailbox_list_index",
	"plugin/obox_fs",
	"plugin/obox_index_fs",
	"plugin/metacache_max_space",
	"plugin/metacache_delay_uploads",
	"plugin/metacache_upload_interval",
	"plugin/metacache_close_delay",
	"plugin/obox_max_rescan_mail_count",
	"namespace/separator",
	"namespace/inbox",
	"namespace/mailbox/auto",
	"namespace/mailbox/special_use",
	NULL
};

static const struct service_def index_service = {
	.name = "index",
	.protocol = NULL,
	.rpc_desc = &stratus__index__descriptor,
	.rpc_major = INDEX_RPC_MAJOR,
	.rpc_minor = INDEX_RPC_MINOR,
	.rpc_handlers = index_rpc_handlers,
	.rpc_n_handlers = INDEX_RPC_N_HANDLERS,
	.init = index_init,
	.deinit = index_deinit,
	.status = index_status,
	.settings_implemented = index_settings_implemented,
};

int main(int argc, char **argv)
{
	return service_main(&index_service, argc, argv);
}
