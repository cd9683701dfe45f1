/* SEARCH and UID SEARCH: svc-index decides what its cache can (flags,
 * dates, sizes, UIDs, cached headers); the "maybe" messages are checked
 * one at a time against their bodies from svc-blob. CHARSET UTF-8 and
 * US-ASCII are accepted (text is matched as UTF-8 bytes). */
#include "imap-index.h"
#include "imap-mail.h"
#include "imap-msgset.h"
#include "imap-search.h"
#include "blob.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct search_ctx {
	bool uid_cmd;
	Stratus__IndexSearchKey *key;
	int tz;
	uint32_t *found;
	size_t n_found;
	Stratus__IndexFetchReply *maybe;	/* messages to check */
	bool modseq;			/* a MODSEQ key: "(MODSEQ n)" */
	uint64_t max_modseq;		/* of the matches */
	size_t next;
};

static void search_ctx_free(void *p)
{
	struct search_ctx *s = p;
	if (s->maybe != NULL)
		stratus__index_fetch_reply__free_unpacked(s->maybe, NULL);
	free(s->found);
	free(s);
}

static bool key_has_modseq(const Stratus__IndexSearchKey *k)
{
	if (k->op == STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_MODSEQ)
		return true;
	for (size_t i = 0; i < k->n_sub; i++) {
		if (key_has_modseq(k->sub[i]))
			return true;
	}
	return false;
}

static void search_add(struct search_ctx *s, uint32_t uid)
{
	s->found = xreallocarray(s->found, s->n_found + 1, sizeof(uint32_t));
	s->found[s->n_found++] = uid;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void search_finish(struct imap_cmd *cmd)
{
	struct search_ctx *s = cmd->ctx;
	struct imap_client *client = cmd->client;
	struct buf out = BUF_INIT;
	if (s->n_found > 1)	/* found is NULL when nothing matched */
		if (s->n_found > 0)
		if (s->n_found > 1)	/* found is NULL when nothing matched */
		qsort(s->found, s->n_found, sizeof(uint32_t), uid_cmp);
	buf_append_str(&out, "* SEARCH");
	size_t n = 0;
	for (size_t i = 0; i < s->n_found; i++) {
		uint32_t seq = imap_client_seq(client, s->found[i]);
		if (seq == 0)
			continue;
		buf_printf(&out, " %u", s->uid_cmd ? s->found[i] : seq);
		n++;
	}
	if (s->modseq && n > 0)
		buf_printf(&out, " (MODSEQ %llu)",
			   (unsigned long long)s->max_modseq);
	imap_client_send(client, "%s", out.data);
	buf_free(&out);
	if (s->uid_cmd) {
		imap_sync_reply(cmd, "OK", "Search completed.");
		return;
	}
	imap_cmd_reply(cmd, "OK", "Search completed.");
	imap_cmd_done(cmd);
}

static void search_fail(struct imap_cmd *cmd, const char *what,
			const struct rpc_reply *reply)
{
	log_error(&cmd->client->log, "SEARCH: %s failed: %s", what,
		  reply->error != NULL ? reply->error :
		  rpc_status_name(reply->status));
	imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Internal error occurred. "
		       "Refer to server log for more information.");
	imap_cmd_done(cmd);
}

static void search_check_next(struct imap_cmd *cmd);

static void search_get_reply(struct imap_cmd *cmd,
			     const struct rpc_reply *reply)
{
	struct search_ctx *s = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK || reply->n_fds < 1) {
		search_fail(cmd, "blob Get", reply);
		return;
	}
	const Stratus__IndexMessage *m = s->maybe->messages[s->next++];
	struct imap_mail_map map;
	if (imap_mail_map(reply->fds[0], &map) < 0) {
		log_error(&cmd->client->log, "SEARCH: mmap failed: %m");
	} else {
		struct imap_search_msg sm;
		imap_search_msg_init(&sm, m, map.data != NULL ? map.data : "",
				     map.size);
		if (imap_search_match(s->key, &sm, s->tz)) {
			search_add(s, m->uid);
			if (m->modseq > s->max_modseq)
				s->max_modseq = m->modseq;
		}
		imap_search_msg_free(&sm);
		imap_mail_unmap(&map);
	}
	search_check_next(cmd);
}

