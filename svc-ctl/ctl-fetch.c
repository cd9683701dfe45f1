/* stratusctl fetch and expunge by a search query, as doveadm's:
 *   fetch [--json] (-u USER|-A) FIELDS QUERY...
 *   expunge [--json] (-u USER|-A) QUERY...
 * FIELDS (one argument, space-separated): user mailbox mailbox-guid uid
 * seq guid flags modseq size.physical size.virtual date.received
 * date.saved hdr body text. QUERY keys, all of which must match:
 *   mailbox MASK | mailbox-guid GUID | all | uid SET | not KEY |
 *   seen answered flagged deleted draft (and unseen, unanswered...) |
 *   keyword K | unkeyword K | larger N | smaller N (k, M, G) |
 *   before|on|since DATE | savedbefore|savedon|savedsince DATE |
 *   sentbefore|senton|sentsince DATE
 *   (DATE: YYYY-MM-DD, or an age such as 30d, 2w, 12h) |
 *   header NAME TEXT | from|to|cc|bcc|subject TEXT |
 *   body TEXT | text TEXT (header and body) |
 *   ( KEY... ) | KEY OR KEY
 * As in doveadm (doveadm-search-query(7)), an OR anywhere in a list makes
 * the whole list an OR of its keys, so mixing ANDs and ORs needs
 * parentheses, each "(" and ")" its own argument: `seen ( flagged OR
 * body x )`. mailbox and mailbox-guid choose the mailboxes and belong
 * outside parentheses. svc-index decides what its cache can; the
 * messages it cannot decide (body text, sent dates, an uncached header)
 * are checked here against their bodies from svc-blob, the whole query
 * evaluated with svc-imap's SEARCH matcher (imap-search-match.c).
 * Output: doveadm's pager format, "field: value" lines and a form feed
 * line between messages; --json one object per message. Expunge deletes
 * the objects no mailbox references any more, then tells svc-quota. */
#include "ctl.h"
#include "buf.h"
#include "rpc-versions.h"
#include "storage-client.h"
#include "blob.pb-c.h"
#include "index.pb-c.h"
#include "quota.pb-c.h"
#include "imap-search.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CTL_QUERY_MAX_KEYS 64

#define CTL_QUERY_MAX_DEPTH 16

struct ctl_query {
	char **boxes;			/* mailbox masks; none = "*" */
	size_t n_boxes;
	const char *box_guid;
	Stratus__IndexSearchKey *root;	/* the top list */
	Stratus__IndexSearchKey keys[CTL_QUERY_MAX_KEYS * 2];
	Stratus__IndexUidRange ranges[CTL_QUERY_MAX_KEYS * 8];
	Stratus__IndexUidRange *range_ptrs[CTL_QUERY_MAX_KEYS * 8];
	size_t n_keys, n_ranges;
	/* the operands of lists and NOTs, each list's contiguous */
	Stratus__IndexSearchKey *operands[CTL_QUERY_MAX_KEYS * 2];
	size_t n_operands;
	bool box_named;			/* a mailbox or mailbox-guid key */
};

static Stratus__IndexSearchKey *query_key(struct ctl_query *q,
					  Stratus__IndexSearchOp op)
{
	if (q->n_keys >= N_ELEMENTS(q->keys))
		return NULL;
	Stratus__IndexSearchKey *k = &q->keys[q->n_keys++];
	stratus__index_search_key__init(k);
	k->op = op;
	return k;
}

/* "1:5,7,10:*" into ranges (last 0 = to the end). */
static int query_uid_set(struct ctl_query *q, Stratus__IndexSearchKey *k,
			 const char *set)
{
	k->uids = &q->range_ptrs[q->n_ranges];
	for (const char *p = set; *p != '\0';) {
		if (q->n_ranges >= N_ELEMENTS(q->ranges))
			return -1;
		Stratus__IndexUidRange *r = &q->ranges[q->n_ranges];
		stratus__index_uid_range__init(r);
		char *end;
		r->first = *p == '*' ? 0 : (uint32_t)strtoul(p, &end, 10);
		if (*p == '*')
			end = (char *)p + 1;
		else if (end == p || r->first == 0)
			return -1;
		r->last = r->first;
		if (*end == ':') {
			p = end + 1;
			r->last = *p == '*' ? 0 : (uint32_t)strtoul(p, &end, 10);
			if (*p == '*')
				end = (char *)p + 1;
			else if (end == p || r->last == 0)
				return -1;
		}
		if (r->first == 0)
			r->first = r->last == 0 ? 1 : r->last;
		if (r->last != 0 && r->last < r->first) {
			uint32_t t = r->first;
			r->first = r->last;
			r->last = t;
		}
		q->range_ptrs[q->n_ranges++] = r;
		k->n_uids++;
		if (*end == ',')
			end++;
		else if (*end != '\0')
			return -1;
		p = end;
	}
	return k->n_uids > 0 ? 0 : -1;
}

