/* svc-quota's RPC handlers: Check (with reservations), Commit, Changed,
 * Get and Recalc. Warnings and quota_clone run after every reload that
 * follows a change. */
#include "quota-common.h"
#include "buf.h"
#include "log.h"
#include "quota.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define KIB 1024

static bool quota_user_name_valid(const char *user)
{
	size_t n = strlen(user);
	return n > 0 && n <= 255 && strchr(user, '/') == NULL;
}

static struct quota_ctx *quota_ctx_of(struct rpc_call *call)
{
	struct service *svc = rpc_call_handler_ctx(call);
	return svc->ctx;
}

/* After a reload that follows a change: fire a crossed warning once and
 * copy the usage to quota_clone. */
static void quota_after_change(struct quota_user *u, const char *error,
			       void *ctx)
{
	struct quota_ctx *q = ctx;
	if (error != NULL)
		return;
	uint64_t bytes, messages, *last_b, *last_m;
	quota_user_usage(u, false, &bytes, &messages);
	quota_user_last_usage(u, &last_b, &last_m);
	const struct quota_warning *w = quota_warning_crossed(
		quota_user_rules(u), *last_b, *last_m, bytes, messages);
	bool changed = *last_b != bytes || *last_m != messages;
	*last_b = bytes;
	*last_m = messages;
	if (w != NULL)
		quota_warning_run(q, quota_user_name(u), w->command);
	if (changed)
		quota_clone_update(q, quota_user_name(u), bytes, messages);
}

static void quota_check_ready(struct quota_user *u, const char *error,
			      void *ctx)
{
	struct rpc_call *call = ctx;
	struct quota_ctx *q = quota_ctx_of(call);
	const Stratus__QuotaCheckRequest *req = (const void *)
		rpc_call_request(call);
	if (error != NULL) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_TEMPFAIL, "%s", error);
		return;
	}
	Stratus__QuotaCheckReply reply = STRATUS__QUOTA_CHECK_REPLY__INIT;
	uint64_t limit_b, limit_m, used_b, used_m;
	bool ignored;
	quota_rules_mailbox_limits(quota_user_rules(u), req->mailbox, &limit_b,
				   &limit_m, &ignored);
	quota_user_usage(u, true, &used_b, &used_m);
	bool over_b = limit_b != 0 && used_b + req->bytes > limit_b;
	bool over_m = limit_m != 0 && used_m + req->messages > limit_m;
	if (over_b && !over_m && req->delivery && used_b < limit_b) {
		/* quota_grace: the delivery that crosses the limit may pass
		 * if it stays within the grace above it. */
		uint64_t grace = q->set.grace_bytes != 0 ? q->set.grace_bytes :
				 limit_b * q->set.grace_percent / 100;
		over_b = used_b + req->bytes > limit_b + grace;
	}
	q->checks++;
	if (!ignored && (over_b || over_m)) {
		q->refusals++;
		reply.allowed = false;
		reply.message = q->set.exceeded_message;
		reply.tempfail = q->set.full_tempfail;
		log_info(&(struct log_ctx){ .user = req->user },
			 "quota: refused %llu bytes to %s: %llu/%llu bytes, "
			 "%llu/%llu messages", (unsigned long long)req->bytes,
			 req->mailbox, (unsigned long long)used_b,
			 (unsigned long long)limit_b,
			 (unsigned long long)used_m,
			 (unsigned long long)limit_m);
	} else {
		reply.allowed = true;
		if (!ignored)
			reply.reservation = quota_user_reserve(u, req->bytes,
							       req->messages);
	}
	rpc_call_reply(call, &reply.base, NULL, 0);
}

void quota_rpc_check(struct rpc_call *call, const ProtobufCMessage *msg)
{
	const Stratus__QuotaCheckRequest *req = (const void *)msg;
	struct quota_ctx *q = quota_ctx_of(call);
	if (!quota_user_name_valid(req->user)) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "bad user");
		return;
	}
	if (!q->set.enabled) {
		Stratus__QuotaCheckReply reply = STRATUS__QUOTA_CHECK_REPLY__INIT;
		reply.allowed = true;
		rpc_call_reply(call, &reply.base, NULL, 0);
		return;
	}
	quota_user_get(q, req->user, false, quota_check_ready, call);
}

void quota_rpc_commit(struct rpc_call *call, const ProtobufCMessage *msg)
{
	const Stratus__QuotaCommitRequest *req = (const void *)msg;
	struct quota_ctx *q = quota_ctx_of(call);
	Stratus__QuotaCommitReply reply = STRATUS__QUOTA_COMMIT_REPLY__INIT;
	if (!quota_user_name_valid(req->user)) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "bad user");
		return;
	}
	struct quota_user *u = NULL;
	bool stored = req->stored;
	if (q->set.enabled && req->reservation != 0)
		u = quota_users_commit(q, req->user, req->reservation, stored);
	/* The saver need not wait for warnings or quota_clone. */
	rpc_call_reply(call, &reply.base, NULL, 0);
	/* The stored reservation keeps the usage exact until the next load
	 * counts the message: no svc-index round trip per delivery. */
	if (u != NULL && stored)
		quota_after_change(u, NULL, q);
}

void quota_rpc_changed(struct rpc_call *call, const ProtobufCMessage *msg)
{
	const Stratus__QuotaChangedRequest *req = (const void *)msg;
	struct quota_ctx *q = quota_ctx_of(call);
	Stratus__QuotaChangedReply reply = STRATUS__QUOTA_CHANGED_REPLY__INIT;
	if (!quota_user_name_valid(req->user)) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "bad user");
		return;
	}
	char *user = xstrdup(req->user);
	rpc_call_reply(call, &reply.base, NULL, 0);
	if (q->set.enabled)
		quota_user_get(q, user, true, quota_after_change, q);
	free(user);
}

