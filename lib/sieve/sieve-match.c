/* Comparators (RFC 4790: i;octet, i;ascii-casemap, i;ascii-numeric) and
 * match types (:is :contains :matches :regex, relational :value :count).
 * Every comparison is charged to the run's step budget, so a pathological
 * :matches pattern against a 1 MB value ends the run instead of the
 * delivery. :regex uses PCRE2 with bounded work per match (see
 * REGEX_MATCH_LIMIT) and back-references refused at compile time. */
#include <ctype.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sieve-run.h"

#define REGEX_MAX_PATTERN 1024
#define REGEX_MAX_REPEAT 100
#define REGEX_MAX_BRACES 3

/* i;ascii-casemap folds ASCII letters only (RFC 4790), so no locale
 * lookup: this runs once per byte of every value a test compares. */
static inline int fold(enum sieve_cmp cmp, unsigned char c)
{
	return cmp == CMP_CASEMAP && c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c;
}

/* i;ascii-numeric: the leading digits as a number, no digits = +inf. */
static int numeric_compare(const char *a, const char *b)
{
	size_t la, lb;

	if (!isdigit((unsigned char)*a))
		return isdigit((unsigned char)*b) ? 1 : 0;
	if (!isdigit((unsigned char)*b))
		return -1;
	while (*a == '0' && isdigit((unsigned char)a[1]))
		a++;
	while (*b == '0' && isdigit((unsigned char)b[1]))
		b++;
	for (la = 0; isdigit((unsigned char)a[la]); la++)
		;
	for (lb = 0; isdigit((unsigned char)b[lb]); lb++)
		;
	if (la != lb)
		return la < lb ? -1 : 1;
	for (size_t i = 0; i < la; i++) {
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	}
	return 0;
}

int sieve_cmp_compare(enum sieve_cmp cmp, const char *a, const char *b)
{
	if (cmp == CMP_NUMERIC)
		return numeric_compare(a, b);
	for (;; a++, b++) {
		int ca = fold(cmp, (unsigned char)*a);
		int cb = fold(cmp, (unsigned char)*b);

		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (ca == 0)
			return 0;
	}
}

bool sieve_rel_holds(enum sieve_rel rel, int c)
{
	switch (rel) {
	case REL_GT: return c > 0;
	case REL_GE: return c >= 0;
	case REL_LT: return c < 0;
	case REL_LE: return c <= 0;
	case REL_EQ: return c == 0;
	case REL_NE: return c != 0;
	}
	return false;
}

static bool contains(struct sieve_run *run, enum sieve_cmp cmp,
		     const char *value, const char *key)
{
	size_t n = strlen(value), m = strlen(key);

	if (m == 0)
		return true;
	if (m > n)
		return false;
	if (!sieve_run_charge(run, (n - m + 1) * (m < 64 ? m : 64) / 16 + 1))
		return false;
	if (cmp != CMP_CASEMAP)
		return memmem(value, n, key, m) != NULL;
	int first = fold(cmp, (unsigned char)key[0]);
	for (size_t i = 0; i + m <= n; i++) {
		size_t j = 1;

		if (fold(cmp, (unsigned char)value[i]) != first)
			continue;
		while (j < m && fold(cmp, (unsigned char)value[i + j]) ==
				fold(cmp, (unsigned char)key[j]))
			j++;
		if (j == m)
			return true;
	}
	return false;
}

/* A pattern token: literal byte, '?' or '*'. */
struct glob_tok {
	char kind;	/* 'l', '?', '*' */
	unsigned char c;
};

