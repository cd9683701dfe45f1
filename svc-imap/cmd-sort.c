/* SORT and UID SORT (RFC 5256), DISPLAYFROM/DISPLAYTO (RFC 5957) and
 * ESORT's RETURN (MIN MAX COUNT ALL) (RFC 5267): the search runs as for
 * SEARCH, then the matches' fields are gathered and compared with
 * i;ascii-casemap; equal messages stay in sequence order. */
#include "imap-search.h"
#include "imap-sort.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum sort_key {
	SORT_ARRIVAL, SORT_CC, SORT_DATE, SORT_FROM, SORT_SIZE, SORT_SUBJECT,
	SORT_TO, SORT_DISPLAYFROM, SORT_DISPLAYTO,
};

#define SORT_MAX_CRITERIA 16

struct sort_ctx {
	struct { enum sort_key key; bool reverse; } crit[SORT_MAX_CRITERIA];
	size_t n_crit;
	bool esort;
	unsigned int ret;		/* ESORT_* */
};

enum { ESORT_MIN = 1, ESORT_MAX = 2, ESORT_COUNT = 4, ESORT_ALL = 8 };

static int parse_criteria(struct sort_ctx *sc, const struct imap_arg *list)
{
	static const struct { const char *name; enum sort_key key; } keys[] = {
		{ "ARRIVAL", SORT_ARRIVAL }, { "CC", SORT_CC },
		{ "DATE", SORT_DATE }, { "FROM", SORT_FROM },
		{ "SIZE", SORT_SIZE }, { "SUBJECT", SORT_SUBJECT },
		{ "TO", SORT_TO }, { "DISPLAYFROM", SORT_DISPLAYFROM },
		{ "DISPLAYTO", SORT_DISPLAYTO },
	};
	bool reverse = false;
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (imap_arg_atom_equals(a, "REVERSE")) {
			if (reverse)
				return -1;
			reverse = true;
			continue;
		}
		size_t k = 0;
		while (k < sizeof(keys) / sizeof(keys[0]) &&
		       !imap_arg_atom_equals(a, keys[k].name))
			k++;
		if (k == sizeof(keys) / sizeof(keys[0]) ||
		    sc->n_crit >= SORT_MAX_CRITERIA)
			return -1;
		sc->crit[sc->n_crit].key = keys[k].key;
		sc->crit[sc->n_crit++].reverse = reverse;
		reverse = false;
	}
	return sc->n_crit > 0 && !reverse ? 0 : -1;
}

