/* LIST and LSUB (RFC 3501 6.3.8-9) with LIST-EXTENDED (RFC 5258):
 * selection options SUBSCRIBED, REMOTE, RECURSIVEMATCH and SPECIAL-USE
 * (RFC 6154), return options SUBSCRIBED, CHILDREN, SPECIAL-USE and STATUS
 * (LIST-STATUS, RFC 5819) and METADATA (LIST-METADATA, RFC 9590: the
 * user's annotation object is read from svc-blob before the index is
 * asked, and each listed mailbox that exists gets GETMETADATA's METADATA
 * response after its LIST), several patterns at once. svc-index matches
 * the patterns and knows children and subscriptions; RECURSIVEMATCH needs
 * every subscription to find the matching parents, so it asks for all of
 * them and matches here. */
#include "imap-index.h"
#include "imap-mail.h"
#include "imap-metadata.h"
#include "blob.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_MAX_PATTERNS 32
#define LIST_MAX_PATTERN_LEN 1024

struct list_ctx {
	bool lsub, extended;
	bool sel_subscribed, sel_special, recursive;
	bool ret_subscribed, ret_special;
	const struct imap_arg *status_items;	/* RETURN (STATUS (...)) */
	char **patterns;
	size_t n_patterns;
	char sep;
	/* RETURN (METADATA (...)) */
	char (*md_names)[IMAP_METADATA_MAX_NAME + 1];
	size_t n_md_names;
	uint64_t md_maxsize;	/* 0 = no MAXSIZE */
	int md_depth;
	size_t md_longest;	/* LONGENTRIES */
	struct imap_md md;
};

/* Name against one LIST pattern: '*' matches anything, '%' anything but
 * the separator. Row-by-row table, O(pattern * name), no recursion. */
static bool list_match(const char *pat, const char *name, char sep)
{
	size_t pn = strlen(pat), nn = strlen(name);
	bool inbox = strncmp(name, "INBOX", 5) == 0 &&
		(name[5] == '\0' || name[5] == sep);
	bool *row = xcalloc(nn + 1, sizeof(bool));
	bool *next = xcalloc(nn + 1, sizeof(bool));
	row[0] = true;
	for (size_t i = 0; i < pn; i++) {
		char c = pat[i];
		for (size_t j = 0; j <= nn; j++) {
			if (c == '*' || c == '%') {
				next[j] = row[j] || (j > 0 && next[j - 1] &&
					(c == '*' || name[j - 1] != sep));
				continue;
			}
			char n = j > 0 ? name[j - 1] : '\0';
			bool same = n == c || (inbox && j <= 5 &&
				(c | 0x20) == (n | 0x20));
			next[j] = j > 0 && row[j - 1] && same;
		}
		bool *t = row;
		row = next;
		next = t;
	}
	bool ok = row[nn];
	free(row);
	free(next);
	return ok;
}

static bool list_matches(const struct list_ctx *l, const char *name)
{
	for (size_t i = 0; i < l->n_patterns; i++) {
		if (list_match(l->patterns[i], name, l->sep))
			return true;
	}
	return false;
}

static void list_send(struct imap_cmd *cmd, struct list_ctx *l,
		      const Stratus__IndexListEntry *e, bool childinfo)
{
	const struct imap_settings *set = &cmd->client->ctx->set;
	struct buf out = BUF_INIT;
	struct buf attrs = BUF_INIT;
	if (childinfo && !e->subscribed) {
		/* A matching parent of a subscription: only CHILDINFO. */
	} else if (l->lsub) {
		/* A parent of a subscription is \Noselect; a subscribed
		 * name that does not exist only with tb-lsub-flags. */
		if (e->nonexistent && (!e->subscribed ||
		    (set->workarounds & IMAP_WA_TB_LSUB_FLAGS)))
			buf_append_str(&attrs, " \\Noselect");
	} else {
		if (e->nonexistent)
			buf_append_str(&attrs, l->extended ? " \\NonExistent" :
				       " \\Noselect");
		if (e->subscribed && (l->sel_subscribed || l->ret_subscribed))
			buf_append_str(&attrs, " \\Subscribed");
		if (!e->nonexistent || e->has_children)
			buf_append_str(&attrs, e->has_children ?
				       " \\HasChildren" : " \\HasNoChildren");
		for (size_t j = 0; j < e->n_special_use; j++)
			buf_printf(&attrs, " %s", e->special_use[j]);
	}
	buf_printf(&out, "* %s (%s) \"%s%c\" ", l->lsub ? "LSUB" : "LIST",
		   attrs.data != NULL ? attrs.data + 1 : "",
		   l->sep == '\\' || l->sep == '"' ? "\\" : "", l->sep);
	imap_append_mailbox(cmd->client, &out, e->name);
	if (childinfo)
		buf_append_str(&out, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	imap_client_send(cmd->client, "%s", out.data);
	if (l->status_items != NULL && !e->nonexistent && e->status != NULL) {
		buf_reset(&out);
		imap_status_format(cmd->client, &out, e->name, l->status_items,
				   e->status);
		imap_client_send(cmd->client, "%s", out.data);
	}
	if (l->md_names != NULL && !e->nonexistent && e->guid != NULL &&
	    e->guid[0] != '\0') {
		buf_reset(&out);
		size_t longest = imap_md_format_response(cmd->client, &out,
			e->name, &l->md, e->guid,
			(const char (*)[IMAP_METADATA_MAX_NAME + 1])l->md_names,
			l->n_md_names, l->md_depth, l->md_maxsize);
		if (out.len > 0)
			imap_client_send_raw(cmd->client, out.data, out.len);
		if (longest > l->md_longest)
			l->md_longest = longest;
	}
	buf_free(&attrs);
	buf_free(&out);
}

/* A subscription lies below name. */
static bool has_subscribed_child(const Stratus__IndexListReply *r,
				 const char *name, char sep)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < r->n_entries; i++) {
		const char *n = r->entries[i]->name;
		if (r->entries[i]->subscribed && strncmp(n, name, len) == 0 &&
		    n[len] == sep)
			return true;
	}
	return false;
}

