/* duplicate (RFC 7352) and spamtest/virustest (RFC 5235). duplicate
 * checks the tracking store now and marks the id when the result is
 * committed, so a delivery that failed does not count as seen. spamtest
 * reads the configured header's number and scales it to 1..10 (or a
 * percentage with :percent); 0 means "not tested". */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve-run.h"

#define DUPLICATE_DEFAULT_SECS (7 * 24 * 3600)

bool sieve_test_duplicate(struct sieve_run *run, const struct sieve_node *n)
{
	const struct sieve_arg *a;
	const char *id = NULL, *handle = "";
	uint64_t secs = DUPLICATE_DEFAULT_SECS;
	bool seen;
	char *key;

	if ((a = sieve_node_tag(n, TAG_UNIQUEID)) != NULL) {
		id = sieve_run_expand(run, a->strs[0]);
	} else {
		const char *hname = "message-id";
		const char *const *v;
		size_t nv;

		if ((a = sieve_node_tag(n, TAG_HEADER)) != NULL)
			hname = sieve_run_expand(run, a->strs[0]);
		sieve_run_header(run, hname, &v, &nv);
		if (nv == 0)
			return false;	/* RFC 7352 3.1: no id, no dup */
		id = v[0];
	}
	if ((a = sieve_node_tag(n, TAG_HANDLE)) != NULL)
		handle = sieve_run_expand(run, a->strs[0]);
	if ((a = sieve_node_tag(n, TAG_SECONDS)) != NULL)
		secs = a->num;
	key = xasprintf("duplicate/%s/%s", handle, id);
	seen = run->env->tracking != NULL &&
	       run->env->tracking->seen(run->env->tracking_ctx, key, run->now);
	/* :last restarts the period at every occurrence; otherwise only
	 * the first occurrence starts it. */
	if (!seen || (n->tagmask & (1ULL << TAG_LAST)))
		sieve_run_mark(run, key, run->now + (time_t)secs);
	free(key);
	return seen;
}

bool sieve_test_spamtest(struct sieve_run *run, const struct sieve_node *n)
{
	bool virus = n->op == OP_VIRUSTEST;
	const char *hname = virus ? run->env->virustest_header :
				    run->env->spamtest_header;
	double max = virus ? run->env->virustest_max : run->env->spamtest_max;
	bool percent = (n->tagmask & (1ULL << TAG_PERCENT)) != 0;
	const char *const *v = NULL;
	size_t nv = 0;
	char value[16], *keys[1];
	const char *vals[1];
	double score;
	char *end;

	keys[0] = (char *)sieve_run_expand(run, n->pos[0]->strs[0]);
	snprintf(value, sizeof(value), "0");
	if (hname != NULL && *hname != '\0')
		sieve_run_header(run, hname, &v, &nv);
	if (nv > 0) {
		const char *p = v[0];

		while (*p != '\0' && !isdigit((unsigned char)*p) &&
		       *p != '-' && *p != '.')
			p++;
		score = strtod(p, &end);
		if (end != p) {
			double r;

			if (max <= 0)
				max = virus ? 5 : 10;
			r = score / max;
			if (r < 0)
				r = 0;
			if (r > 1)
				r = 1;
			/* spamtest 1..10: 1 = surely not spam; virustest
			 * 1..5 likewise (RFC 5235 sections 3.2/3.3). */
			if (percent)
				snprintf(value, sizeof(value), "%d",
					 (int)(r * 100 + 0.5));
			else
				snprintf(value, sizeof(value), "%d",
					 1 + (int)(r * (virus ? 4 : 9) + 0.5));
		}
	}
	vals[0] = value;
	return sieve_match_values(run, n, vals, 1, keys, 1);
}
