/* stratus-auth: start-up only; the service's concerns live in their own
 * files as they arrive. */
#include "service.h"
#include "rpc-versions.h"
#include "auth.pb-c.h"

/* Handlers arrive with the service's issue; until then every method
 * answers STATUS_UNKNOWN_METHOD. */
static rpc_handler_fn *const auth_rpc_handlers[] = { NULL };

static const struct service_def auth_service = {
	.name = "auth",
	.protocol = NULL,
	.rpc_desc = &stratus__auth__descriptor,
	.rpc_major = AUTH_RPC_MAJOR,
	.rpc_minor = AUTH_RPC_MINOR,
	.rpc_handlers = auth_rpc_handlers,
	.rpc_n_handlers = N_ELEMENTS(auth_rpc_handlers),
};

int main(int argc, char **argv)
{
	return service_main(&auth_service, argc, argv);
}
