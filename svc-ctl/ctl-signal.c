/* stratusctl reload / stop, as doveadm reload / stop: the configuration
 * is checked first (reload refuses a file that does not load, with the
 * parser's file:line), then each running service, found through its
 * status RPC, gets SIGHUP or SIGTERM. Services that are down are named;
 * under systemd, `systemctl reload` runs the units' ExecReload= (the same
 * SIGHUP). */
#include "ctl.h"
#include "buf.h"
#include "rpc.h"
#include "service.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_SIGNAL_TIMEOUT_MS 5000

/* The pid of a running service, 0 when it does not answer. */
static pid_t ctl_service_pid(struct loop *loop, const struct config *cfg,
			     const char *name)
{
	char *path = service_rpc_socket_path(cfg, name);
	struct rpc_client *c = rpc_client_new(loop, path,
		&stratus__control__descriptor, RPC_CONTROL_MAJOR,
		RPC_CONTROL_MINOR);
	Stratus__StatusRequest req = STRATUS__STATUS_REQUEST__INIT;
	struct rpc_reply reply;
	pid_t pid = 0;
	if (rpc_client_call_sync(c, RPC_METHOD_STATUS, &req.base, NULL, 0,
				 CTL_SIGNAL_TIMEOUT_MS, &reply) == 0)
		pid = (pid_t)((const Stratus__StatusReply *)reply.msg)->pid;
	rpc_reply_clear(&reply);
	rpc_client_free(&c);
	free(path);
	return pid;
}

/* The `stratusctl run` supervisor's pid, 0 when there is none. */
static pid_t ctl_run_pid(const struct config *cfg)
{
	const char *dir = config_get(cfg, NULL, "base_dir");
	char *path = xasprintf("%s/" CTL_RUN_PIDFILE,
			       dir != NULL ? dir : "/var/run/dovecot");
	FILE *f = fopen(path, "r");
	free(path);
	long pid = 0;
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 1 || kill((pid_t)pid, 0) < 0)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

static int ctl_signal_all(struct ctl_args *args, int signo, const char *verb)
{
	static const char *const names[] = SERVICE_NAMES;
	bool json = ctl_take_flag(args, "--json");
	struct config *cfg = ctl_config_load(args->config_path);
	if (cfg == NULL) {
		if (signo == SIGHUP)
			fprintf(stderr, "stratusctl: reload refused; the "
				"services keep their running configuration\n");
		return CTL_EXIT_FAILURE;
	}
	pid_t run_pid = signo == SIGTERM ? ctl_run_pid(cfg) : 0;
	if (run_pid > 0 && kill(run_pid, SIGTERM) == 0) {
		if (json)
			printf("[{\"service\":\"run\",\"pid\":%ld,"
			       "\"stop\":true}]\n", (long)run_pid);
		else
			printf("run\t%ld\tstop\n", (long)run_pid);
		config_free(&cfg);
		return 0;
	}
	struct loop *loop = loop_new();
	int down = 0, listed = 0;
	if (json)
		fputc('[', stdout);
	for (size_t i = 0; i < SERVICE_COUNT; i++) {
		if (!service_enabled(cfg, names[i]))
			continue;
		pid_t pid = ctl_service_pid(loop, cfg, names[i]);
		bool ok = pid > 0 && kill(pid, signo) == 0;
		if (!ok) {
			fprintf(stderr, "stratusctl: %s: stratus-%s is not "
				"running%s%s\n", verb, names[i],
				pid > 0 ? ": " : "",
				pid > 0 ? strerror(errno) : "");
			down++;
		}
		if (json)
			printf("%s{\"service\":\"%s\",\"pid\":%ld,\"%s\":%s}",
			       listed > 0 ? "," : "", names[i], (long)pid,
			       verb, ok ? "true" : "false");
		else if (ok)
			printf("%s\t%ld\t%s\n", names[i], (long)pid, verb);
		listed++;
	}
	if (json)
		fputs("]\n", stdout);
	loop_free(&loop);
	config_free(&cfg);
	return down > 0 ? CTL_EXIT_FAILURE : 0;
}

int ctl_cmd_reload(struct ctl_args *args)
{
	return ctl_signal_all(args, SIGHUP, "reload");
}

int ctl_cmd_stop(struct ctl_args *args)
{
	return ctl_signal_all(args, SIGTERM, "stop");
}
