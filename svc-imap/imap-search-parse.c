/* SEARCH key parsing (see imap-search.h). Sequence sets and UID sets are
 * resolved against the session's view here, so svc-index sees UIDs. */
#include "imap-search.h"
#include "imap-date.h"
#include "imap-msgset.h"
#include "imap-objectid.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct sp {
	struct imap_cmd *cmd;
	const struct imap_arg *args;
	size_t n, i;
	unsigned int keys;
	const char *error;
};

static Stratus__IndexSearchKey *key_new(struct sp *p,
					Stratus__IndexSearchOp op)
{
	Stratus__IndexSearchKey *k = imap_pool_alloc(&p->cmd->pool,
						     sizeof(*k));
	stratus__index_search_key__init(k);
	k->op = op;
	p->keys++;
	return k;
}

static void key_add_sub(struct sp *p, Stratus__IndexSearchKey *parent,
			Stratus__IndexSearchKey *sub)
{
	Stratus__IndexSearchKey **n = imap_pool_alloc(&p->cmd->pool,
		(parent->n_sub + 1) * sizeof(*n));
	if (parent->n_sub > 0)
		memcpy(n, parent->sub, parent->n_sub * sizeof(*n));
	n[parent->n_sub++] = sub;
	parent->sub = n;
}

static const char *next_string(struct sp *p)
{
	if (p->i >= p->n || !imap_arg_is_astring(&p->args[p->i])) {
		p->error = "Missing argument";
		return NULL;
	}
	return p->args[p->i++].str;
}

static Stratus__IndexSearchKey *flag_key(struct sp *p, const char *flag,
					 bool negate)
{
	Stratus__IndexSearchKey *k = key_new(p,
		STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_FLAG);
	k->text = (char *)flag;
	if (!negate)
		return k;
	Stratus__IndexSearchKey *n = key_new(p,
		STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_NOT);
	key_add_sub(p, n, k);
	return n;
}

static Stratus__IndexSearchKey *set_key(struct sp *p, const char *set,
					bool uid)
{
	struct imap_msgset ms;
	if (imap_msgset_parse(p->cmd, set, uid, &ms, &p->error) < 0)
		return NULL;
	Stratus__IndexSearchKey *k = key_new(p,
		STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_UID);
	if (ms.n_ranges == 0) {
		/* Matches nothing: a range no message has. */
		Stratus__IndexUidRange *r = imap_pool_alloc(&p->cmd->pool,
							    sizeof(*r));
		stratus__index_uid_range__init(r);
		r->first = r->last = UINT32_MAX;
		ms.ranges = imap_pool_alloc(&p->cmd->pool, sizeof(*ms.ranges));
		ms.ranges[0] = r;
		ms.n_ranges = 1;
	}
	k->uids = ms.ranges;
	k->n_uids = ms.n_ranges;
	return k;
}

static Stratus__IndexSearchKey *recent_key(struct sp *p)
{
	/* The session's \Recent UIDs, as runs of consecutive UIDs. */
	const struct imap_client *c = p->cmd->client;
	Stratus__IndexSearchKey *k = key_new(p,
		STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_UID);
	k->uids = imap_pool_alloc(&p->cmd->pool,
				  (c->n_recent_uids + 1) * sizeof(*k->uids));
	Stratus__IndexUidRange *cur = NULL;
	for (size_t i = 0; i < c->n_recent_uids; i++) {
		uint32_t uid = c->recent_uids[i];
		if (cur != NULL && cur->last + 1 == uid) {
			cur->last = uid;
			continue;
		}
		cur = imap_pool_alloc(&p->cmd->pool, sizeof(*cur));
		stratus__index_uid_range__init(cur);
		cur->first = cur->last = uid;
		k->uids[k->n_uids++] = cur;
	}
	if (k->n_uids == 0) {
		/* Matches nothing: a range no message has. */
		cur = imap_pool_alloc(&p->cmd->pool, sizeof(*cur));
		stratus__index_uid_range__init(cur);
		cur->first = cur->last = UINT32_MAX;
		k->uids[k->n_uids++] = cur;
	}
	return k;
}

