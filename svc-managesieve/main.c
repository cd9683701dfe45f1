/* stratus-managesieve: start-up only; the service's concerns live in their own
 * files as they arrive. */
#include "service.h"
#include "rpc-versions.h"

static int managesieve_listener(struct service *svc, const char *fdname, int fd,
			   char **error_r)
{
	(void)fdname;
	(void)error_r;
	return service_listener_refuse(svc, fd,
		"BYE (TRYLATER) \"Stratus ManageSieve is not implemented yet\"");
}

static const struct service_def managesieve_service = {
	.name = "managesieve",
	.protocol = "sieve",
	.listener = managesieve_listener,
};

int main(int argc, char **argv)
{
	return service_main(&managesieve_service, argc, argv);
}
