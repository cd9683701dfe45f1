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
	/* ESEARCH (RFC 4731): SEARCH RETURN (...) was given. */
	bool esearch;
	unsigned int ret;		/* SEARCH_RET_* */
	/* SORT/THREAD: what runs on the matches instead of a reply. */
	imap_search_done_fn *done;
	void *user;
	void (*user_free)(void *user);
};

enum {
	SEARCH_RET_MIN = 0x01,
	SEARCH_RET_MAX = 0x02,
	SEARCH_RET_ALL = 0x04,
	SEARCH_RET_COUNT = 0x08,
	SEARCH_RET_SAVE = 0x10,
};

static void search_ctx_free(void *p)
{
	struct search_ctx *s = p;
	if (s->maybe != NULL)
		stratus__index_fetch_reply__free_unpacked(s->maybe, NULL);
	if (s->user_free != NULL)
		s->user_free(s->user);
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

/* SAVE (RFC 5182 2.4): with only MIN and/or MAX those are kept, else
 * every match. */
static void search_save(struct search_ctx *s, struct imap_client *client)
{
	free(client->saved_uids);
	client->saved_uids = NULL;
	client->n_saved_uids = 0;
	if (s->n_found == 0)
		return;
	client->saved_uids = xcalloc(s->n_found, sizeof(uint32_t));
	if ((s->ret & (SEARCH_RET_ALL | SEARCH_RET_COUNT)) == 0 &&
	    (s->ret & (SEARCH_RET_MIN | SEARCH_RET_MAX)) != 0) {
		if (s->ret & SEARCH_RET_MIN)
			client->saved_uids[client->n_saved_uids++] = s->found[0];
		if ((s->ret & SEARCH_RET_MAX) && s->n_found > 1)
			client->saved_uids[client->n_saved_uids++] =
				s->found[s->n_found - 1];
		if ((s->ret & SEARCH_RET_MAX) && !(s->ret & SEARCH_RET_MIN))
			client->saved_uids[0] = s->found[s->n_found - 1];
		return;
	}
	memcpy(client->saved_uids, s->found, s->n_found * sizeof(uint32_t));
	client->n_saved_uids = s->n_found;
}

/* "* ESEARCH (TAG "t") [UID] MIN n MAX n COUNT n ALL set [MODSEQ n]". */
static void esearch_reply(struct imap_cmd *cmd, struct search_ctx *s)
{
	struct imap_client *client = cmd->client;
	if (s->ret == SEARCH_RET_SAVE)
		return;		/* RFC 5182 2.1: SAVE alone sends nothing */
	uint32_t *v = xcalloc(s->n_found + 1, sizeof(uint32_t));
	for (size_t i = 0; i < s->n_found; i++)
		v[i] = s->uid_cmd ? s->found[i] :
			imap_client_seq(client, s->found[i]);
	struct buf out = BUF_INIT;
	buf_append_str(&out, "* ESEARCH (TAG ");
	imap_quote_string(&out, cmd->c.tag);
	buf_append_c(&out, ')');
	if (s->uid_cmd)
		buf_append_str(&out, " UID");
	if ((s->ret & SEARCH_RET_MIN) && s->n_found > 0)
		buf_printf(&out, " MIN %u", v[0]);
	if ((s->ret & SEARCH_RET_MAX) && s->n_found > 0)
		buf_printf(&out, " MAX %u", v[s->n_found - 1]);
	if (s->ret & SEARCH_RET_COUNT)
		buf_printf(&out, " COUNT %zu", s->n_found);
	if ((s->ret & SEARCH_RET_ALL) && s->n_found > 0) {
		buf_append_str(&out, " ALL ");
		imap_append_uidset(&out, v, s->n_found);
	}
	if (s->modseq && s->n_found > 0)
		buf_printf(&out, " MODSEQ %llu",
			   (unsigned long long)s->max_modseq);
	imap_client_send(client, "%s", out.data);
	buf_free(&out);
	free(v);
}

static void search_finish(struct imap_cmd *cmd)
{
	struct search_ctx *s = cmd->ctx;
	struct imap_client *client = cmd->client;
	if (s->n_found > 1)	/* found is NULL when nothing matched */
		qsort(s->found, s->n_found, sizeof(uint32_t), uid_cmp);
	/* Only what the session's view has, without duplicates. */
	size_t n = 0;
	for (size_t i = 0; i < s->n_found; i++) {
		if (imap_client_seq(client, s->found[i]) == 0 ||
		    (n > 0 && s->found[n - 1] == s->found[i]))
			continue;
		s->found[n++] = s->found[i];
	}
	s->n_found = n;
	if (s->done != NULL) {
		s->done(cmd, s->found, s->n_found, s->max_modseq, s->user);
		return;
	}
	if (s->ret & SEARCH_RET_SAVE)
		search_save(s, client);
	if (s->esearch) {
		esearch_reply(cmd, s);
	} else {
		struct buf out = BUF_INIT;
		buf_append_str(&out, "* SEARCH");
		for (size_t i = 0; i < s->n_found; i++)
			buf_printf(&out, " %u", s->uid_cmd ? s->found[i] :
				   imap_client_seq(client, s->found[i]));
		if (s->modseq && s->n_found > 0)
			buf_printf(&out, " (MODSEQ %llu)",
				   (unsigned long long)s->max_modseq);
		imap_client_send(client, "%s", out.data);
		buf_free(&out);
	}
	cmd->sync_holds_expunges = !s->uid_cmd;
	imap_sync_reply(cmd, "OK", "Search completed.");
}

static void search_fail(struct imap_cmd *cmd, const char *what,
			const struct rpc_reply *reply)
{
	log_error(&cmd->client->log, "SEARCH: %s failed: %s", what,
		  reply->error != NULL ? reply->error :
		  rpc_status_name(reply->status));
	struct search_ctx *s = cmd->ctx;
	if (s->ret & SEARCH_RET_SAVE) {	/* RFC 5182 2.1 */
		free(cmd->client->saved_uids);
		cmd->client->saved_uids = NULL;
		cmd->client->n_saved_uids = 0;
	}
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

/* RETURN (MIN MAX ALL COUNT SAVE) (RFC 4731, RFC 5182); () is ALL. */
static int parse_return(const struct imap_arg *list, unsigned int *ret_r)
{
	static const struct { const char *name; unsigned int bit; } opts[] = {
		{ "MIN", SEARCH_RET_MIN }, { "MAX", SEARCH_RET_MAX },
		{ "ALL", SEARCH_RET_ALL }, { "COUNT", SEARCH_RET_COUNT },
		{ "SAVE", SEARCH_RET_SAVE },
	};
	*ret_r = 0;
	for (size_t i = 0; i < list->list_count; i++) {
		size_t k = 0;
		while (k < sizeof(opts) / sizeof(opts[0]) &&
		       !imap_arg_atom_equals(&list->list[i], opts[k].name))
			k++;
		if (k == sizeof(opts) / sizeof(opts[0]))
			return -1;
		*ret_r |= opts[k].bit;
	}
	if (*ret_r == 0)
		*ret_r = SEARCH_RET_ALL;
	return 0;
}

static bool search_begin(struct imap_cmd *cmd, struct search_ctx *s,
			 const struct imap_arg *args, size_t n_args)
{
	struct imap_client *client = cmd->client;
	if (n_args >= 2 && imap_arg_atom_equals(&args[0], "CHARSET")) {
		/* RFC 6855 section 3 (errata 4029): the strings are UTF-8
		 * once UTF8=ACCEPT is on, so a charset label conflicts. */
		if (client->utf8_accept) {
			imap_cmd_bad(cmd, "CHARSET not allowed after ENABLE "
				     "UTF8=ACCEPT");
			return true;
		}
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
	const char *error;
	if (imap_search_parse(cmd, args, n_args, &s->key, &error) < 0) {
		if (s->ret & SEARCH_RET_SAVE) {
			free(client->saved_uids);
			client->saved_uids = NULL;
			client->n_saved_uids = 0;
		}
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

bool imap_search_start(struct imap_cmd *cmd, bool uid_cmd,
		       const struct imap_arg *args, size_t n_args)
{
	struct search_ctx *s = xcalloc(1, sizeof(*s));
	s->uid_cmd = uid_cmd;
	cmd->ctx = s;
	cmd->ctx_free = search_ctx_free;
	if (n_args >= 2 && imap_arg_atom_equals(&args[0], "RETURN")) {
		if (args[1].type != IMAP_ARG_LIST ||
		    parse_return(&args[1], &s->ret) < 0) {
			imap_cmd_bad(cmd, "Invalid RETURN option");
			return true;
		}
		s->esearch = true;
		args += 2;
		n_args -= 2;
	} else if (cmd->client->imap4rev2) {
		/* RFC 9051 6.4.4: SEARCH answers ESEARCH, RETURN () = ALL. */
		s->esearch = true;
		s->ret = SEARCH_RET_ALL;
	}
	return search_begin(cmd, s, args, n_args);
}

bool imap_search_run(struct imap_cmd *cmd, const struct imap_arg *args,
		     size_t n_args, imap_search_done_fn *done, void *user,
		     void (*user_free)(void *user))
{
	struct search_ctx *s = xcalloc(1, sizeof(*s));
	s->done = done;
	s->user = user;
	s->user_free = user_free;
	cmd->ctx = s;
	cmd->ctx_free = search_ctx_free;
	return search_begin(cmd, s, args, n_args);
}

void *imap_search_user(struct imap_cmd *cmd)
{
	struct search_ctx *s = cmd->ctx;
	return s->user;
}

bool cmd_search(struct imap_cmd *cmd)
{
	return imap_search_start(cmd, false, cmd->c.args, cmd->c.n_args);
}