static char *lower(struct sp *p, const char *s)
{
	char *l = imap_pool_strndup(&p->cmd->pool, s, strlen(s));
	for (char *q = l; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	return l;
}

static Stratus__IndexSearchKey *parse_key(struct sp *p, unsigned int depth);

static Stratus__IndexSearchKey *date_key(struct sp *p,
					 Stratus__IndexSearchOp op,
					 const char *field)
{
	const char *s = next_string(p);
	time_t t;
	if (s == NULL)
		return NULL;
	if (!imap_date_parse(s, &t)) {
		p->error = "Invalid search date";
		return NULL;
	}
	Stratus__IndexSearchKey *k = key_new(p, op);
	k->number = t;
	if (field != NULL)
		k->field = (char *)field;
	return k;
}

/* WITHIN (RFC 5032): OLDER n is INTERNALDATE <= now - n, YOUNGER n is
 * INTERNALDATE >= now - n, both to the second. */
static Stratus__IndexSearchKey *within_key(struct sp *p, bool older)
{
	const char *s = next_string(p);
	char *end;
	if (s == NULL)
		return NULL;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || v == 0 ||
	    v > UINT32_MAX) {
		p->error = "Invalid interval";
		return NULL;
	}
	int64_t edge = (int64_t)time(NULL) - (int64_t)v;
	Stratus__IndexSearchKey *k = key_new(p, older ?
		STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ARRIVED_BEFORE :
		STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ARRIVED_SINCE);
	k->number = older ? edge + 1 : edge;
	return k;
}

/* OBJECTID (RFC 8474 6): EMAILID names a message GUID, THREADID a thread
 * id (imap-objectid.h); an id that cannot name one matches nothing. */
static Stratus__IndexSearchKey *objectid_key(struct sp *p, bool emailid)
{
	const char *s = next_string(p);
	if (s == NULL)
		return NULL;
	const char *id = emailid ? imap_emailid_guid(s) :
		imap_threadid_value(s);
	if (id != NULL) {
		Stratus__IndexSearchKey *k = key_new(p, emailid ?
			STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_GUID :
			STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_THREADID);
		k->text = (char *)id;
		return k;
	}
	Stratus__IndexSearchKey *n = key_new(p,
		STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_NOT);
	key_add_sub(p, n, key_new(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ALL));
	return n;
}

