/* stratusctl quota get|recalc|check|changed USER ...: svc-quota by hand. */
#include "ctl.h"
#include "quota.pb-c.h"
#include "rpc-versions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ctl_quota_print_root(const Stratus__QuotaRoot *root)
{
	for (size_t i = 0; i < root->n_resources; i++) {
		const Stratus__QuotaResource *r = root->resources[i];
		printf("%s\t%s\t%llu\t%llu", root->name, r->name,
		       (unsigned long long)r->usage,
		       (unsigned long long)r->limit);
		if (strcmp(r->name, "STORAGE") == 0)
			printf("\t%llu\t%llu", (unsigned long long)r->usage_bytes,
			       (unsigned long long)r->limit_bytes);
		printf("\n");
	}
}

static int ctl_quota_call(const struct config *cfg, const char *method,
			  const ProtobufCMessage *req, struct rpc_reply *reply)
{
	return ctl_rpc_call(cfg, "quota", &stratus__quota__descriptor,
			    QUOTA_RPC_MAJOR, QUOTA_RPC_MINOR, method, req,
			    reply);
}

static int ctl_quota_run(const struct config *cfg, struct ctl_args *args)
{
	const char *verb = args->argv[0], *user = args->argv[1];
	struct rpc_reply reply;
	if (strcmp(verb, "get") == 0) {
		Stratus__QuotaGetRequest req = STRATUS__QUOTA_GET_REQUEST__INIT;
		req.user = (char *)user;
		if (ctl_quota_call(cfg, "Get", &req.base, &reply) < 0)
			return CTL_EXIT_FAILURE;
		const Stratus__QuotaGetReply *r = (const void *)reply.msg;
		printf("root\ttype\tusage\tlimit\tusage_bytes\tlimit_bytes\n");
		for (size_t i = 0; i < r->n_roots; i++)
			ctl_quota_print_root(r->roots[i]);
	} else if (strcmp(verb, "recalc") == 0) {
		Stratus__QuotaRecalcRequest req = STRATUS__QUOTA_RECALC_REQUEST__INIT;
		req.user = (char *)user;
		if (ctl_quota_call(cfg, "Recalc", &req.base, &reply) < 0)
			return CTL_EXIT_FAILURE;
		const Stratus__QuotaRecalcReply *r = (const void *)reply.msg;
		ctl_quota_print_root(r->root);
		if (r->mismatch)
			printf("mismatch: the recount differed\n");
	} else if (strcmp(verb, "check") == 0 && args->argc >= 4) {
		/* Asks, then releases the reservation: a dry run. */
		Stratus__QuotaCheckRequest req = STRATUS__QUOTA_CHECK_REQUEST__INIT;
		req.user = (char *)user;
		req.mailbox = args->argv[2];
		req.bytes = strtoull(args->argv[3], NULL, 10);
		req.messages = 1;
		req.delivery = args->argc > 4 && strcmp(args->argv[4], "--delivery") == 0;
		if (ctl_quota_call(cfg, "Check", &req.base, &reply) < 0)
			return CTL_EXIT_FAILURE;
		const Stratus__QuotaCheckReply *r = (const void *)reply.msg;
		printf("%s%s%s\n", r->allowed ? "allowed" : "refused",
		       r->allowed ? "" : ": ", r->allowed ? "" : r->message);
		Stratus__QuotaCommitRequest c = STRATUS__QUOTA_COMMIT_REQUEST__INIT;
		c.user = (char *)user;
		c.reservation = r->reservation;
		struct rpc_reply creply;
		if (r->reservation != 0 &&
		    ctl_quota_call(cfg, "Commit", &c.base, &creply) == 0)
			rpc_reply_clear(&creply);
	} else if (strcmp(verb, "changed") == 0) {
		Stratus__QuotaChangedRequest req = STRATUS__QUOTA_CHANGED_REQUEST__INIT;
		req.user = (char *)user;
		if (ctl_quota_call(cfg, "Changed", &req.base, &reply) < 0)
			return CTL_EXIT_FAILURE;
	} else {
		return CTL_EXIT_USAGE;
	}
	rpc_reply_clear(&reply);
	return 0;
}

/* quota get|recalc [--json] -u USER|-A, as doveadm prints it: one line
 * per user and resource, "user root type value limit percent" (value and
 * limit in KiB for STORAGE, as IMAP QUOTA has them). */