static bool entry_listed(const Stratus__IndexListReply *r, size_t upto,
			 const struct list_ctx *l, const char *name)
{
	for (size_t i = 0; i < upto; i++) {
		if (r->entries[i]->subscribed &&
		    strcmp(r->entries[i]->name, name) == 0 &&
		    list_matches(l, name))
			return true;
	}
	return false;
}

/* (SUBSCRIBED RECURSIVEMATCH): every subscription came back; the
 * matching ones are listed, and the matching parents of the others get
 * CHILDINFO (RFC 5258 3.5). */
static void list_recursive(struct imap_cmd *cmd, struct list_ctx *l,
			   const Stratus__IndexListReply *r)
{
	char **done = NULL;
	size_t n_done = 0;
	for (size_t i = 0; i < r->n_entries; i++) {
		const Stratus__IndexListEntry *e = r->entries[i];
		if (!e->subscribed)
			continue;
		if (list_matches(l, e->name)) {
			list_send(cmd, l, e, has_subscribed_child(r, e->name,
								  l->sep));
			continue;
		}
		char *copy = xstrdup(e->name);
		for (char *p = strrchr(copy, l->sep); p != NULL;
		     p = strrchr(copy, l->sep)) {
			*p = '\0';
			bool seen = entry_listed(r, r->n_entries, l, copy);
			for (size_t k = 0; !seen && k < n_done; k++)
				seen = strcmp(done[k], copy) == 0;
			if (seen || !list_matches(l, copy))
				continue;
			Stratus__IndexListEntry parent =
				STRATUS__INDEX_LIST_ENTRY__INIT;
			parent.name = copy;
			parent.has_children = true;
			list_send(cmd, l, &parent, true);
			done = xreallocarray(done, n_done + 1, sizeof(*done));
			done[n_done++] = xstrdup(copy);
		}
		free(copy);
	}
	for (size_t k = 0; k < n_done; k++)
		free(done[k]);
	free(done);
}

static void list_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct list_ctx *l = cmd->ctx;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		imap_index_fail(cmd, reply, NULL);
		return;
	}
	const Stratus__IndexListReply *r =
		(const Stratus__IndexListReply *)reply->msg;
	if (l->recursive) {
		list_recursive(cmd, l, r);
	} else {
		for (size_t i = 0; i < r->n_entries; i++) {
			const Stratus__IndexListEntry *e = r->entries[i];
			/* svc-index adds unsubscribed parents for LSUB. */
			if (l->sel_subscribed && !l->lsub && !e->subscribed)
				continue;
			list_send(cmd, l, e, false);
		}
	}
	if (l->md_longest > 0)
		imap_cmd_reply(cmd, "OK", "[METADATA LONGENTRIES %zu] List "
			       "completed.", l->md_longest);
	else
		imap_cmd_reply(cmd, "OK", "%s completed.",
			       l->lsub ? "Lsub" : "List");
	imap_cmd_done(cmd);
}