bool sieve_match_glob(struct sieve_run *run, enum sieve_cmp cmp,
		      const char *value, const char *pattern, bool capture)
{
	size_t m = strlen(pattern), n = strlen(value), nt = 0;
	struct glob_tok *tok = xcalloc(m + 1, sizeof(*tok));
	size_t *pos = xcalloc(m + 2, sizeof(*pos));
	size_t i = 0, j = 0, star_j = SIZE_MAX, star_i = 0;
	uint64_t since_charge = 0;
	bool ok = false;

	for (size_t k = 0; k < m; k++) {
		if (pattern[k] == '\\' && k + 1 < m) {
			tok[nt].kind = 'l';
			tok[nt++].c = (unsigned char)pattern[++k];
		} else if (pattern[k] == '*' || pattern[k] == '?') {
			tok[nt++].kind = pattern[k];
		} else {
			tok[nt].kind = 'l';
			tok[nt++].c = (unsigned char)pattern[k];
		}
	}
	/* Two cursors with backtracking to the last '*' only: O(n * m)
	 * steps at worst, and every earlier '*' keeps its shortest match
	 * (RFC 5229: wildcards match as little as possible). */
	while (i < n) {
		if (++since_charge == 1024) {
			since_charge = 0;
			if (!sieve_run_charge(run, 1024))
				goto out;
		}
		if (j < nt && tok[j].kind == '*') {
			pos[j] = i;
			star_j = j++;
			star_i = i;
		} else if (j < nt && (tok[j].kind == '?' ||
				      fold(cmp, tok[j].c) ==
				      fold(cmp, (unsigned char)value[i]))) {
			pos[j++] = i++;
		} else if (star_j != SIZE_MAX) {
			j = star_j + 1;
			i = ++star_i;
		} else {
			goto out;
		}
	}
	while (j < nt && tok[j].kind == '*')
		pos[j++] = n;
	ok = j == nt;
	if (ok && capture) {
		unsigned int c = 0;

		run->cap[c++] = sieve_arena_strdup(run->arena, value);
		for (size_t t = 0; t < nt && c < SIEVE_MATCH_VARS; t++) {
			size_t end;

			if (tok[t].kind == 'l')
				continue;
			end = tok[t].kind == '?' ? pos[t] + 1 :
			      t + 1 < nt ? pos[t + 1] : n;
			run->cap[c++] = sieve_arena_strndup(run->arena,
				value + pos[t], end - pos[t]);
		}
		run->n_cap = c;
	}
out:
	free(tok);
	free(pos);
	return ok;
}

/* The work one regex match may do before the run stops (PCRE2 counts
 * its backtracking steps, its recursion depth and its heap): a pattern
 * that backtracks catastrophically on a long value fails the run in a
 * few milliseconds and the message is kept. glibc's regexec cannot be
 * bounded (measured: "(a|b|ab)*c" on 20 kB of 'a' took 3 s, on 200 kB
 * more than a minute), which is why :regex does not use it. */
#define REGEX_MATCH_LIMIT 200000
#define REGEX_DEPTH_LIMIT 5000
#define REGEX_HEAP_LIMIT_KB 16384

static pcre2_code *regex_compile(const char *pattern, bool casemap)
{
	int err;
	PCRE2_SIZE off;

	/* Bytes, not UTF-8: header values may hold anything, and i;octet /
	 * i;ascii-casemap compare bytes. */
	return pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
			     casemap ? PCRE2_CASELESS : 0, &err, &off, NULL);
}

const char *sieve_regex_check(const char *pattern)
{
	size_t len = strlen(pattern);
	unsigned int braces = 0;
	pcre2_code *re;

	if (len > REGEX_MAX_PATTERN)
		return "pattern is too long";
	for (size_t i = 0; i < len; i++) {
		if (pattern[i] == '\\' && i + 1 < len) {
			if (pattern[i + 1] >= '1' && pattern[i + 1] <= '9')
				return "back-references are not allowed";
			i++;
		} else if (pattern[i] == '{') {
			if (++braces > REGEX_MAX_BRACES)
				return "too many counted repetitions";
			if (atoi(pattern + i + 1) > REGEX_MAX_REPEAT)
				return "repetition count is too large";
			for (size_t k = i + 1; k < len && pattern[k] != '}'; k++)
				if (pattern[k] == ',' &&
				    atoi(pattern + k + 1) > REGEX_MAX_REPEAT)
					return "repetition count is too "
					       "large";
		}
	}
	re = regex_compile(pattern, false);
	if (re == NULL)
		return "syntax error";
	pcre2_code_free(re);
	return NULL;
}