static Stratus__IndexSearchKey *parse_atom(struct sp *p, const char *a,
					   unsigned int depth)
{
	static const struct {
		const char *name, *flag;
		bool negate;
	} flags[] = {
		{ "ANSWERED", "\\Answered", false },
		{ "DELETED", "\\Deleted", false },
		{ "DRAFT", "\\Draft", false },
		{ "FLAGGED", "\\Flagged", false },
		{ "SEEN", "\\Seen", false },
		{ "UNANSWERED", "\\Answered", true },
		{ "UNDELETED", "\\Deleted", true },
		{ "UNDRAFT", "\\Draft", true },
		{ "UNFLAGGED", "\\Flagged", true },
		{ "UNSEEN", "\\Seen", true },
	};
	static const char *const headers[] = { "BCC", "CC", "FROM", "TO",
					       "SUBJECT" };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strcasecmp(a, flags[i].name) == 0)
			return flag_key(p, flags[i].flag, flags[i].negate);
	}
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		if (strcasecmp(a, headers[i]) != 0)
			continue;
		const char *s = next_string(p);
		if (s == NULL)
			return NULL;
		Stratus__IndexSearchKey *k = key_new(p,
			STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_HEADER);
		k->field = lower(p, headers[i]);
		k->text = (char *)s;
		return k;
	}
	Stratus__IndexSearchKey *k;
	if (strcasecmp(a, "ALL") == 0)
		return key_new(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ALL);
	if (strcasecmp(a, "RECENT") == 0)
		return recent_key(p);
	if (strcasecmp(a, "OLD") == 0 || strcasecmp(a, "NEW") == 0) {
		bool is_new = strcasecmp(a, "NEW") == 0;
		Stratus__IndexSearchKey *r = recent_key(p);
		if (r == NULL)
			return NULL;
		k = key_new(p, is_new ? STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_AND :
			    STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_NOT);
		key_add_sub(p, k, r);
		if (is_new)
			key_add_sub(p, k, flag_key(p, "\\Seen", true));
		return k;
	}
	if (strcasecmp(a, "KEYWORD") == 0 || strcasecmp(a, "UNKEYWORD") == 0) {
		const char *s = next_string(p);
		return s == NULL ? NULL :
			flag_key(p, s, strcasecmp(a, "UNKEYWORD") == 0);
	}
	if (strcasecmp(a, "HEADER") == 0) {
		const char *f = next_string(p);
		const char *s = f == NULL ? NULL : next_string(p);
		if (s == NULL)
			return NULL;
		k = key_new(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_HEADER);
		k->field = lower(p, f);
		k->text = (char *)s;
		return k;
	}
	if (strcasecmp(a, "BODY") == 0 || strcasecmp(a, "TEXT") == 0) {
		const char *s = next_string(p);
		if (s == NULL)
			return NULL;
		k = key_new(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_BODY);
		k->text = (char *)s;
		if (strcasecmp(a, "TEXT") == 0)
			k->field = (char *)IMAP_SEARCH_FIELD_TEXT;
		return k;
	}
	if (strcasecmp(a, "BEFORE") == 0)
		return date_key(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_BEFORE, NULL);
	if (strcasecmp(a, "ON") == 0)
		return date_key(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ON, NULL);
	if (strcasecmp(a, "SINCE") == 0)
		return date_key(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SINCE, NULL);
	/* SAVEDATE (RFC 8514): every message has a save date here, so
	 * SAVEDATESUPPORTED matches all of them. */
	if (strcasecmp(a, "SAVEDBEFORE") == 0)
		return date_key(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDBEFORE,
				NULL);
	if (strcasecmp(a, "SAVEDON") == 0)
		return date_key(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDON,
				NULL);
	if (strcasecmp(a, "SAVEDSINCE") == 0)
		return date_key(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDSINCE,
				NULL);
	if (strcasecmp(a, "SAVEDATESUPPORTED") == 0)
		return key_new(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ALL);
	if (strcasecmp(a, "SENTBEFORE") == 0)
		return date_key(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_BODY,
				IMAP_SEARCH_FIELD_SENTBEFORE);
	if (strcasecmp(a, "SENTON") == 0)
		return date_key(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_BODY,
				IMAP_SEARCH_FIELD_SENTON);
	if (strcasecmp(a, "SENTSINCE") == 0)
		return date_key(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_BODY,
				IMAP_SEARCH_FIELD_SENTSINCE);
	if (strcasecmp(a, "LARGER") == 0 || strcasecmp(a, "SMALLER") == 0) {
		const char *s = next_string(p);
		char *end;
		if (s == NULL)
			return NULL;
		unsigned long long v = strtoull(s, &end, 10);
		if (*s < '0' || *s > '9' || *end != '\0') {
			p->error = "Invalid size";
			return NULL;
		}
		k = key_new(p, strcasecmp(a, "LARGER") == 0 ?
			    STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_LARGER :
			    STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SMALLER);
		k->number = (int64_t)(v > INT64_MAX ? INT64_MAX : v);
		return k;
	}
	if (strcasecmp(a, "MODSEQ") == 0) {
		/* MODSEQ ["/flags/<flag>" priv|shared|all] <n> (RFC 7162
		 * 3.1.5): per-flag modseqs are not kept, so the entry only
		 * narrows nothing and the message modseq decides. */
		if (p->i < p->n && (p->args[p->i].type == IMAP_ARG_STRING ||
				    p->args[p->i].type == IMAP_ARG_LITERAL)) {
			p->i++;
			const char *type = next_string(p);
			if (type == NULL)
				return NULL;
			if (strcasecmp(type, "priv") != 0 &&
			    strcasecmp(type, "shared") != 0 &&
			    strcasecmp(type, "all") != 0) {
				p->error = "Invalid MODSEQ entry type";
				return NULL;
			}
		}
		const char *s = next_string(p);
		char *end;
		if (s == NULL)
			return NULL;
		unsigned long long v = strtoull(s, &end, 10);
		if (*s < '0' || *s > '9' || *end != '\0' || v > INT64_MAX) {
			p->error = "Invalid MODSEQ value";
			return NULL;
		}
		k = key_new(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_MODSEQ);
		k->number = (int64_t)v;
		return k;
	}
	if (strcasecmp(a, "OLDER") == 0 || strcasecmp(a, "YOUNGER") == 0)
		return within_key(p, strcasecmp(a, "OLDER") == 0);
	if (strcasecmp(a, "EMAILID") == 0 || strcasecmp(a, "THREADID") == 0)
		return objectid_key(p, strcasecmp(a, "EMAILID") == 0);
	if (strcasecmp(a, "UID") == 0) {
		const char *s = next_string(p);
		return s == NULL ? NULL : set_key(p, s, true);
	}
	if (strcasecmp(a, "NOT") == 0) {
		Stratus__IndexSearchKey *sub = parse_key(p, depth + 1);
		if (sub == NULL)
			return NULL;
		k = key_new(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_NOT);
		key_add_sub(p, k, sub);
		return k;
	}
	if (strcasecmp(a, "OR") == 0) {
		Stratus__IndexSearchKey *a1 = parse_key(p, depth + 1);
		Stratus__IndexSearchKey *a2 = a1 == NULL ? NULL :
			parse_key(p, depth + 1);
		if (a2 == NULL)
			return NULL;
		k = key_new(p, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_OR);
		key_add_sub(p, k, a1);
		key_add_sub(p, k, a2);
		return k;
	}
	if ((a[0] >= '0' && a[0] <= '9') || a[0] == '*' ||
	    strcmp(a, "$") == 0)
		return set_key(p, a, false);
	p->error = "Unknown argument";
	return NULL;
}

