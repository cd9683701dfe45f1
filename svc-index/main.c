/* stratus-index: start-up only; the service's concerns live in their own
 * files as they arrive. */
#include "service.h"
#include "rpc-versions.h"
#include "index.pb-c.h"

/* Handlers arrive with the service's issue; until then every method
 * answers STATUS_UNKNOWN_METHOD. */
static rpc_handler_fn *const index_rpc_handlers[] = { NULL };

static const struct service_def index_service = {
	.name = "index",
	.protocol = NULL,
	.rpc_desc = &stratus__index__descriptor,
	.rpc_major = INDEX_RPC_MAJOR,
	.rpc_minor = INDEX_RPC_MINOR,
	.rpc_handlers = index_rpc_handlers,
	.rpc_n_handlers = N_ELEMENTS(index_rpc_handlers),
};

int main(int argc, char **argv)
{
	return service_main(&index_service, argc, argv);
}
