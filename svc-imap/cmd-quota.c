/* IMAP QUOTA (RFC 9208): GETQUOTAROOT, GETQUOTA, SETQUOTA, and STATUS
 * DELETED / DELETED-STORAGE. svc-quota answers usage and limits (STORAGE
 * in KiB); a resource without a limit is left out of QUOTA responses, as
 * Dovecot does, and a root with no limit at all gets no QUOTA line. */
#include "imap-quota.h"
#include "imap-index.h"
#include "quota.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KIB 1024

/* The count backend keeps both resources, so both are advertised
 * whatever a given user's limits are (capabilities do not vary per
 * user); QUOTA responses list only the limited ones. */
void imap_quota_capability(const struct imap_client *client, struct buf *out)
{
	if (client->ctx->set.imap_quota)
		buf_append_str(out, " QUOTA QUOTA=RES-STORAGE "
			       "QUOTA=RES-MESSAGE");
}

/* Off unless imap_quota: the commands are then unknown, as in Dovecot
 * without the plugin. */
static bool quota_cmd_enabled(struct imap_cmd *cmd)
{
	if (cmd->client->ctx->set.imap_quota)
		return true;
	imap_cmd_bad(cmd, "Unknown command.");
	return false;
}

static void quota_get(struct imap_cmd *cmd, const char *mailbox,
		      imap_rpc_cb *cb)
{
	struct imap_ctx *ctx = cmd->client->ctx;
	Stratus__QuotaGetRequest req = STRATUS__QUOTA_GET_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)mailbox;
	imap_rpc_call(cmd, ctx->quota, ctx->methods.quota_get, &req.base,
		      NULL, 0, cb);
}

static bool quota_get_failed(struct imap_cmd *cmd,
			     const struct rpc_reply *reply)
{
	if (reply->status == STRATUS__STATUS__STATUS_OK)
		return false;
	log_error(&cmd->client->log, "%s: quota Get failed: %s", cmd->c.name,
		  reply->error != NULL ? reply->error :
		  rpc_status_name(reply->status));
	imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Internal quota calculation "
		       "error. Refer to server log for more information.");
	imap_cmd_done(cmd);
	return true;
}

/* "* QUOTA <root> (STORAGE u l MESSAGE u l)", limited resources only;
 * nothing when none is limited. */
static void quota_send_root(struct imap_client *client,
			    const Stratus__QuotaRoot *root)
{
	struct buf out = BUF_INIT;
	buf_append_str(&out, "* QUOTA ");
	imap_append_astring(&out, root->name);
	buf_append_str(&out, " (");
	size_t start = out.len;
	for (size_t i = 0; i < root->n_resources; i++) {
		const Stratus__QuotaResource *r = root->resources[i];
		if (r->limit == 0)
			continue;
		buf_printf(&out, "%s%s %llu %llu", out.len > start ? " " : "",
			   r->name, (unsigned long long)r->usage,
			   (unsigned long long)r->limit);
	}
	buf_append_c(&out, ')');
	if (out.len > start + 1)
		imap_client_send(client, "%s", out.data);
	buf_free(&out);
}

/* ---- GETQUOTAROOT <mailbox> ---- */

static void getquotaroot_reply(struct imap_cmd *cmd,
			       const struct rpc_reply *reply)
{
	if (quota_get_failed(cmd, reply))
		return;
	const Stratus__QuotaGetReply *r = (const void *)reply->msg;
	const struct imap_arg *arg = &cmd->c.args[0];
	struct buf line = BUF_INIT;
	buf_append_str(&line, "* QUOTAROOT ");
	/* The name as the client sent it (RFC 9208 example). */
	imap_append_astring(&line, imap_pool_strndup(&cmd->pool, arg->str,
						     arg->len));
	for (size_t i = 0; i < r->n_roots; i++) {
		buf_append_c(&line, ' ');
		imap_append_astring(&line, r->roots[i]->name);
	}
	imap_client_send(cmd->client, "%s", line.data);
	buf_free(&line);
	for (size_t i = 0; i < r->n_roots; i++)
		quota_send_root(cmd->client, r->roots[i]);
	imap_cmd_reply(cmd, "OK", "Getquotaroot completed.");
	imap_cmd_done(cmd);
}

