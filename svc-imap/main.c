/* stratus-imap: start-up only; the service's concerns live in their own
 * files as they arrive. */
#include "service.h"
#include "rpc-versions.h"

static int imap_listener(struct service *svc, const char *fdname, int fd,
			   char **error_r)
{
	(void)fdname;
	(void)error_r;
	return service_listener_refuse(svc, fd,
		"* BYE [UNAVAILABLE] Stratus IMAP is not implemented yet");
}

static const struct service_def imap_service = {
	.name = "imap",
	.protocol = "imap",
	.listener = imap_listener,
};

int main(int argc, char **argv)
{
	return service_main(&imap_service, argc, argv);
}