/* YYYY-MM-DD as its UTC day start, or an age ("30d") as now minus it.
 * *age_r tells which. */
static int query_date(const char *s, int64_t *t_r, bool *age_r)
{
	struct tm tm = { 0 };
	char *end;
	unsigned long long n = strtoull(s, &end, 10);
	*age_r = false;
	if (end != s && end[0] != '\0' && end[1] == '\0' &&
	    strchr("smhdw", end[0]) != NULL) {
		static const char units[] = "smhdw";
		static const int64_t secs[] = { 1, 60, 3600, 86400, 604800 };
		*age_r = true;
		*t_r = (int64_t)time(NULL) -
			(int64_t)n * secs[strchr(units, end[0]) - units];
		return 0;
	}
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	*t_r = (int64_t)timegm(&tm);
	return 0;
}

static int query_size(const char *s, int64_t *n_r)
{
	char *end;
	unsigned long long n = strtoull(s, &end, 10);
	if (end == s)
		return -1;
	if (*end != '\0' && end[1] == '\0') {
		const char *u = strchr("kMG", *end);
		if (u == NULL)
			return -1;
		for (int i = 0; i <= u - "kMG"; i++)
			n *= 1024;
	} else if (*end != '\0') {
		return -1;
	}
	*n_r = (int64_t)n;
	return 0;
}

static const struct {
	const char *name, *flag;
	bool negate;
} query_flags[] = {
	{ "seen", "\\Seen", false }, { "unseen", "\\Seen", true },
	{ "answered", "\\Answered", false }, { "unanswered", "\\Answered", true },
	{ "flagged", "\\Flagged", false }, { "unflagged", "\\Flagged", true },
	{ "deleted", "\\Deleted", false }, { "undeleted", "\\Deleted", true },
	{ "draft", "\\Draft", false }, { "undraft", "\\Draft", true },
};

/* NOT k: each NOT keeps its one operand in the query's `operands`. */
static Stratus__IndexSearchKey *query_negate(struct ctl_query *q,
					     Stratus__IndexSearchKey *k)
{
	if (k == NULL || q->n_operands >= N_ELEMENTS(q->operands))
		return NULL;
	Stratus__IndexSearchKey *n =
		query_key(q, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_NOT);
	if (n == NULL)
		return NULL;
	q->operands[q->n_operands] = k;
	n->sub = &q->operands[q->n_operands++];
	n->n_sub = 1;
	return n;
}

static int query_date_key(struct ctl_query *q, const char *name,
			  const char *arg, Stratus__IndexSearchKey **k_r)
{
	static const struct {
		const char *name;
		Stratus__IndexSearchOp day_op, age_op;
	} ops[] = {
		{ "before", STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_BEFORE,
		  STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ARRIVED_BEFORE },
		{ "since", STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SINCE,
		  STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ARRIVED_SINCE },
		{ "on", STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ON,
		  STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ON },
		{ "savedbefore", STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDBEFORE,
		  STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDBEFORE },
		{ "savedsince", STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDSINCE,
		  STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDSINCE },
		{ "savedon", STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDON,
		  STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SAVEDON },
	};
	for (size_t i = 0; i < N_ELEMENTS(ops); i++) {
		if (strcasecmp(name, ops[i].name) != 0)
			continue;
		int64_t t;
		bool age;
		if (query_date(arg, &t, &age) < 0)
			return -1;
		/* Saved dates are compared by day: an age becomes the day
		 * it falls on. */
		*k_r = query_key(q, age ? ops[i].age_op : ops[i].day_op);
		if (*k_r == NULL)
			return -1;
		(*k_r)->number = ops[i].age_op == ops[i].day_op ?
			t - t % 86400 : t;
		return 1;
	}
	return 0;
}

