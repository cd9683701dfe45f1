/* stratusctl kick [--json] USER_MASK|IP[/BITS]...: closes the matching
 * users' IMAP and POP3 sessions through svc-imap's and svc-pop3's Session
 * RPC (session.proto), as doveadm kick does. Prints doveadm's "kicked
 * connections from the following users:" and the users; --json lists
 * every session with its service, IP and session id. */
#include "ctl.h"
#include "buf.h"
#include "rpc-versions.h"
#include "service.h"
#include "session.pb-c.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kick_services[] = { "imap", "pop3" };

/* An argument is a net when what precedes any '/' is an address. */
static bool kick_is_net(const char *arg)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char raw[16];
	size_t len = strcspn(arg, "/");
	if (len >= sizeof(addr))
		return false;
	memcpy(addr, arg, len);
	addr[len] = '\0';
	return inet_pton(AF_INET, addr, raw) == 1 ||
	       inet_pton(AF_INET6, addr, raw) == 1;
}

static bool kick_user_listed(char **users, size_t n, const char *user)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(users[i], user) == 0)
			return true;
	}
	return false;
}

static void kick_print(Stratus__KickReply *const *replies, bool json)
{
	size_t total = 0;
	char **users = NULL;
	size_t n_users = 0;
	if (json)
		fputc('[', stdout);
	for (size_t s = 0; s < N_ELEMENTS(kick_services); s++) {
		for (size_t i = 0; replies[s] != NULL &&
		     i < replies[s]->n_kicked; i++) {
			const Stratus__KickedSession *k = replies[s]->kicked[i];
			if (json) {
				fputs(total > 0 ? ",{\"user\":" : "{\"user\":",
				      stdout);
				ctl_json_string(stdout, k->user);
				fputs(",\"service\":", stdout);
				ctl_json_string(stdout, kick_services[s]);
				fputs(",\"ip\":", stdout);
				ctl_json_string(stdout, k->ip);
				fputs(",\"session\":", stdout);
				ctl_json_string(stdout, k->session);
				fputc('}', stdout);
			} else if (!kick_user_listed(users, n_users, k->user)) {
				users = xreallocarray(users, n_users + 1,
						      sizeof(*users));
				users[n_users++] = k->user;
			}
			total++;
		}
	}
	if (json) {
		fputs("]\n", stdout);
	} else if (n_users == 0) {
		printf("no users found\n");
	} else {
		printf("kicked connections from the following users:\n");
		for (size_t i = 0; i < n_users; i++)
			printf("%s%s", i > 0 ? " " : "", users[i]);
		printf("\n");
	}
	free(users);
}

int ctl_cmd_kick(struct ctl_args *args)
{
	bool json = ctl_take_flag(args, "--json");
	if (args->argc < 1) {
		fputs("usage: stratusctl kick [--json] USER_MASK|IP[/BITS]...\n",
		      stderr);
		return CTL_EXIT_USAGE;
	}
	struct config *cfg = ctl_config_load(args->config_path);
	if (cfg == NULL)
		return CTL_EXIT_FAILURE;
	Stratus__KickRequest req = STRATUS__KICK_REQUEST__INIT;
	req.user_masks = xcalloc((size_t)args->argc, sizeof(char *));
	req.nets = xcalloc((size_t)args->argc, sizeof(char *));
	for (int i = 0; i < args->argc; i++) {
		if (kick_is_net(args->argv[i]))
			req.nets[req.n_nets++] = args->argv[i];
		else
			req.user_masks[req.n_user_masks++] = args->argv[i];
	}
	struct rpc_reply replies[N_ELEMENTS(kick_services)] = { 0 };
	Stratus__KickReply *kicked[N_ELEMENTS(kick_services)] = { NULL };
	int ret = 0;
	for (size_t s = 0; s < N_ELEMENTS(kick_services); s++) {
		if (!service_enabled(cfg, kick_services[s]))
			continue;
		if (ctl_rpc_call(cfg, kick_services[s],
				 &stratus__session__descriptor,
				 SESSION_RPC_MAJOR, SESSION_RPC_MINOR, "Kick",
				 &req.base, &replies[s]) < 0)
			ret = CTL_EXIT_FAILURE;
		else
			kicked[s] = (Stratus__KickReply *)replies[s].msg;
	}
	kick_print(kicked, json);
	for (size_t s = 0; s < N_ELEMENTS(kick_services); s++)
		rpc_reply_clear(&replies[s]);
	free(req.user_masks);
	free(req.nets);
	config_free(&cfg);
	return ret;
}