bool cmd_getquotaroot(struct imap_cmd *cmd)
{
	if (!quota_cmd_enabled(cmd))
		return true;
	if (cmd->c.n_args != 1) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	const char *name = imap_mailbox_arg(cmd, &cmd->c.args[0], false);
	if (name == NULL)
		return true;
	quota_get(cmd, name, getquotaroot_reply);
	return false;
}

/* ---- GETQUOTA <root> ---- */

static void getquota_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	if (quota_get_failed(cmd, reply))
		return;
	const Stratus__QuotaGetReply *r = (const void *)reply->msg;
	const struct imap_arg *arg = &cmd->c.args[0];
	for (size_t i = 0; i < r->n_roots; i++) {
		if (strlen(r->roots[i]->name) == arg->len &&
		    memcmp(r->roots[i]->name, arg->str, arg->len) == 0) {
			quota_send_root(cmd->client, r->roots[i]);
			imap_cmd_reply(cmd, "OK", "Getquota completed.");
			imap_cmd_done(cmd);
			return;
		}
	}
	imap_cmd_reply(cmd, "NO", "Quota root doesn't exist.");
	imap_cmd_done(cmd);
}

bool cmd_getquota(struct imap_cmd *cmd)
{
	if (!quota_cmd_enabled(cmd))
		return true;
	if (cmd->c.n_args != 1 || !imap_arg_is_astring(&cmd->c.args[0])) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	quota_get(cmd, "", getquota_reply);
	return false;
}

/* ---- SETQUOTA <root> (<resource> <limit> ...) ---- */

bool cmd_setquota(struct imap_cmd *cmd)
{
	if (!quota_cmd_enabled(cmd))
		return true;
	const struct imap_arg *args = cmd->c.args;
	if (cmd->c.n_args != 2 || !imap_arg_is_astring(&args[0]) ||
	    args[1].type != IMAP_ARG_LIST || args[1].list_count % 2 != 0) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	/* Limits come from the administrator's rules and userdb; no IMAP
	 * user is an admin here, and QUOTASET is not advertised. */
	imap_cmd_reply(cmd, "NO", "Quota can be changed only by admin.");
	return true;
}

/* ---- STATUS DELETED / DELETED-STORAGE ---- */

bool imap_quota_status_item(const struct imap_client *client,
			    const struct imap_arg *item)
{
	return client->ctx->set.imap_quota &&
	       (imap_arg_atom_equals(item, "DELETED") ||
		imap_arg_atom_equals(item, "DELETED-STORAGE"));
}

uint64_t imap_quota_status_value(const struct imap_status_ctx *st,
				 const char *item)
{
	if (strcasecmp(item, "DELETED") == 0)
		return st->deleted;
	/* RFC 9208 4.2.2: in the STORAGE resource's units, KiB (rounded
	 * up, so a non-empty set never reads as 0). */
	return (st->deleted_bytes + KIB - 1) / KIB;
}

void imap_quota_status_split(struct imap_cmd *cmd, const struct imap_arg *items,
			     struct imap_status_ctx *st)
{
	st->others.type = IMAP_ARG_LIST;
	st->others.fd = -1;
	st->others.list = imap_pool_alloc(&cmd->pool, (items->list_count + 1) *
					  sizeof(*st->others.list));
	for (size_t i = 0; i < items->list_count; i++) {
		const struct imap_arg *it = &items->list[i];
		if (!imap_quota_status_item(cmd->client, it)) {
			st->others.list[st->others.list_count++] = *it;
			continue;
		}
		st->want_deleted = true;
		if (imap_arg_atom_equals(it, "DELETED-STORAGE"))
			st->want_storage = true;
		else
			st->want_count = true;
	}
}

