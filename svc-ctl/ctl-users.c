/* -u USER / -A for the per-user verbs, as doveadm has them: -u names one
 * user, or with * and ? every matching user of every userdb; -A every
 * user. Both go through svc-auth's UserList (the `user '*'` iteration). */
#include "ctl.h"
#include "buf.h"
#include "rpc-versions.h"
#include "auth.pb-c.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static void ctl_users_add(struct ctl_users *u, const char *name)
{
	u->names = xreallocarray(u->names, u->n + 1, sizeof(*u->names));
	u->names[u->n++] = xstrdup(name);
}

static int ctl_users_expand(const struct config *cfg, const char *mask,
			    struct ctl_users *u)
{
	Stratus__UserListRequest req = STRATUS__USER_LIST_REQUEST__INIT;
	struct rpc_reply reply = { 0 };
	if (ctl_rpc_call(cfg, "auth", &stratus__auth__descriptor,
			 AUTH_RPC_MAJOR, AUTH_RPC_MINOR, "UserList", &req.base,
			 &reply) < 0) {
		rpc_reply_clear(&reply);
		return -1;
	}
	const Stratus__UserListReply *r = (const void *)reply.msg;
	for (size_t i = 0; i < r->n_users; i++) {
		if (fnmatch(mask, r->users[i], 0) == 0)
			ctl_users_add(u, r->users[i]);
	}
	if (r->truncated)
		fprintf(stderr, "stratusctl: the user list was truncated\n");
	rpc_reply_clear(&reply);
	return 0;
}

int ctl_users_take(struct ctl_args *args, const struct config *cfg,
		   struct ctl_users *users_r)
{
	const char *mask = NULL;
	bool all = false;
	int n = 0;
	memset(users_r, 0, sizeof(*users_r));
	for (int i = 0; i < args->argc; i++) {
		if (strcmp(args->argv[i], "-u") == 0 && i + 1 < args->argc)
			mask = args->argv[++i];
		else if (strcmp(args->argv[i], "-A") == 0)
			all = true;
		else
			args->argv[n++] = args->argv[i];
	}
	args->argc = n;
	if (mask == NULL && !all)
		return CTL_EXIT_USAGE;
	if (all)
		mask = "*";
	if (strpbrk(mask, "*?[") == NULL) {
		ctl_users_add(users_r, mask);
		return 0;
	}
	return ctl_users_expand(cfg, mask, users_r) < 0 ? -1 : 0;
}

bool ctl_users_given(const struct ctl_args *args)
{
	for (int i = 0; i < args->argc; i++) {
		if (strcmp(args->argv[i], "-u") == 0 ||
		    strcmp(args->argv[i], "-A") == 0)
			return true;
	}
	return false;
}

void ctl_users_free(struct ctl_users *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->names[i]);
	free(u->names);
	memset(u, 0, sizeof(*u));
}
