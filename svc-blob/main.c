/* stratus-blob: start-up only; the service's concerns live in their own
 * files as they arrive. */
#include "service.h"
#include "rpc-versions.h"
#include "blob.pb-c.h"

/* Handlers arrive with the service's issue; until then every method
 * answers STATUS_UNKNOWN_METHOD. */
static rpc_handler_fn *const blob_rpc_handlers[] = { NULL };

static const struct service_def blob_service = {
	.name = "blob",
	.protocol = NULL,
	.rpc_desc = &stratus__blob__descriptor,
	.rpc_major = BLOB_RPC_MAJOR,
	.rpc_minor = BLOB_RPC_MINOR,
	.rpc_handlers = blob_rpc_handlers,
	.rpc_n_handlers = N_ELEMENTS(blob_rpc_handlers),
};

int main(int argc, char **argv)
{
	return service_main(&blob_service, argc, argv);
}
