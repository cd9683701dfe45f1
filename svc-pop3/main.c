/* stratus-pop3: start-up only; the service's concerns live in their own
 * files as they arrive. */
#include "service.h"
#include "rpc-versions.h"

static int pop3_listener(struct service *svc, const char *fdname, int fd,
			   char **error_r)
{
	(void)fdname;
	(void)error_r;
	return service_listener_refuse(svc, fd,
		"-ERR [SYS/TEMP] Stratus POP3 is not implemented yet");
}

static const struct service_def pop3_service = {
	.name = "pop3",
	.protocol = "pop3",
	.listener = pop3_listener,
};

int main(int argc, char **argv)
{
	return service_main(&pop3_service, argc, argv);
}
