/* stratus-blob: object storage for every other service (message bodies,
 * index bundles, Sieve scripts) over posix, S3 or Scality CDMI, with
 * fscache and compression. Start-up only; the concerns live in
 * blob-setup.c (config), blob-rpc.c (RPC) and the fs-*.c layers. */
#include "blob.h"
#include "blob.pb-c.h"
#include "buf.h"
#include "rpc-versions.h"
#include "service.h"

#include <stdlib.h>

/* In the order of the methods in proto/blob.proto. */
static rpc_handler_fn *const blob_rpc_handlers[] = {
	blob_rpc_put,
	blob_rpc_get,
	blob_rpc_head,
	blob_rpc_delete,
	blob_rpc_copy,
	blob_rpc_list,
};

/* Schema settings still marked not-yet that svc-blob honours. */
static const char *const blob_settings_implemented[] = {
	"plugin/obox_fs",
	"plugin/obox_max_parallel_writes",
	"plugin/obox_max_parallel_copies",
	"plugin/obox_max_parallel_deletes",
	"plugin/zlib_save",
	"plugin/zlib_save_level",
	"mail_prefetch_count",
	"mail_fsync",
	"mail_plugins: zlib",
	NULL
};

static int blob_service_init(struct service *svc, char **error_r)
{
	struct blob *blob = xcalloc(1, sizeof(*blob));
	if (blob_init(blob, svc->cfg, svc->loop, error_r) < 0) {
		free(blob);
		return -1;
	}
	svc->ctx = blob;
	return 0;
}

static void blob_service_deinit(struct service *svc)
{
	struct blob *blob = svc->ctx;
	if (blob == NULL)
		return;
	blob_deinit(blob);
	free(blob);
	svc->ctx = NULL;
}

static void blob_service_status(Stratus__StatusReply *reply,
				struct service *svc)
{
	struct blob *blob = svc->ctx;
	if (blob != NULL)
		blob_stats_report(&blob->stats, reply);
}

static const struct service_def blob_service = {
	.name = "blob",
	.protocol = NULL,
	.rpc_desc = &stratus__blob__descriptor,
	.rpc_major = BLOB_RPC_MAJOR,
	.rpc_minor = BLOB_RPC_MINOR,
	.rpc_handlers = blob_rpc_handlers,
	.rpc_n_handlers = N_ELEMENTS(blob_rpc_handlers),
	.init = blob_service_init,
	.deinit = blob_service_deinit,
	.status = blob_service_status,
	.settings_implemented = blob_settings_implemented,
};

int main(int argc, char **argv)
{
	return service_main(&blob_service, argc, argv);
}