static Stratus__IndexSearchKey *query_parse_list(struct ctl_query *q,
						 int argc, char **argv, int *i,
						 unsigned int depth);

/* body/text/sent* keys: only a body decides them (op BODY, as svc-imap's
 * SEARCH sends them). 1 when w is one, 0 when not, -1 on a bad value. */
static int query_body_key(struct ctl_query *q, const char *w, const char *arg,
			  Stratus__IndexSearchKey **k_r)
{
	static const char *const sent[] = { IMAP_SEARCH_FIELD_SENTBEFORE,
		IMAP_SEARCH_FIELD_SENTON, IMAP_SEARCH_FIELD_SENTSINCE };
	const char *field = NULL;
	if (strcasecmp(w, "text") == 0)
		field = IMAP_SEARCH_FIELD_TEXT;
	else if (strcasecmp(w, "body") == 0)
		field = "";
	for (size_t s = 0; s < N_ELEMENTS(sent); s++) {
		if (strcasecmp(w, sent[s]) == 0)
			field = sent[s];
	}
	if (field == NULL)
		return 0;
	*k_r = query_key(q, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_BODY);
	if (*k_r == NULL)
		return -1;
	(*k_r)->field = (char *)field;
	(*k_r)->text = (char *)arg;
	if (field[0] != 's')
		return 1;
	bool age;
	if (query_date(arg, &(*k_r)->number, &age) < 0 || age)
		return -1;
	return 1;
}

/* One key at argv[*i]; NULL with an error printed. */
static Stratus__IndexSearchKey *query_parse_key(struct ctl_query *q,
						int argc, char **argv, int *i,
						unsigned int depth)
{
	const char *w = argv[(*i)++];
	const char *arg = *i < argc ? argv[*i] : NULL;
	Stratus__IndexSearchKey *k = NULL;
	static const char *const hdr_names[] = { "from", "to", "cc", "bcc",
						 "subject" };
	if (depth > CTL_QUERY_MAX_DEPTH) {
		fprintf(stderr, "stratusctl: search query nested too deep\n");
		return NULL;
	}
	if (strcmp(w, "(") == 0) {
		k = query_parse_list(q, argc, argv, i, depth + 1);
		if (k != NULL && (*i >= argc || strcmp(argv[*i], ")") != 0)) {
			fprintf(stderr, "stratusctl: missing ')' in the "
				"search query\n");
			return NULL;
		}
		(*i)++;
		return k;
	}
	if (strcasecmp(w, "all") == 0)
		return query_key(q, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_ALL);
	if (strcasecmp(w, "not") == 0 && *i < argc)
		return query_negate(q, query_parse_key(q, argc, argv, i,
						       depth + 1));
	if (strcasecmp(w, "mailbox") == 0 || strcasecmp(w, "mailbox-guid") == 0) {
		fprintf(stderr, "stratusctl: %s belongs at the top of the "
			"query, outside ( ), NOT and OR\n", w);
		return NULL;
	}
	for (size_t f = 0; f < N_ELEMENTS(query_flags); f++) {
		if (strcasecmp(w, query_flags[f].name) != 0)
			continue;
		k = query_key(q, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_FLAG);
		if (k != NULL)
			k->text = (char *)query_flags[f].flag;
		return query_flags[f].negate ? query_negate(q, k) : k;
	}
	if (arg == NULL) {
		fprintf(stderr, "stratusctl: search key %s needs a value\n", w);
		return NULL;
	}
	(*i)++;
	if (strcasecmp(w, "keyword") == 0 || strcasecmp(w, "unkeyword") == 0) {
		k = query_key(q, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_FLAG);
		if (k != NULL)
			k->text = (char *)arg;
		return w[0] == 'u' || w[0] == 'U' ? query_negate(q, k) : k;
	}
	if (strcasecmp(w, "uid") == 0) {
		k = query_key(q, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_UID);
		if (k != NULL && query_uid_set(q, k, arg) == 0)
			return k;
		fprintf(stderr, "stratusctl: bad uid set %s\n", arg);
		return NULL;
	}
	if (strcasecmp(w, "larger") == 0 || strcasecmp(w, "smaller") == 0) {
		k = query_key(q, w[0] == 'l' || w[0] == 'L' ?
			      STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_LARGER :
			      STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_SMALLER);
		if (k != NULL && query_size(arg, &k->number) == 0)
			return k;
		fprintf(stderr, "stratusctl: bad size %s\n", arg);
		return NULL;
	}
	int d = query_date_key(q, w, arg, &k);
	if (d == 0)
		d = query_body_key(q, w, arg, &k);
	if (d != 0) {
		if (d < 0)
			fprintf(stderr, "stratusctl: bad value %s for %s "
				"(a date is YYYY-MM-DD, or an age like 30d "
				"where one is allowed)\n", arg, w);
		return d > 0 ? k : NULL;
	}
	const char *hdr = NULL, *text = arg;
	for (size_t h = 0; h < N_ELEMENTS(hdr_names); h++) {
		if (strcasecmp(w, hdr_names[h]) == 0)
			hdr = hdr_names[h];
	}
	if (strcasecmp(w, "header") == 0 && *i < argc) {
		hdr = arg;
		text = argv[(*i)++];
	}
	if (hdr == NULL) {
		fprintf(stderr, "stratusctl: unknown search key %s\n", w);
		return NULL;
	}
	k = query_key(q, STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_HEADER);
	if (k != NULL) {
		k->field = (char *)hdr;
		k->text = (char *)text;
	}
	return k;
}

