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

static bool var_is_global(const struct sieve_run *run, const char *name)
{
	for (size_t i = 0; i < run->n_global_names; i++) {
		if (strcasecmp(run->global_names[i], name) == 0)
			return true;
	}
	return false;
}

static struct sieve_var *var_find(struct sieve_run *run, const char *name,
				  struct sieve_var ***store_r, size_t **n_r)
{
	bool global = var_is_global(run, name);
	struct sieve_var *vars = global ? run->globals : run->vars;
	size_t n = global ? run->n_globals : run->n_vars;

	if (store_r != NULL) {
		*store_r = global ? &run->globals : &run->vars;
		*n_r = global ? &run->n_globals : &run->n_vars;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(vars[i].name, name) == 0)
			return &vars[i];
	}
	return NULL;
}

void sieve_var_set(struct sieve_run *run, const char *name,
		   const char *value)
{
	struct sieve_var **store;
	size_t *n;
	struct sieve_var *v = var_find(run, name, &store, &n);
	size_t len = strlen(value);

	if (v == NULL) {
		if (*n >= SIEVE_MAX_VARIABLES) {
			sieve_run_fail(run, "too many variables");
			return;
		}
		*store = xreallocarray(*store, *n + 1, sizeof(**store));
		v = &(*store)[(*n)++];
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
	struct sieve_var *v = var_find(run, name, NULL, NULL);

	return v == NULL || v->value.data == NULL ? "" : v->value.data;
}

static void vars_free(struct sieve_var **vars, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free((*vars)[i].name);
		buf_free(&(*vars)[i].value);
	}
	free(*vars);
	*vars = NULL;
	*n = 0;
}

static void global_names_free(struct sieve_run *run)
{
	for (size_t i = 0; i < run->n_global_names; i++)
		free(run->global_names[i]);
	free(run->global_names);
	run->global_names = NULL;
	run->n_global_names = 0;
}

void sieve_vars_free(struct sieve_run *run)
{
	vars_free(&run->vars, &run->n_vars);
	vars_free(&run->globals, &run->n_globals);
	global_names_free(run);
}

void sieve_cmd_global(struct sieve_run *run, const struct sieve_node *node)
{
	const struct sieve_arg *names = node->pos[0];

	for (uint32_t i = 0; i < names->n_strs; i++) {
		if (var_is_global(run, names->strs[i]))
			continue;
		if (run->n_global_names >= SIEVE_MAX_VARIABLES) {
			sieve_run_fail(run, "too many global variables");
			return;
		}
		run->global_names = xreallocarray(run->global_names,
			run->n_global_names + 1, sizeof(*run->global_names));
		run->global_names[run->n_global_names++] =
			xstrdup(names->strs[i]);
	}
}

void sieve_vars_enter(struct sieve_run *run, struct sieve_var_scope *saved)
{
	saved->vars = run->vars;
	saved->n_vars = run->n_vars;
	saved->global_names = run->global_names;
	saved->n_global_names = run->n_global_names;
	run->vars = NULL;
	run->n_vars = 0;
	run->global_names = NULL;
	run->n_global_names = 0;
}

void sieve_vars_leave(struct sieve_run *run,
		      const struct sieve_var_scope *saved)
{
	vars_free(&run->vars, &run->n_vars);
	global_names_free(run);
	run->vars = saved->vars;
	run->n_vars = saved->n_vars;
	run->global_names = saved->global_names;
	run->n_global_names = saved->n_global_names;
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