static int cmp_num(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_key(const struct imap_sort_msg *a, const struct imap_sort_msg *b,
		   enum sort_key key)
{
	switch (key) {
	case SORT_ARRIVAL:
		return cmp_num(a->arrival, b->arrival);
	case SORT_DATE:
		return cmp_num(a->date, b->date);
	case SORT_SIZE:
		return a->size < b->size ? -1 : a->size > b->size;
	case SORT_CC:
		return strcasecmp(a->cc, b->cc);
	case SORT_FROM:
		return strcasecmp(a->from, b->from);
	case SORT_TO:
		return strcasecmp(a->to, b->to);
	case SORT_SUBJECT:
		return strcasecmp(a->subject, b->subject);
	case SORT_DISPLAYFROM:
		return strcasecmp(a->display_from, b->display_from);
	case SORT_DISPLAYTO:
		return strcasecmp(a->display_to, b->display_to);
	}
	return 0;
}

static const struct sort_ctx *sort_cmp_ctx;	/* qsort has no user data */

static int sort_cmp(const void *pa, const void *pb)
{
	const struct imap_sort_msg *a = pa, *b = pb;
	for (size_t i = 0; i < sort_cmp_ctx->n_crit; i++) {
		int c = cmp_key(a, b, sort_cmp_ctx->crit[i].key);
		if (c != 0)
			return sort_cmp_ctx->crit[i].reverse ? -c : c;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* ESORT ALL: the sorted order, runs of consecutive ascending numbers
 * written n:m. */
static void append_ordered_set(struct buf *out, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		buf_printf(out, i > 0 ? ",%u" : "%u", v[i]);
		if (j > i)
			buf_printf(out, ":%u", v[j]);
		i = j + 1;
	}
}

static void sort_ready(struct imap_cmd *cmd, struct imap_sort_job *job)
{
	const struct sort_ctx *sc = job->owner;
	sort_cmp_ctx = sc;
	if (job->n_msgs > 1)
		qsort(job->msgs, job->n_msgs, sizeof(job->msgs[0]), sort_cmp);
	uint32_t *v = xcalloc(job->n_msgs + 1, sizeof(uint32_t));
	for (size_t i = 0; i < job->n_msgs; i++)
		v[i] = job->uid_cmd ? job->msgs[i].uid : job->msgs[i].seq;
	struct buf out = BUF_INIT;
	if (!sc->esort) {
		buf_append_str(&out, "* SORT");
		for (size_t i = 0; i < job->n_msgs; i++)
			buf_printf(&out, " %u", v[i]);
	} else {
		buf_append_str(&out, "* ESEARCH (TAG ");
		imap_quote_string(&out, cmd->c.tag);
		buf_append_c(&out, ')');
		if (job->uid_cmd)
			buf_append_str(&out, " UID");
		if ((sc->ret & ESORT_MIN) && job->n_msgs > 0)
			buf_printf(&out, " MIN %u", v[0]);
		if ((sc->ret & ESORT_MAX) && job->n_msgs > 0)
			buf_printf(&out, " MAX %u", v[job->n_msgs - 1]);
		if (sc->ret & ESORT_COUNT)
			buf_printf(&out, " COUNT %zu", job->n_msgs);
		if ((sc->ret & ESORT_ALL) && job->n_msgs > 0) {
			buf_append_str(&out, " ALL ");
			append_ordered_set(&out, v, job->n_msgs);
		}
	}
	free(v);
	imap_client_send(cmd->client, "%s", out.data);
	buf_free(&out);
	cmd->sync_holds_expunges = !job->uid_cmd;
	imap_sync_reply(cmd, "OK", "Sort completed.");
}

static int parse_esort_return(struct sort_ctx *sc, const struct imap_arg *l)
{
	static const struct { const char *name; unsigned int bit; } o[] = {
		{ "MIN", ESORT_MIN }, { "MAX", ESORT_MAX },
		{ "COUNT", ESORT_COUNT }, { "ALL", ESORT_ALL },
	};
	for (size_t i = 0; i < l->list_count; i++) {
		size_t k = 0;
		while (k < sizeof(o) / sizeof(o[0]) &&
		       !imap_arg_atom_equals(&l->list[i], o[k].name))
			k++;
		if (k == sizeof(o) / sizeof(o[0]))
			return -1;
		sc->ret |= o[k].bit;
	}
	if (sc->ret == 0)
		sc->ret = ESORT_ALL;
	sc->esort = true;
	return 0;
}

/* Checks the charset argument at args[0] (SORT and THREAD require one). */
bool imap_sort_charset_ok(struct imap_cmd *cmd, const struct imap_arg *arg)
{
	if (!imap_arg_is_astring(arg)) {
		imap_cmd_bad(cmd, "Missing charset");
		return false;
	}
	/* RFC 6855 errata 4029: after ENABLE UTF8=ACCEPT only UTF-8. */
	if (cmd->client->utf8_accept && strcasecmp(arg->str, "UTF-8") != 0) {
		imap_cmd_bad(cmd, "Only CHARSET UTF-8 after ENABLE "
			     "UTF8=ACCEPT");
		return false;
	}
	if (strcasecmp(arg->str, "UTF-8") != 0 &&
	    strcasecmp(arg->str, "US-ASCII") != 0) {
		imap_cmd_reply(cmd, "NO", "[BADCHARSET (US-ASCII UTF-8)] "
			       "Unsupported charset");
		return false;
	}
	return true;
}

bool imap_sort_start(struct imap_cmd *cmd, bool uid_cmd,
		     const struct imap_arg *args, size_t n_args)
{
	struct sort_ctx *sc = xcalloc(1, sizeof(*sc));
	struct imap_sort_job *job = xcalloc(1, sizeof(*job));
	job->uid_cmd = uid_cmd;
	job->ready = sort_ready;
	job->owner = sc;
	job->owner_free = free;
	if (n_args >= 2 && imap_arg_atom_equals(&args[0], "RETURN")) {
		if (args[1].type != IMAP_ARG_LIST ||
		    parse_esort_return(sc, &args[1]) < 0) {
			imap_sort_job_free(job);
			imap_cmd_bad(cmd, "Invalid RETURN option");
			return true;
		}
		args += 2;
		n_args -= 2;
	}
	if (n_args < 3 || args[0].type != IMAP_ARG_LIST ||
	    parse_criteria(sc, &args[0]) < 0) {
		imap_sort_job_free(job);
		imap_cmd_bad(cmd, "Invalid sort criteria");
		return true;
	}
	if (!imap_sort_charset_ok(cmd, &args[1])) {
		imap_sort_job_free(job);
		return true;
	}
	job->metadata_only = true;
	for (size_t i = 0; i < sc->n_crit; i++) {
		if (sc->crit[i].key != SORT_ARRIVAL &&
		    sc->crit[i].key != SORT_SIZE)
			job->metadata_only = false;
	}
	return imap_search_run(cmd, args + 2, n_args - 2, imap_sort_collect,
			       job, imap_sort_job_free);
}

bool cmd_sort(struct imap_cmd *cmd)
{
	return imap_sort_start(cmd, false, cmd->c.args, cmd->c.n_args);
}