/* Keys up to ")" or the end, as an AND, or as an OR when an OR stands
 * between any two of them (doveadm's reading). At the top (depth 0)
 * mailbox and mailbox-guid choose mailboxes instead. */
static Stratus__IndexSearchKey *query_parse_list(struct ctl_query *q,
						 int argc, char **argv, int *i,
						 unsigned int depth)
{
	Stratus__IndexSearchKey *subs[CTL_QUERY_MAX_KEYS];
	size_t n = 0;
	bool is_or = false, want_key = true;
	while (*i < argc && !(depth > 0 && strcmp(argv[*i], ")") == 0)) {
		if (depth == 0 && *i + 1 < argc &&
		    strcasecmp(argv[*i], "mailbox") == 0) {
			q->boxes[q->n_boxes++] = argv[*i + 1];
			q->box_named = true;
			*i += 2;
			continue;
		}
		if (depth == 0 && *i + 1 < argc &&
		    strcasecmp(argv[*i], "mailbox-guid") == 0) {
			q->box_guid = argv[*i + 1];
			q->box_named = true;
			*i += 2;
			continue;
		}
		if (strcasecmp(argv[*i], "or") == 0) {
			if (want_key) {
				fprintf(stderr, "stratusctl: OR needs a key "
					"on each side\n");
				return NULL;
			}
			is_or = true;
			want_key = true;
			(*i)++;
			continue;
		}
		Stratus__IndexSearchKey *k = query_parse_key(q, argc, argv, i,
							     depth);
		if (k == NULL)
			return NULL;
		if (n >= N_ELEMENTS(subs)) {
			fprintf(stderr, "stratusctl: too many search keys\n");
			return NULL;
		}
		subs[n++] = k;
		want_key = false;
	}
	if (is_or && want_key) {
		fprintf(stderr, "stratusctl: OR needs a key on each side\n");
		return NULL;
	}
	if (depth > 0 && n == 0) {
		fprintf(stderr, "stratusctl: empty ( ) in the search query\n");
		return NULL;
	}
	Stratus__IndexSearchKey *list = query_key(q, is_or ?
		STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_OR :
		STRATUS__INDEX_SEARCH_OP__INDEX_SEARCH_AND);
	if (list == NULL || q->n_operands + n > N_ELEMENTS(q->operands)) {
		fprintf(stderr, "stratusctl: too many search keys\n");
		return NULL;
	}
	list->sub = &q->operands[q->n_operands];
	list->n_sub = n;
	memcpy(list->sub, subs, n * sizeof(*subs));
	q->n_operands += n;
	return list;
}