/* Selection options: "(SUBSCRIBED RECURSIVEMATCH)". */
static bool list_selection(struct list_ctx *l, const struct imap_arg *opts)
{
	for (size_t i = 0; i < opts->list_count; i++) {
		const struct imap_arg *o = &opts->list[i];
		if (imap_arg_atom_equals(o, "SUBSCRIBED"))
			l->sel_subscribed = true;
		else if (imap_arg_atom_equals(o, "SPECIAL-USE"))
			l->sel_special = true;
		else if (imap_arg_atom_equals(o, "RECURSIVEMATCH"))
			l->recursive = true;
		else if (!imap_arg_atom_equals(o, "REMOTE"))
			return false;	/* no remote mailboxes here */
	}
	/* RECURSIVEMATCH alone is an error (RFC 5258 3); with SPECIAL-USE
	 * it changes nothing, as special-use folders have no CHILDINFO. */
	if (l->recursive && !l->sel_subscribed && !l->sel_special)
		return false;
	if (l->recursive && !l->sel_subscribed)
		l->recursive = false;
	return true;
}

/* One element of METADATA's list: an entry name, a MAXSIZE (or DEPTH,
 * as GETMETADATA) option with its value, or a parenthesised list of
 * either (GETMETADATA's option and entry lists). Returns how many
 * elements it took, 0 when invalid. */
static size_t list_md_item(struct list_ctx *l, const struct imap_arg *a,
			   size_t left, size_t *n_names)
{
	if (a->type == IMAP_ARG_LIST) {
		for (size_t i = 0; i < a->list_count;) {
			size_t used = list_md_item(l, &a->list[i],
				a->list_count - i, n_names);
			if (used == 0 || a->list[i].type == IMAP_ARG_LIST)
				return 0;	/* no deeper nesting */
			i += used;
		}
		return 1;
	}
	if (!imap_arg_is_astring(a))
		return 0;
	if (a->len > 0 && a->str[0] == '/') {
		if (*n_names >= IMAP_METADATA_MAX_ENTRIES ||
		    !imap_md_get_name(a->str, a->len, l->md_names[*n_names]))
			return 0;
		(*n_names)++;
		return 1;
	}
	if (a->type != IMAP_ARG_ATOM ||
	    imap_md_option(a, left > 1 ? &a[1] : NULL, &l->md_maxsize,
			   &l->md_depth) != NULL)
		return 0;
	return 2;
}

/* "METADATA (/shared/comment /private/comment MAXSIZE 100)" */
static bool list_return_metadata(struct imap_cmd *cmd, struct list_ctx *l,
				 const struct imap_arg *list)
{
	if (list->type != IMAP_ARG_LIST || l->md_names != NULL)
		return false;
	l->md_names = imap_pool_alloc(&cmd->pool, IMAP_METADATA_MAX_ENTRIES *
				      sizeof(*l->md_names));
	size_t n = 0;
	for (size_t i = 0; i < list->list_count;) {
		size_t used = list_md_item(l, &list->list[i],
					   list->list_count - i, &n);
		if (used == 0)
			return false;
		i += used;
	}
	l->n_md_names = n;
	return n > 0;
}

/* Return options: "RETURN (SUBSCRIBED CHILDREN STATUS (MESSAGES))". */
static bool list_return(struct imap_cmd *cmd, struct list_ctx *l,
			const struct imap_arg *opts)
{
	for (size_t i = 0; i < opts->list_count; i++) {
		const struct imap_arg *o = &opts->list[i];
		if (imap_arg_atom_equals(o, "SUBSCRIBED")) {
			l->ret_subscribed = true;
		} else if (imap_arg_atom_equals(o, "SPECIAL-USE")) {
			l->ret_special = true;
		} else if (imap_arg_atom_equals(o, "STATUS") &&
			   i + 1 < opts->list_count &&
			   imap_status_items_valid(cmd->client, &o[1])) {
			l->status_items = &o[1];
			i++;
		} else if (imap_arg_atom_equals(o, "METADATA")) {
			if (i + 1 >= opts->list_count ||
			    !list_return_metadata(cmd, l, &o[1]))
				return false;
			i++;
		} else if (!imap_arg_atom_equals(o, "CHILDREN")) {
			return false;
		}
	}
	return true;
}

