/* stratusctl status: asks each enabled service's RPC socket for its
 * status; exits non-zero when any service does not answer. */
#include "ctl.h"
#include "buf.h"
#include "rpc.h"
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_STATUS_TIMEOUT_MS 5000

static int ctl_status_one(struct loop *loop, const struct config *cfg,
			  const char *name)
{
	char *path = service_rpc_socket_path(cfg, name);
	struct rpc_client *c = rpc_client_new(loop, path,
		&stratus__control__descriptor, RPC_CONTROL_MAJOR,
		RPC_CONTROL_MINOR);
	Stratus__StatusRequest req = STRATUS__STATUS_REQUEST__INIT;
	struct rpc_reply reply;
	int ret = 0;
	if (rpc_client_call_sync(c, RPC_METHOD_STATUS, &req.base, NULL, 0,
				 CTL_STATUS_TIMEOUT_MS, &reply) < 0) {
		printf("%-12s DOWN  %s (%s)\n", name, reply.error ?
		       reply.error : rpc_status_name(reply.status), path);
		ret = -1;
	} else {
		const Stratus__StatusReply *r = (const void *)reply.msg;
		printf("%-12s %-5s pid %-7u up %-6llus connections %-4u",
		       name, r->state, r->pid,
		       (unsigned long long)r->uptime_secs, r->connections);
		for (size_t i = 0; i < r->n_counters; i++)
			printf(" %s=%llu", r->counters[i]->name,
			       (unsigned long long)r->counters[i]->value);
		printf("\n");
	}
	rpc_reply_clear(&reply);
	rpc_client_free(&c);
	free(path);
	return ret;
}

/* Named services on the command line, else every enabled one. */
static bool ctl_status_wanted(const struct ctl_args *args,
			      const struct config *cfg, const char *name)
{
	if (args->argc == 0)
		return service_enabled(cfg, name);
	for (int i = 0; i < args->argc; i++) {
		if (strcmp(args->argv[i], name) == 0)
			return true;
	}
	return false;
}

int ctl_cmd_status(struct ctl_args *args)
{
	static const char *const names[] = SERVICE_NAMES;
	struct config *cfg = ctl_config_load(args->config_path);
	if (cfg == NULL)
		return CTL_EXIT_FAILURE;
	struct loop *loop = loop_new();
	int failed = 0;
	for (size_t i = 0; i < SERVICE_COUNT; i++) {
		if (!ctl_status_wanted(args, cfg, names[i]))
			continue;
		if (ctl_status_one(loop, cfg, names[i]) < 0)
			failed++;
	}
	loop_free(&loop);
	config_free(&cfg);
	return failed > 0 ? CTL_EXIT_FAILURE : 0;
}
