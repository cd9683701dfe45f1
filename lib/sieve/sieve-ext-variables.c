/* The variables extension (RFC 5229): "${name}" and "${N}" expansion in
 * strings at run time, the set command with its modifiers, and the match
 * variables filled by :matches/:regex. Values are bounded
 * (SIEVE_MAX_VARIABLE_SIZE, as Pigeonhole's sieve_variables_max_variable_size)
 * and so is their number. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve-run.h"

static struct sieve_var *var_find(struct sieve_run *run, const char *name)
{
	for (size_t i = 0; i < run->n_vars; i++) {
		if (strcasecmp(run->vars[i].name, name) == 0)
			return &run->vars[i];
	}
	return NULL;
}

void sieve_var_set(struct sieve_run *run, const char *name,
		   const char *value)
{
	struct sieve_var *v = var_find(run, name);
	size_t len = strlen(value);

	if (v == NULL) {
		if (run->n_vars >= SIEVE_MAX_VARIABLES) {
			sieve_run_fail(run, "too many variables");
			return;
		}
		run->vars = xreallocarray(run->vars, run->n_vars + 1,
					  sizeof(*run->vars));
		v = &run->vars[run->n_vars++];
		v->name = xstrdup(name);
		buf_init(&v->value, 0);
	}
	buf_reset(&v->value);
	/* Too long values are cut, as RFC 5229 section 3 allows. */
	if (len > SIEVE_MAX_VARIABLE_SIZE)
		len = SIEVE_MAX_VARIABLE_SIZE;
	buf_append(&v->value, value, len);
}

const char *sieve_var_get(struct sieve_run *run, const char *name)
{
	struct sieve_var *v = var_find(run, name);

	return v == NULL || v->value.data == NULL ? "" : v->value.data;
}

void sieve_vars_free(struct sieve_run *run)
{
	for (size_t i = 0; i < run->n_vars; i++) {
		free(run->vars[i].name);
		buf_free(&run->vars[i].value);
	}
	free(run->vars);
	run->vars = NULL;
	run->n_vars = 0;
}

void sieve_run_commit_captures(struct sieve_run *run)
{
	if (run->n_cap == 0)
		return;
	for (unsigned int i = 0; i < SIEVE_MATCH_VARS; i++)
		run->match_vars[i] = i < run->n_cap ? run->cap[i] : NULL;
	run->n_match_vars = run->n_cap;
	run->n_cap = 0;
}

const char *sieve_run_expand(struct sieve_run *run, const char *s)
{
	struct buf out;
	const char *p = s;
	char *ret;

	if (!sieve_run_has_ext(run, EXT_VARIABLES) || strstr(s, "${") == NULL)
		return s;
	buf_init(&out, SIEVE_MAX_STRING_SIZE);
	while (*p != '\0') {
		const char *end, *name = p + 2;
		size_t len;

		if (p[0] != '$' || p[1] != '{' ||
		    (end = strchr(name, '}')) == NULL) {
			(void)buf_append_c(&out, *p++);
			continue;
		}
		len = (size_t)(end - name);
		if (len > 0 && len <= 64 && isdigit((unsigned char)*name) &&
		    strspn(name, "0123456789") == len) {
			unsigned int idx = (unsigned int)atoi(name);
			const char *v = idx < SIEVE_MATCH_VARS &&
					run->match_vars[idx] != NULL ?
					run->match_vars[idx] : "";

			(void)buf_append_str(&out, v);
			p = end + 1;
			continue;
		}
		if (len > 0 && len <= 64 &&
		    (isalpha((unsigned char)*name) || *name == '_') &&
		    strspn(name, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == len) {
			char key[65];

			memcpy(key, name, len);
			key[len] = '\0';
			(void)buf_append_str(&out, sieve_var_get(run, key));
			p = end + 1;
			continue;
		}
		/* Not a variable reference: kept as written. */
		(void)buf_append_c(&out, *p++);
	}
	(void)sieve_run_charge(run, out.len / 256 + 1);
	ret = sieve_arena_strndup(run->arena, out.data != NULL ? out.data : "",
				  out.len);
	buf_free(&out);
	return ret;
}

static char *quote_chars(const char *s, const char *special)
{
	struct buf b;

	buf_init(&b, 0);
	for (; *s != '\0'; s++) {
		if (strchr(special, *s) != NULL)
			buf_append_c(&b, '\\');
		buf_append_c(&b, *s);
	}
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b);
}

void sieve_cmd_set(struct sieve_run *run, const struct sieve_node *node)
{
	uint64_t m = node->tagmask;
	char *v = xstrdup(sieve_run_expand(run, node->pos[1]->strs[0]));
	char *q;

	/* Modifiers apply highest precedence first (RFC 5229 4.1). */
	if (m & ((1ULL << TAG_LOWER) | (1ULL << TAG_UPPER))) {
		for (char *c = v; *c != '\0'; c++)
			*c = (char)((m & (1ULL << TAG_LOWER)) ?
				    tolower((unsigned char)*c) :
				    toupper((unsigned char)*c));
	}
	if ((m & (1ULL << TAG_LOWERFIRST)) && *v != '\0')
		*v = (char)tolower((unsigned char)*v);
	if ((m & (1ULL << TAG_UPPERFIRST)) && *v != '\0')
		*v = (char)toupper((unsigned char)*v);
	if (m & (1ULL << TAG_QUOTEWILDCARD)) {
		q = quote_chars(v, "*?\\");
		free(v);
		v = q;
	}
	if (m & (1ULL << TAG_QUOTEREGEX)) {
		q = quote_chars(v, "\\^$.[]|()?*+{}");
		free(v);
		v = q;
	}
	if (m & (1ULL << TAG_LENGTH)) {
		/* Length in characters, not bytes. */
		size_t chars = 0;

		for (const char *c = v; *c != '\0'; c++)
			chars += ((unsigned char)*c & 0xc0) != 0x80;
		free(v);
		v = xasprintf("%zu", chars);
	}
	sieve_var_set(run, node->pos[0]->strs[0], v);
	free(v);
}