/* Reference + pattern(s) into full patterns. */
static bool list_patterns(struct imap_cmd *cmd, struct list_ctx *l,
			  const char *ref, const struct imap_arg *pat)
{
	const struct imap_arg *pats = pat->type == IMAP_ARG_LIST ?
		pat->list : pat;
	size_t n = pat->type == IMAP_ARG_LIST ? pat->list_count : 1;
	if (n == 0 || n > LIST_MAX_PATTERNS)
		return false;
	l->patterns = imap_pool_alloc(&cmd->pool, n * sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		if (!imap_arg_is_astring(&pats[i]) ||
		    strlen(ref) + pats[i].len > LIST_MAX_PATTERN_LEN)
			return false;
		const char *p = imap_mailbox_from_client(cmd, pats[i].str);
		const char *r = imap_mailbox_from_client(cmd, ref);
		if (p == NULL || r == NULL)
			return false;
		l->patterns[l->n_patterns++] = imap_pool_printf(&cmd->pool,
			"%s%s", p[0] == l->sep ? "" : r, p);
	}
	return true;
}

static bool list_parse(struct imap_cmd *cmd, struct list_ctx *l)
{
	const struct imap_arg *a = cmd->c.args;
	size_t n = cmd->c.n_args;
	if (!l->lsub && n > 0 && a[0].type == IMAP_ARG_LIST) {
		l->extended = true;
		if (!list_selection(l, &a[0]))
			return false;
		a++;
		n--;
	}
	if (n < 2 || !imap_arg_is_astring(&a[0]))
		return false;
	if (!l->lsub && a[1].type == IMAP_ARG_LIST)
		l->extended = true;
	if (!list_patterns(cmd, l, a[0].str, &a[1]))
		return false;
	if (n == 2)
		return true;
	l->extended = true;
	return !l->lsub && n == 4 && imap_arg_atom_equals(&a[2], "RETURN") &&
		a[3].type == IMAP_ARG_LIST && list_return(cmd, l, &a[3]);
}

static void list_index_call(struct imap_cmd *cmd);

static void list_ctx_free(void *p)
{
	struct list_ctx *l = p;	/* in the command's pool */
	imap_md_free(&l->md);
}

/* The user's annotations (cmd-metadata.c's object); none yet is none. */
static void list_md_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct list_ctx *l = cmd->ctx;
	if (reply->status == STRATUS__STATUS__STATUS_OK && reply->n_fds >= 1) {
		struct imap_mail_map map;
		if (imap_mail_map(reply->fds[0], &map) < 0) {
			log_error(&cmd->client->log, "LIST: mmap failed: %m");
			imap_cmd_reply(cmd, "NO", "[SERVERBUG] Internal error");
			imap_cmd_done(cmd);
			return;
		}
		if (imap_md_parse(&l->md, map.data, map.size) < 0)
			log_error(&cmd->client->log, "LIST: the stored "
				  "annotations are damaged; the readable "
				  "part is used");
		imap_mail_unmap(&map);
	} else if (reply->status != STRATUS__STATUS__STATUS_NOT_FOUND) {
		imap_rpc_fail(cmd, "blob Get", reply);
		return;
	}
	list_index_call(cmd);
}

static void list_md_load(struct imap_cmd *cmd)
{
	struct imap_ctx *ctx = cmd->client->ctx;
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
	req.user = cmd->client->user;
	req.key = (char *)IMAP_METADATA_KEY;
	imap_rpc_call(cmd, ctx->blob, ctx->methods.blob_get, &req.base, NULL, 0,
		      list_md_reply);
}

bool cmd_list(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	struct list_ctx *l = imap_pool_alloc(&cmd->pool, sizeof(*l));
	l->sep = imap_settings_inbox_ns(&client->ctx->set)->sep;
	l->lsub = strcasecmp(cmd->c.name, "LSUB") == 0;
	if (!list_parse(cmd, l)) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	if (!l->extended && !l->lsub && cmd->c.args[1].str[0] == '\0') {
		/* The hierarchy delimiter and root name of the reference. */
		imap_client_send(client, "* LIST (\\Noselect) \"%s%c\" \"\"",
				 l->sep == '\\' || l->sep == '"' ? "\\" : "",
				 l->sep);
		imap_cmd_reply(cmd, "OK", "List completed.");
		return true;
	}
	cmd->ctx = l;
	if (l->md_names != NULL) {
		cmd->ctx_free = list_ctx_free;
		list_md_load(cmd);
		return false;
	}
	list_index_call(cmd);
	return false;
}

static void list_index_call(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	struct list_ctx *l = cmd->ctx;
	char *all = (char *)"*";
	Stratus__IndexListRequest req = STRATUS__INDEX_LIST_REQUEST__INIT;
	req.user = client->user;
	req.patterns = l->recursive ? &all : l->patterns;
	req.n_patterns = l->recursive ? 1 : l->n_patterns;
	req.subscribed_only = l->lsub || l->sel_subscribed;
	req.special_use_only = l->sel_special;
	req.with_status = l->status_items != NULL;
	imap_index_call(cmd, IMAP_INDEX_LIST, &req.base, list_reply);
}