void imap_quota_status_append(const struct imap_status_ctx *st,
			      struct buf *line)
{
	if (!st->want_deleted || line->len == 0 ||
	    line->data[line->len - 1] != ')')
		return;
	line->len--;
	bool first = line->data[line->len - 1] == '(';
	if (st->want_count) {
		buf_printf(line, "%sDELETED %u", first ? "" : " ", st->deleted);
		first = false;
	}
	if (st->want_storage)
		buf_printf(line, "%sDELETED-STORAGE %llu", first ? "" : " ",
			   (unsigned long long)imap_quota_status_value(
				   st, "DELETED-STORAGE"));
	buf_append_c(line, ')');
}

static bool uid_in(const uint32_t *uids, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (uids[mid] == uid)
			return true;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void status_fetch_next(struct imap_cmd *cmd);

static void status_fetch_reply(struct imap_cmd *cmd,
			       const struct rpc_reply *reply)
{
	struct imap_status_ctx *st = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, st->mailbox);
		return;
	}
	const Stratus__IndexFetchReply *r = (const void *)reply->msg;
	for (size_t i = 0; i < r->n_messages; i++) {
		const Stratus__IndexMessage *m = r->messages[i];
		if (uid_in(st->uids, st->n_uids, m->uid))
			st->deleted_bytes += m->physical_size;
	}
	/* A reply cut to fit a frame says where to go on; next_uid only
	 * grows, so this ends. */
	if (r->next_uid > st->fetch_from) {
		st->fetch_from = r->next_uid;
		status_fetch_next(cmd);
		return;
	}
	st->done(cmd);
}

static void status_fetch_next(struct imap_cmd *cmd)
{
	struct imap_status_ctx *st = cmd->ctx;
	Stratus__IndexUidRange range = STRATUS__INDEX_UID_RANGE__INIT;
	Stratus__IndexUidRange *rangep = &range;
	range.first = st->fetch_from;
	range.last = st->uids[st->n_uids - 1];
	Stratus__IndexFetchRequest req = STRATUS__INDEX_FETCH_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)st->mailbox;
	req.uids = &rangep;
	req.n_uids = 1;
	imap_index_call(cmd, IMAP_INDEX_FETCH, &req.base, status_fetch_reply);
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void status_search_reply(struct imap_cmd *cmd,
				const struct rpc_reply *reply)
{
	struct imap_status_ctx *st = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, st->mailbox);
		return;
	}
	const Stratus__IndexSearchReply *r = (const void *)reply->msg;
	st->deleted = (uint32_t)r->n_uids;
	if (r->n_uids == 0 || !st->want_storage) {
		st->done(cmd);
		return;
	}
	st->n_uids = r->n_uids;
	st->uids = imap_pool_alloc(&cmd->pool, r->n_uids * sizeof(uint32_t));
	memcpy(st->uids, r->uids, r->n_uids * sizeof(uint32_t));
	qsort(st->uids, st->n_uids, sizeof(uint32_t), uid_cmp);
	st->fetch_from = st->uids[0];
	status_fetch_next(cmd);
}

void imap_quota_status_count(struct imap_cmd *cmd, struct imap_status_ctx *st)
{
	Stratus__IndexSearchKey key = STRATUS__INDEX_SEARCH_KEY__INIT;
	key.op = STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_FLAG;
	key.text = (char *)"\\Deleted";
	Stratus__IndexSearchRequest req = STRATUS__INDEX_SEARCH_REQUEST__INIT;
	req.user = cmd->client->user;
	req.mailbox = (char *)st->mailbox;
	req.key = &key;
	cmd->ctx = st;
	imap_index_call(cmd, IMAP_INDEX_SEARCH, &req.base, status_search_reply);
}