static int ctl_quota_users(const struct config *cfg, struct ctl_args *args,
			   bool json)
{
	const char *verb = args->argv[0];
	bool recalc = strcmp(verb, "recalc") == 0;
	struct ctl_users users;
	struct ctl_args rest = { args->config_path, args->argc - 1,
				 args->argv + 1 };
	if ((!recalc && strcmp(verb, "get") != 0))
		return CTL_EXIT_USAGE;
	int r = ctl_users_take(&rest, cfg, &users);
	if (r != 0 || rest.argc != 0) {
		if (r == 0)
			ctl_users_free(&users);
		return r < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_USAGE;
	}
	int ret = 0;
	size_t rows = 0;
	if (json)
		fputc('[', stdout);
	else
		printf("Username\tQuota name\tType\tValue\tLimit\t%%\n");
	for (size_t u = 0; u < users.n; u++) {
		struct rpc_reply reply = { 0 };
		Stratus__QuotaGetRequest g = STRATUS__QUOTA_GET_REQUEST__INIT;
		Stratus__QuotaRecalcRequest c = STRATUS__QUOTA_RECALC_REQUEST__INIT;
		g.user = c.user = users.names[u];
		if (ctl_quota_call(cfg, recalc ? "Recalc" : "Get",
				   recalc ? &c.base : &g.base, &reply) < 0) {
			ret = CTL_EXIT_FAILURE;
			rpc_reply_clear(&reply);
			continue;
		}
		Stratus__QuotaRoot *const *roots = recalc ?
			&((Stratus__QuotaRecalcReply *)reply.msg)->root :
			((Stratus__QuotaGetReply *)reply.msg)->roots;
		size_t n_roots = recalc ? 1 :
			((Stratus__QuotaGetReply *)reply.msg)->n_roots;
		for (size_t i = 0; i < n_roots && roots[i] != NULL; i++) {
			for (size_t k = 0; k < roots[i]->n_resources; k++) {
				const Stratus__QuotaResource *res =
					roots[i]->resources[k];
				unsigned long long pct = res->limit == 0 ? 0 :
					res->usage * 100 / res->limit;
				if (!json) {
					printf("%s\t%s\t%s\t%llu\t%s%.0llu\t%llu\n",
					       users.names[u], roots[i]->name,
					       res->name,
					       (unsigned long long)res->usage,
					       res->limit == 0 ? "-" : "",
					       (unsigned long long)res->limit,
					       pct);
					continue;
				}
				fputs(rows++ > 0 ? ",{\"user\":" : "{\"user\":",
				      stdout);
				ctl_json_string(stdout, users.names[u]);
				fputs(",\"root\":", stdout);
				ctl_json_string(stdout, roots[i]->name);
				fputs(",\"type\":", stdout);
				ctl_json_string(stdout, res->name);
				printf(",\"value\":%llu,\"limit\":%llu,"
				       "\"percent\":%llu}",
				       (unsigned long long)res->usage,
				       (unsigned long long)res->limit, pct);
			}
		}
		rpc_reply_clear(&reply);
	}
	if (json)
		fputs("]\n", stdout);
	ctl_users_free(&users);
	return ret;
}

int ctl_cmd_quota(struct ctl_args *args)
{
	bool json = ctl_take_flag(args, "--json");
	if (args->argc >= 1 && (json || ctl_users_given(args))) {
		struct config *cfg = ctl_config_load(args->config_path);
		if (cfg == NULL)
			return CTL_EXIT_FAILURE;
		int ret = ctl_quota_users(cfg, args, json);
		if (ret == CTL_EXIT_USAGE)
			fprintf(stderr, "usage: stratusctl quota get|recalc "
				"[--json] -u USER|-A\n");
		config_free(&cfg);
		return ret;
	}
	if (args->argc < 2) {
		fprintf(stderr, "usage: stratusctl quota get|recalc|changed USER"
			" | quota check USER MAILBOX BYTES [--delivery]\n");
		return CTL_EXIT_USAGE;
	}
	struct config *cfg = ctl_config_load(args->config_path);
	if (cfg == NULL)
		return CTL_EXIT_FAILURE;
	int ret = ctl_quota_run(cfg, args);
	if (ret == CTL_EXIT_USAGE)
		fprintf(stderr, "usage: stratusctl quota get|recalc|changed USER"
			" | quota check USER MAILBOX BYTES [--delivery]\n");
	config_free(&cfg);
	return ret;
}