static Stratus__IndexSearchKey *parse_key(struct sp *p, unsigned int depth)
{
	if (depth > IMAP_MAX_LIST_DEPTH || p->keys > IMAP_SEARCH_MAX_KEYS) {
		p->error = "Too complex search";
		return NULL;
	}
	if (p->i >= p->n) {
		p->error = "Missing search key";
		return NULL;
	}
	const struct imap_arg *arg = &p->args[p->i++];
	if (arg->type == IMAP_ARG_LIST) {
		struct sp sub = *p;
		sub.args = arg->list;
		sub.n = arg->list_count;
		sub.i = 0;
		Stratus__IndexSearchKey *k = key_new(&sub,
			STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_AND);
		if (sub.n == 0) {
			p->error = "Empty list";
			return NULL;
		}
		while (sub.i < sub.n) {
			Stratus__IndexSearchKey *s = parse_key(&sub, depth + 1);
			if (s == NULL) {
				p->error = sub.error;
				return NULL;
			}
			key_add_sub(&sub, k, s);
		}
		p->keys = sub.keys;
		return k;
	}
	if (arg->type != IMAP_ARG_ATOM) {
		p->error = "Invalid search key";
		return NULL;
	}
	return parse_atom(p, arg->str, depth);
}

int imap_search_parse(struct imap_cmd *cmd, const struct imap_arg *args,
		      size_t n_args, Stratus__IndexSearchKey **key_r,
		      const char **error_r)
{
	struct sp p = { .cmd = cmd, .args = args, .n = n_args };
	Stratus__IndexSearchKey *all = key_new(&p,
		STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_AND);
	if (n_args == 0) {
		*error_r = "Missing search key";
		return -1;
	}
	while (p.i < p.n) {
		Stratus__IndexSearchKey *k = parse_key(&p, 0);
		if (k == NULL) {
			*error_r = p.error != NULL ? p.error : "Invalid search";
			return -1;
		}
		key_add_sub(&p, all, k);
	}
	*key_r = all;
	return 0;
}