static int query_parse(struct ctl_query *q, int argc, char **argv)
{
	memset(q, 0, sizeof(*q));
	q->boxes = xcalloc((size_t)argc + 1, sizeof(char *));
	int i = 0;
	q->root = query_parse_list(q, argc, argv, &i, 0);
	if (q->root == NULL)
		return -1;
	if (q->n_boxes == 0)
		q->boxes[q->n_boxes++] = "*";
	return 0;
}

/* ---- the messages a query matches ---- */

struct ctl_fetch {
	struct config *cfg;
	struct ctl_users users;
	struct ctl_query query;
	const char *fields;
	bool json, expunge;
	size_t n_out;
	int ret;
};

static bool fetch_wants(const struct ctl_fetch *cf, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = cf->fields; *p != '\0';) {
		size_t n = strcspn(p, " ,");
		if (n == len && memcmp(p, name, len) == 0)
			return true;
		p += n;
		p += strspn(p, " ,");
	}
	return false;
}

static int fetch_rpc(struct ctl_fetch *cf, const char *service,
		     const char *method, const ProtobufCMessage *req,
		     struct rpc_reply *reply)
{
	const ProtobufCServiceDescriptor *desc =
		strcmp(service, "index") == 0 ? &stratus__index__descriptor :
		strcmp(service, "blob") == 0 ? &stratus__blob__descriptor :
		&stratus__quota__descriptor;
	uint32_t major = strcmp(service, "index") == 0 ? INDEX_RPC_MAJOR :
		strcmp(service, "blob") == 0 ? BLOB_RPC_MAJOR : QUOTA_RPC_MAJOR;
	uint32_t minor = strcmp(service, "index") == 0 ? INDEX_RPC_MINOR :
		strcmp(service, "blob") == 0 ? BLOB_RPC_MINOR : QUOTA_RPC_MINOR;
	memset(reply, 0, sizeof(*reply));
	if (ctl_rpc_call(cf->cfg, service, desc, major, minor, method, req,
			 reply) < 0) {
		rpc_reply_clear(reply);
		cf->ret = CTL_EXIT_FAILURE;
		return -1;
	}
	return 0;
}

