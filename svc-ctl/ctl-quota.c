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

int ctl_cmd_quota(struct ctl_args *args)
{
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