static void search_check_next(struct imap_cmd *cmd)
{
	struct search_ctx *s = cmd->ctx;
	struct imap_client *client = cmd->client;
	if (s->maybe == NULL || s->next >= s->maybe->n_messages) {
		search_finish(cmd);
		return;
	}
	const Stratus__IndexMessage *m = s->maybe->messages[s->next];
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = client->user;
	req.key = (char *)imap_object_key(m->object_id);
	imap_rpc_call(cmd, client->ctx->blob, client->ctx->methods.blob_get,
		      &req.base, NULL, 0, search_get_reply);
}

static void search_fetch_reply(struct imap_cmd *cmd,
			       const struct rpc_reply *reply)
{
	struct search_ctx *s = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		search_fail(cmd, "index Fetch", reply);
		return;
	}
	/* Keep the reply: it is freed when the command ends. */
	const Stratus__IndexFetchReply *r = (const void *)reply->msg;
	size_t len = stratus__index_fetch_reply__get_packed_size(r);
	uint8_t *buf = xmalloc(len + 1);
	stratus__index_fetch_reply__pack(r, buf);
	s->maybe = stratus__index_fetch_reply__unpack(NULL, len, buf);
	free(buf);
	s->next = 0;
	search_check_next(cmd);
}

static void search_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct search_ctx *s = cmd->ctx;
	struct imap_client *client = cmd->client;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		search_fail(cmd, "index Search", reply);
		return;
	}
	const Stratus__IndexSearchReply *r = (const void *)reply->msg;
	for (size_t i = 0; i < r->n_uids; i++)
		search_add(s, r->uids[i]);
	s->max_modseq = r->max_match_modseq;
	size_t n = 0;
	for (size_t i = 0; i < r->n_maybe_uids; i++)
		n += imap_client_seq(client, r->maybe_uids[i]) != 0;
	if (n == 0) {
		search_finish(cmd);
		return;
	}
	/* The maybe messages' metadata (flags, dates) for the body check;
	 * their bodies are then read one at a time. */
	Stratus__IndexUidRange *ranges = xcalloc(n, sizeof(*ranges));
	Stratus__IndexUidRange **rp = xcalloc(n, sizeof(*rp));
	n = 0;
	for (size_t i = 0; i < r->n_maybe_uids; i++) {
		if (imap_client_seq(client, r->maybe_uids[i]) == 0)
			continue;
		stratus__index_uid_range__init(&ranges[n]);
		ranges[n].first = ranges[n].last = r->maybe_uids[i];
		rp[n] = &ranges[n];
		n++;
	}
	Stratus__IndexFetchRequest req = STRATUS__INDEX_FETCH_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = client->selected;
	req.uids = rp;
	req.n_uids = n;
	imap_index_call(cmd, IMAP_INDEX_FETCH, &req.base, search_fetch_reply);
	free(rp);
	free(ranges);
}

bool imap_search_start(struct imap_cmd *cmd, bool uid_cmd,
		       const struct imap_arg *args, size_t n_args)
{
	struct imap_client *client = cmd->client;
	if (n_args >= 2 && imap_arg_atom_equals(&args[0], "CHARSET")) {
		if (!imap_arg_is_astring(&args[1]) ||
		    (strcasecmp(args[1].str, "UTF-8") != 0 &&
		     strcasecmp(args[1].str, "US-ASCII") != 0)) {
			imap_cmd_reply(cmd, "NO", "[BADCHARSET (US-ASCII "
				       "UTF-8)] Unsupported charset");
			return true;
		}
		args += 2;
		n_args -= 2;
	}
	struct search_ctx *s = xcalloc(1, sizeof(*s));
	s->uid_cmd = uid_cmd;
	cmd->ctx = s;
	cmd->ctx_free = search_ctx_free;
	const char *error;
	if (imap_search_parse(cmd, args, n_args, &s->key, &error) < 0) {
		imap_cmd_bad(cmd, error);
		return true;
	}
	s->modseq = key_has_modseq(s->key);
	if (s->modseq)
		imap_client_enable_condstore(client);
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	s->tz = (int)tm.tm_gmtoff;
	Stratus__IndexSearchRequest req = STRATUS__INDEX_SEARCH_REQUEST__INIT;
	req.user = client->user;
	req.mailbox = client->selected;
	req.key = s->key;
	req.tz_offset_secs = s->tz;
	imap_index_call(cmd, IMAP_INDEX_SEARCH, &req.base, search_reply);
	return false;
}

bool cmd_search(struct imap_cmd *cmd)
{
	return imap_search_start(cmd, false, cmd->c.args, cmd->c.n_args);
}