/* The message's body, mapped; NULL on failure (printed). */
static char *fetch_body(struct ctl_fetch *cf, char *user,
			const char *object_id, size_t *len_r)
{
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = user;
	req.key = (char *)storage_object_key(object_id);
	struct rpc_reply reply;
	if (fetch_rpc(cf, "blob", "Get", &req.base, &reply) < 0)
		return NULL;
	char *data = NULL;
	struct stat st;
	if (reply.n_fds > 0 && fstat(reply.fds[0], &st) == 0) {
		*len_r = (size_t)st.st_size;
		data = xmalloc(*len_r + 1);
		size_t off = 0;
		while (off < *len_r) {
			ssize_t n = pread(reply.fds[0], data + off,
					  *len_r - off, (off_t)off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		*len_r = off;
		data[off] = '\0';
	}
	rpc_reply_clear(&reply);
	return data;
}

static size_t header_length(const char *body, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (body[i] != '\n')
			continue;
		if (i + 1 < len && body[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && body[i + 1] == '\r' && body[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* A message svc-index could not decide: the whole query against its
 * record and body, as svc-imap's SEARCH decides it. */
static bool fetch_body_matches(const struct ctl_fetch *cf,
			       const Stratus__IndexMessage *m,
			       const char *body, size_t len)
{
	struct imap_search_msg sm;
	imap_search_msg_init(&sm, m, body, len);
	bool match = imap_search_match(cf->query.root, &sm, 0);
	imap_search_msg_free(&sm);
	return match;
}

static void print_time(const char *name, int64_t t, bool json)
{
	char s[64];
	time_t tt = (time_t)t;
	struct tm tm;
	strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", localtime_r(&tt, &tm));
	if (json) {
		printf(",\"%s\":", name);
		ctl_json_string(stdout, s);
	} else {
		printf("%s: %s\n", name, s);
	}
}

static void print_str(const char *name, const char *v, bool json)
{
	if (json) {
		printf(",\"%s\":", name);
		ctl_json_string(stdout, v);
	} else {
		printf("%s: %s\n", name, v);
	}
}

static void print_num(const char *name, unsigned long long v, bool json)
{
	if (json)
		printf(",\"%s\":%llu", name, v);
	else
		printf("%s: %llu\n", name, v);
}

/* Bodies go into JSON as strings: bytes that are not valid there (NUL,
 * 8-bit) are escaped or kept as they are. */
static void print_part(const char *name, const char *data, size_t len,
		       bool json)
{
	char *copy = xstrndup(data, len);
	if (json) {
		printf(",\"%s\":", name);
		ctl_json_string(stdout, copy);
	} else {
		printf("%s:\n%s", name, copy);
		if (len > 0 && data[len - 1] != '\n')
			fputc('\n', stdout);
	}
	free(copy);
}

static void fetch_print(struct ctl_fetch *cf, char *user,
			const Stratus__IndexListEntry *box,
			const Stratus__IndexMessage *m, uint32_t seq,
			const char *body, size_t len)
{
	bool json = cf->json;
	if (json)
		fputs(cf->n_out > 0 ? ",{\"user\":" : "{\"user\":", stdout);
	else if (cf->n_out > 0)
		fputs("\f\n", stdout);
	if (json)
		ctl_json_string(stdout, user);
	else if (fetch_wants(cf, "user"))
		print_str("user", user, false);
	cf->n_out++;
	if (fetch_wants(cf, "mailbox"))
		print_str("mailbox", box->name, json);
	if (fetch_wants(cf, "mailbox-guid"))
		print_str("mailbox-guid", box->guid, json);
	if (fetch_wants(cf, "uid"))
		print_num("uid", m->uid, json);
	if (fetch_wants(cf, "seq"))
		print_num("seq", seq, json);
	if (fetch_wants(cf, "guid"))
		print_str("guid", m->guid, json);
	if (fetch_wants(cf, "flags")) {
		struct buf f = BUF_INIT;
		for (size_t i = 0; i < m->n_flags; i++)
			buf_printf(&f, "%s%s", i > 0 ? " " : "", m->flags[i]);
		buf_append_c(&f, '\0');
		print_str("flags", f.data, json);
		buf_free(&f);
	}
	if (fetch_wants(cf, "modseq"))
		print_num("modseq", m->modseq, json);
	if (fetch_wants(cf, "size.physical"))
		print_num("size.physical", m->physical_size, json);
	if (fetch_wants(cf, "size.virtual"))
		print_num("size.virtual", m->virtual_size, json);
	if (fetch_wants(cf, "date.received"))
		print_time("date.received", m->internal_date, json);
	if (fetch_wants(cf, "date.saved"))
		print_time("date.saved", m->save_date, json);
	size_t hlen = body != NULL ? header_length(body, len) : 0;
	if (body != NULL && fetch_wants(cf, "hdr"))
		print_part("hdr", body, hlen, json);
	if (body != NULL && fetch_wants(cf, "body"))
		print_part("body", body + hlen, len - hlen, json);
	if (body != NULL && fetch_wants(cf, "text"))
		print_part("text", body, len, json);
	if (json)
		fputc('}', stdout);
}

static bool uid_in(const uint32_t *uids, size_t n, uint32_t uid)
{
	for (size_t i = 0; i < n; i++) {
		if (uids[i] == uid)
			return true;
	}
	return false;
}

static void fetch_expunge(struct ctl_fetch *cf, char *user,
			  const Stratus__IndexListEntry *box,
			  const uint32_t *uids, size_t n)
{
	Stratus__IndexUidRange *ranges = xcalloc(n, sizeof(*ranges));
	Stratus__IndexUidRange **ptrs = xcalloc(n, sizeof(*ptrs));
	for (size_t i = 0; i < n; i++) {
		stratus__index_uid_range__init(&ranges[i]);
		ranges[i].first = ranges[i].last = uids[i];
		ptrs[i] = &ranges[i];
	}
	Stratus__IndexExpungeRequest req = STRATUS__INDEX_EXPUNGE_REQUEST__INIT;
	req.user = user;
	req.mailbox = box->name;
	req.uids = ptrs;
	req.n_uids = n;
	struct rpc_reply reply;
	if (fetch_rpc(cf, "index", "Expunge", &req.base, &reply) == 0) {
		const Stratus__IndexExpungeReply *r = (const void *)reply.msg;
		if (r->n_unreferenced_object_ids > 0) {
			char **keys = xcalloc(r->n_unreferenced_object_ids,
					      sizeof(char *));
			for (size_t i = 0; i < r->n_unreferenced_object_ids; i++)
				keys[i] = (char *)storage_object_key(
					r->unreferenced_object_ids[i]);
			Stratus__BlobDeleteRequest d =
				STRATUS__BLOB_DELETE_REQUEST__INIT;
			d.user = user;
			d.keys = keys;
			d.n_keys = r->n_unreferenced_object_ids;
			struct rpc_reply dr;
			if (fetch_rpc(cf, "blob", "Delete", &d.base, &dr) == 0)
				rpc_reply_clear(&dr);
			free(keys);
		}
		if (cf->json) {
			fputs(cf->n_out++ > 0 ? ",{\"user\":" : "{\"user\":",
			      stdout);
			ctl_json_string(stdout, user);
			fputs(",\"mailbox\":", stdout);
			ctl_json_string(stdout, box->name);
			printf(",\"expunged\":%zu}", r->n_expunged);
		} else {
			printf("%s %s expunged=%zu\n", user, box->name,
			       r->n_expunged);
		}
		if (r->n_expunged > 0) {
			Stratus__QuotaChangedRequest qr =
				STRATUS__QUOTA_CHANGED_REQUEST__INIT;
			qr.user = user;
			struct rpc_reply qreply;
			if (fetch_rpc(cf, "quota", "Changed", &qr.base,
				      &qreply) == 0)
				rpc_reply_clear(&qreply);
		}
		rpc_reply_clear(&reply);
	}
	free(ptrs);
	free(ranges);
}

/* The messages of uids (ascending) with their records, in pages. */
static void fetch_messages(struct ctl_fetch *cf, char *user,
			   const Stratus__IndexListEntry *box,
			   const uint32_t *uids, size_t n,
			   const uint32_t *maybe, size_t n_maybe,
			   const uint32_t *all, size_t n_all)
{
	Stratus__IndexUidRange range = STRATUS__INDEX_UID_RANGE__INIT;
	Stratus__IndexUidRange *rp = &range;
	Stratus__IndexFetchRequest req = STRATUS__INDEX_FETCH_REQUEST__INIT;
	uint32_t *expunge = xcalloc(n + n_maybe + 1, sizeof(uint32_t));
	size_t n_expunge = 0;
	req.user = user;
	req.mailbox = box->name;
	req.uids = &rp;
	req.n_uids = 1;
	range.first = 1;
	bool need_body = fetch_wants(cf, "hdr") || fetch_wants(cf, "body") ||
		fetch_wants(cf, "text");
	while (range.first != 0) {
		struct rpc_reply reply;
		if (fetch_rpc(cf, "index", "Fetch", &req.base, &reply) < 0)
			break;
		const Stratus__IndexFetchReply *r = (const void *)reply.msg;
		for (size_t i = 0; i < r->n_messages; i++) {
			const Stratus__IndexMessage *m = r->messages[i];
			bool sure = uid_in(uids, n, m->uid);
			if (!sure && !uid_in(maybe, n_maybe, m->uid))
				continue;
			char *body = NULL;
			size_t len = 0;
			if (!sure || (need_body && !cf->expunge))
				body = fetch_body(cf, user, m->object_id, &len);
			if (!sure && (body == NULL ||
				      !fetch_body_matches(cf, m, body, len))) {
				free(body);
				continue;
			}
			uint32_t seq = 0;
			for (size_t s = 0; s < n_all; s++) {
				if (all[s] == m->uid)
					seq = (uint32_t)s + 1;
			}
			if (cf->expunge)
				expunge[n_expunge++] = m->uid;
			else
				fetch_print(cf, user, box, m, seq, body, len);
			free(body);
		}
		range.first = r->next_uid;
		rpc_reply_clear(&reply);
	}
	if (cf->expunge && n_expunge > 0)
		fetch_expunge(cf, user, box, expunge, n_expunge);
	free(expunge);
}

static int fetch_search(struct ctl_fetch *cf, char *user, char *box,
			Stratus__IndexSearchKey *key, struct rpc_reply *reply)
{
	Stratus__IndexSearchRequest req = STRATUS__INDEX_SEARCH_REQUEST__INIT;
	req.user = user;
	req.mailbox = box;
	req.key = key;
	return fetch_rpc(cf, "index", "Search", &req.base, reply);
}

static void fetch_mailbox(struct ctl_fetch *cf, char *user,
			  const Stratus__IndexListEntry *box)
{
	struct rpc_reply sr, ar = { 0 };
	if (fetch_search(cf, user, box->name, cf->query.root, &sr) < 0)
		return;
	const Stratus__IndexSearchReply *s = (const void *)sr.msg;
	const Stratus__IndexSearchReply *a = NULL;
	Stratus__IndexSearchKey all = STRATUS__INDEX_SEARCH_KEY__INIT;
	if (!cf->expunge && fetch_wants(cf, "seq") &&
	    fetch_search(cf, user, box->name, &all, &ar) == 0)
		a = (const void *)ar.msg;
	if (s->n_uids + s->n_maybe_uids > 0)
		fetch_messages(cf, user, box, s->uids, s->n_uids,
			       s->maybe_uids, s->n_maybe_uids,
			       a != NULL ? a->uids : NULL,
			       a != NULL ? a->n_uids : 0);
	rpc_reply_clear(&ar);
	rpc_reply_clear(&sr);
}

static void fetch_user(struct ctl_fetch *cf, char *user)
{
	Stratus__IndexListRequest req = STRATUS__INDEX_LIST_REQUEST__INIT;
	req.user = user;
	req.patterns = cf->query.boxes;
	req.n_patterns = cf->query.n_boxes;
	struct rpc_reply reply;
	if (fetch_rpc(cf, "index", "MailboxList", &req.base, &reply) < 0)
		return;
	const Stratus__IndexListReply *r = (const void *)reply.msg;
	for (size_t i = 0; i < r->n_entries; i++) {
		const Stratus__IndexListEntry *e = r->entries[i];
		if (e->nonexistent || (cf->query.box_guid != NULL &&
				       strcmp(cf->query.box_guid, e->guid) != 0))
			continue;
		fetch_mailbox(cf, user, e);
	}
	rpc_reply_clear(&reply);
}

static int fetch_run(struct ctl_args *args, bool expunge)
{
	static const char usage_fetch[] = "usage: stratusctl fetch [--json] "
		"-u USER|-A FIELDS QUERY...\n";
	static const char usage_expunge[] = "usage: stratusctl expunge "
		"[--json] -u USER|-A QUERY... (with a mailbox key)\n";
	struct ctl_fetch cf = { .expunge = expunge };
	cf.json = ctl_take_flag(args, "--json");
	cf.cfg = ctl_config_load(args->config_path);
	if (cf.cfg == NULL)
		return CTL_EXIT_FAILURE;
	int r = ctl_users_take(args, cf.cfg, &cf.users);
	int first = expunge ? 0 : 1;
	if (r == 0 && args->argc <= first)
		r = CTL_EXIT_USAGE;
	if (r == 0) {
		cf.fields = expunge ? "" : args->argv[0];
		if (query_parse(&cf.query, args->argc - first,
				args->argv + first) < 0)
			r = CTL_EXIT_USAGE;
		/* As doveadm asks: expunge names its mailboxes. */
		else if (expunge && !cf.query.box_named)
			r = CTL_EXIT_USAGE;
	}
	if (r == 0) {
		if (cf.json)
			fputc('[', stdout);
		for (size_t i = 0; i < cf.users.n; i++)
			fetch_user(&cf, cf.users.names[i]);
		if (cf.json)
			fputs("]\n", stdout);
		r = cf.ret;
	} else if (r == CTL_EXIT_USAGE) {
		fputs(expunge ? usage_expunge : usage_fetch, stderr);
	}
	free(cf.query.boxes);
	ctl_users_free(&cf.users);
	config_free(&cf.cfg);
	return r < 0 ? CTL_EXIT_FAILURE : r;
}

int ctl_cmd_fetch(struct ctl_args *args)
{
	return fetch_run(args, false);
}

int ctl_cmd_expunge(struct ctl_args *args)
{
	return fetch_run(args, true);
}
