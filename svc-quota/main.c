/* stratus-quota: start-up only; the service's concerns live in their own
 * files as they arrive. */
#include "service.h"
#include "rpc-versions.h"
#include "quota.pb-c.h"

/* Handlers arrive with the service's issue; until then every method
 * answers STATUS_UNKNOWN_METHOD. */
static rpc_handler_fn *const quota_rpc_handlers[] = { NULL };

static const struct service_def quota_service = {
	.name = "quota",
	.protocol = NULL,
	.rpc_desc = &stratus__quota__descriptor,
	.rpc_major = QUOTA_RPC_MAJOR,
	.rpc_minor = QUOTA_RPC_MINOR,
	.rpc_handlers = quota_rpc_handlers,
	.rpc_n_handlers = N_ELEMENTS(quota_rpc_handlers),
};

int main(int argc, char **argv)
{
	return service_main(&quota_service, argc, argv);
}