/* Fills a root as IMAP QUOTA reports it: STORAGE in KiB, MESSAGE. */
static void quota_root_fill(struct quota_ctx *q, struct quota_user *u,
			    const char *mailbox, Stratus__QuotaRoot *root,
			    Stratus__QuotaResource *res,
			    Stratus__QuotaResource **resp)
{
	uint64_t limit_b, limit_m, used_b, used_m;
	bool ignored;
	quota_rules_mailbox_limits(quota_user_rules(u), mailbox, &limit_b,
				   &limit_m, &ignored);
	quota_user_usage(u, false, &used_b, &used_m);
	root->name = q->set.root_name;
	res[0].name = "STORAGE";
	res[0].usage = used_b / KIB;
	res[0].limit = limit_b / KIB;
	res[0].usage_bytes = used_b;
	res[0].limit_bytes = limit_b;
	res[1].name = "MESSAGE";
	res[1].usage = used_m;
	res[1].limit = limit_m;
	resp[0] = &res[0];
	resp[1] = &res[1];
	root->resources = resp;
	root->n_resources = 2;
}

static void quota_get_ready(struct quota_user *u, const char *error,
			    void *ctx)
{
	struct rpc_call *call = ctx;
	struct quota_ctx *q = quota_ctx_of(call);
	const Stratus__QuotaGetRequest *req = (const void *)
		rpc_call_request(call);
	if (error != NULL) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_TEMPFAIL, "%s", error);
		return;
	}
	Stratus__QuotaGetReply reply = STRATUS__QUOTA_GET_REPLY__INIT;
	Stratus__QuotaRoot root = STRATUS__QUOTA_ROOT__INIT, *rootp = &root;
	Stratus__QuotaResource res[2] = { STRATUS__QUOTA_RESOURCE__INIT,
					  STRATUS__QUOTA_RESOURCE__INIT };
	Stratus__QuotaResource *resp[2];
	const char *mailbox = *req->mailbox != '\0' ? req->mailbox : "*";
	if (!quota_rules_mailbox_ignored(quota_user_rules(u), mailbox)) {
		quota_root_fill(q, u, mailbox, &root, res, resp);
		reply.roots = &rootp;
		reply.n_roots = 1;
	}
	rpc_call_reply(call, &reply.base, NULL, 0);
}

void quota_rpc_get(struct rpc_call *call, const ProtobufCMessage *msg)
{
	const Stratus__QuotaGetRequest *req = (const void *)msg;
	struct quota_ctx *q = quota_ctx_of(call);
	if (!quota_user_name_valid(req->user)) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "bad user");
		return;
	}
	if (!q->set.enabled) {
		Stratus__QuotaGetReply reply = STRATUS__QUOTA_GET_REPLY__INIT;
		rpc_call_reply(call, &reply.base, NULL, 0);
		return;
	}
	quota_user_get(q, req->user, false, quota_get_ready, call);
}

struct quota_recalc {
	struct rpc_call *call;
	uint64_t bytes, messages;
	bool had_usage;
};

static void quota_recalc_ready(struct quota_user *u, const char *error,
			       void *ctx)
{
	struct quota_recalc *rc = ctx;
	struct quota_ctx *q = quota_ctx_of(rc->call);
	if (error != NULL) {
		rpc_call_fail(rc->call, STRATUS__STATUS__STATUS_TEMPFAIL, "%s",
			      error);
		free(rc);
		return;
	}
	Stratus__QuotaRecalcReply reply = STRATUS__QUOTA_RECALC_REPLY__INIT;
	Stratus__QuotaRoot root = STRATUS__QUOTA_ROOT__INIT;
	Stratus__QuotaResource res[2] = { STRATUS__QUOTA_RESOURCE__INIT,
					  STRATUS__QUOTA_RESOURCE__INIT };
	Stratus__QuotaResource *resp[2];
	quota_root_fill(q, u, "*", &root, res, resp);
	reply.root = &root;
	reply.mismatch = rc->had_usage && (rc->bytes != res[0].usage_bytes ||
					   rc->messages != res[1].usage);
	if (reply.mismatch)
		log_warning(&(struct log_ctx){ .user = quota_user_name(u) },
			    "quota: recalc changed usage from %llu bytes/%llu "
			    "messages to %llu/%llu",
			    (unsigned long long)rc->bytes,
			    (unsigned long long)rc->messages,
			    (unsigned long long)res[0].usage_bytes,
			    (unsigned long long)res[1].usage);
	rpc_call_reply(rc->call, &reply.base, NULL, 0);
	quota_after_change(u, NULL, q);
	free(rc);
}

void quota_rpc_recalc(struct rpc_call *call, const ProtobufCMessage *msg)
{
	const Stratus__QuotaRecalcRequest *req = (const void *)msg;
	struct quota_ctx *q = quota_ctx_of(call);
	if (!quota_user_name_valid(req->user)) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID, "bad user");
		return;
	}
	if (!q->set.enabled) {
		rpc_call_fail(call, STRATUS__STATUS__STATUS_INVALID,
			      "quota is not enabled");
		return;
	}
	struct quota_recalc *rc = xcalloc(1, sizeof(*rc));
	rc->call = call;
	rc->had_usage = quota_users_cached_usage(q, req->user, &rc->bytes,
						 &rc->messages);
	quota_user_get(q, req->user, true, quota_recalc_ready, rc);
}
