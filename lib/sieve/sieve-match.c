/* Comparators (RFC 4790: i;octet, i;ascii-casemap, i;ascii-numeric) and
 * match types (:is :contains :matches :regex, relational :value :count).
 * Every comparison is charged to the run's step budget, so a pathological
 * :matches pattern against a 1 MB value ends the run instead of the
 * delivery. :regex uses POSIX regex.h with back-references refused at
 * compile time (they are the source of exponential backtracking). */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sieve-run.h"

#define REGEX_MAX_PATTERN 1024
#define REGEX_MAX_REPEAT 100
#define REGEX_MAX_BRACES 3

static int fold(enum sieve_cmp cmp, unsigned char c)
{
	return cmp == CMP_CASEMAP ? toupper(c) : c;
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
	for (size_t i = 0; i + m <= n; i++) {
		size_t j = 0;

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

const char *sieve_regex_check(const char *pattern)
{
	size_t len = strlen(pattern);
	unsigned int braces = 0;
	regex_t re;
	int ret;

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
	ret = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
	if (ret != 0)
		return "syntax error";
	regfree(&re);
	return NULL;
}

bool sieve_match_regex(struct sieve_run *run, enum sieve_cmp cmp,
		       const char *value, const char *pattern, bool capture)
{
	regmatch_t m[SIEVE_MATCH_VARS];
	regex_t re;
	bool ok;

	/* A pattern built from variables at run time gets the same
	 * checks a constant one got at compile time. */
	if (sieve_regex_check(pattern) != NULL) {
		sieve_run_fail(run, "invalid regular expression '%.64s'",
			       pattern);
		return false;
	}
	if (!sieve_run_charge(run, 64 + strlen(value) / 8))
		return false;
	if (regcomp(&re, pattern, REG_EXTENDED |
		    (cmp == CMP_CASEMAP ? REG_ICASE : 0) |
		    (capture ? 0 : REG_NOSUB)) != 0)
		return false;
	ok = regexec(&re, value, capture ? SIEVE_MATCH_VARS : 0,
		     capture ? m : NULL, 0) == 0;
	if (ok && capture) {
		run->n_cap = 0;
		for (unsigned int i = 0; i < SIEVE_MATCH_VARS; i++) {
			if (m[i].rm_so < 0) {
				run->cap[i] = sieve_arena_strdup(run->arena,
								 "");
			} else {
				run->cap[i] = sieve_arena_strndup(run->arena,
					value + m[i].rm_so,
					(size_t)(m[i].rm_eo - m[i].rm_so));
			}
			run->n_cap = i + 1;
		}
	}
	regfree(&re);
	return ok;
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
