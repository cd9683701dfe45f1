/* stratus-lmtp: start-up only; the service's concerns live in their own
 * files as they arrive. */
#include "service.h"
#include "rpc-versions.h"

static int lmtp_listener(struct service *svc, const char *fdname, int fd,
			   char **error_r)
{
	(void)fdname;
	(void)error_r;
	return service_listener_refuse(svc, fd,
		"421 4.3.0 Stratus LMTP is not implemented yet");
}

static const struct service_def lmtp_service = {
	.name = "lmtp",
	.protocol = "lmtp",
	.listener = lmtp_listener,
};

int main(int argc, char **argv)
{
	return service_main(&lmtp_service, argc, argv);
}
