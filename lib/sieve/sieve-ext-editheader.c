/* editheader (RFC 5293): addheader/deleteheader change the header as the
 * rest of the script sees it (a per-name overlay over the message
 * callbacks) and are reported as actions for the delivery side to apply.
 * Received and Auto-Submitted are never deleted (loop detection and RFC
 * 3834 depend on them). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve-run.h"

static bool is_protected(const char *name)
{
	return strcasecmp(name, "received") == 0 ||
	       strcasecmp(name, "auto-submitted") == 0;
}

static struct sieve_header_edit *edit_find(struct sieve_run *run,
					   const char *name)
{
	for (size_t i = 0; i < run->n_edits; i++) {
		if (strcasecmp(run->edits[i].name, name) == 0)
			return &run->edits[i];
	}
	return NULL;
}

void sieve_run_header(struct sieve_run *run, const char *name,
		      const char *const **values_r, size_t *n_r)
{
	struct sieve_header_edit *e = edit_find(run, name);

	if (e != NULL) {
		*values_r = (const char *const *)e->values;
		*n_r = e->n;
		return;
	}
	*values_r = NULL;
	*n_r = 0;
	if (run->ops->header != NULL)
		run->ops->header(run->msg_ctx, name, values_r, n_r);
}

static struct sieve_header_edit *edit_get(struct sieve_run *run,
					  const char *name)
{
	struct sieve_header_edit *e = edit_find(run, name);
	const char *const *v;
	size_t n;

	if (e != NULL)
		return e;
	sieve_run_header(run, name, &v, &n);
	run->edits = xreallocarray(run->edits, run->n_edits + 1,
				   sizeof(*run->edits));
	e = &run->edits[run->n_edits++];
	e->name = sieve_arena_strdup(run->arena, name);
	e->n = e->cap = n;
	e->values = xreallocarray(NULL, n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		e->values[i] = (char *)v[i];
	return e;
}

void sieve_edits_free(struct sieve_run *run)
{
	for (size_t i = 0; i < run->n_edits; i++)
		free(run->edits[i].values);
	free(run->edits);
	run->edits = NULL;
	run->n_edits = 0;
}

void sieve_cmd_addheader(struct sieve_run *run, const struct sieve_node *n)
{
	const char *name = sieve_run_expand(run, n->pos[0]->strs[0]);
	const char *value = sieve_run_expand(run, n->pos[1]->strs[0]);
	bool last = (n->tagmask & (1ULL << TAG_LAST)) != 0;
	struct sieve_header_edit *e;
	struct sieve_action *act;

	if (strpbrk(name, ": \t\r\n") != NULL || *name == '\0') {
		sieve_run_fail(run, "addheader: invalid header name");
		return;
	}
	if (strlen(value) > 998 || strpbrk(value, "\r\n") != NULL) {
		sieve_run_fail(run, "addheader: invalid header value");
		return;
	}
	e = edit_get(run, name);
	e->values = xreallocarray(e->values, e->n + 1, sizeof(char *));
	if (last) {
		e->values[e->n] = (char *)value;
	} else {
		memmove(e->values + 1, e->values, e->n * sizeof(char *));
		e->values[0] = (char *)value;
	}
	e->n++;
	act = sieve_action_add(run, SIEVE_ACT_ADDHEADER);
	if (act != NULL) {
		act->header_name = name;
		act->header_value = value;
		act->last = last;
	}
}

void sieve_cmd_deleteheader(struct sieve_run *run,
			    const struct sieve_node *n)
{
	const char *name = sieve_run_expand(run, n->pos[0]->strs[0]);
	const struct sieve_arg *idx = sieve_node_tag(n, TAG_INDEX);
	bool last = (n->tagmask & (1ULL << TAG_LAST)) != 0;
	struct sieve_header_edit *e;
	char **keys = NULL;
	size_t nk = 0, kept = 0, total;

	if (is_protected(name))
		return;
	if (n->pos[1] != NULL)
		nk = sieve_run_expand_list(run, n->pos[1], &keys);
	e = edit_get(run, name);
	total = e->n;
	for (size_t i = 0; i < total; i++) {
		const char *v = e->values[i];
		size_t pos1 = last ? total - i : i + 1;
		bool del = true;

		if (idx != NULL && pos1 != idx->num)
			del = false;
		if (del && n->pos[1] != NULL) {
			del = false;
			for (size_t k = 0; k < nk && !del; k++)
				del = sieve_match_one(run, n, v, keys[k]);
		}
		if (del) {
			struct sieve_action *act =
				sieve_action_add(run, SIEVE_ACT_DELETEHEADER);

			if (act != NULL) {
				act->header_name = e->name;
				act->header_value = v;
			}
			continue;
		}
		e->values[kept++] = e->values[i];
	}
	e->n = kept;
}