static void regex_captures(struct sieve_run *run, const char *value,
			   pcre2_match_data *md, int rc)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

	run->n_cap = 0;
	for (unsigned int i = 0; i < SIEVE_MATCH_VARS; i++) {
		if ((int)i >= rc || ov[2 * i] == PCRE2_UNSET) {
			run->cap[i] = sieve_arena_strdup(run->arena, "");
		} else {
			run->cap[i] = sieve_arena_strndup(run->arena,
				value + ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
		}
		run->n_cap = i + 1;
	}
}

bool sieve_match_regex(struct sieve_run *run, enum sieve_cmp cmp,
		       const char *value, const char *pattern, bool capture)
{
	pcre2_match_context *mctx;
	pcre2_match_data *md;
	pcre2_code *re;
	int rc;

	/* A pattern built from variables at run time gets the same
	 * checks a constant one got at compile time. */
	if (sieve_regex_check(pattern) != NULL) {
		sieve_run_fail(run, "invalid regular expression '%.64s'",
			       pattern);
		return false;
	}
	if (!sieve_run_charge(run, 64 + strlen(value) / 8))
		return false;
	re = regex_compile(pattern, cmp == CMP_CASEMAP);
	if (re == NULL)
		return false;
	mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(mctx, REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(mctx, REGEX_DEPTH_LIMIT);
	pcre2_set_heap_limit(mctx, REGEX_HEAP_LIMIT_KB);
	md = pcre2_match_data_create(SIEVE_MATCH_VARS, NULL);
	rc = pcre2_match(re, (PCRE2_SPTR)value, strlen(value), 0, 0, md,
			 mctx);
	if (rc == 0)
		rc = SIEVE_MATCH_VARS;	/* ovector full: all we keep */
	if (rc > 0 && capture)
		regex_captures(run, value, md, rc);
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT)
		sieve_run_fail(run, "regular expression '%.64s' needs too "
			       "much work on a %zu-byte value", pattern,
			       strlen(value));
	pcre2_match_data_free(md);
	pcre2_match_context_free(mctx);
	pcre2_code_free(re);
	return rc > 0;
}

bool sieve_match_one(struct sieve_run *run, const struct sieve_node *node,
		     const char *value, const char *key)
{
	bool capture = sieve_run_has_ext(run, EXT_VARIABLES);

	if (!sieve_run_charge(run, 1))
		return false;
	switch (node->match) {
	case MATCH_IS:
		return sieve_cmp_compare(node->cmp, value, key) == 0;
	case MATCH_CONTAINS:
		return contains(run, node->cmp, value, key);
	case MATCH_MATCHES:
		return sieve_match_glob(run, node->cmp, value, key, capture);
	case MATCH_REGEX:
		return sieve_match_regex(run, node->cmp, value, key, capture);
	case MATCH_VALUE:
		return sieve_rel_holds(node->rel,
				       sieve_cmp_compare(node->cmp, value,
							 key));
	default:
		return false;
	}
}

bool sieve_match_values(struct sieve_run *run, const struct sieve_node *node,
			const char *const *values, size_t n_values,
			char **keys, size_t n_keys)
{
	if (node->match == MATCH_COUNT) {
		char count[24];

		snprintf(count, sizeof(count), "%zu", n_values);
		for (size_t k = 0; k < n_keys; k++) {
			if (sieve_rel_holds(node->rel,
					    sieve_cmp_compare(node->cmp, count,
							      keys[k])))
				return true;
		}
		return false;
	}
	for (size_t v = 0; v < n_values && !run->failed; v++) {
		for (size_t k = 0; k < n_keys && !run->failed; k++) {
			run->n_cap = 0;
			if (sieve_match_one(run, node, values[v], keys[k])) {
				sieve_run_commit_captures(run);
				return true;
			}
		}
	}
	return false;
}
