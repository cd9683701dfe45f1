/* The action list of a run: adding actions as commands execute, the
 * imap4flags internal variable (RFC 5232), and the final pass that
 * removes duplicates, enforces sieve_max_actions / sieve_max_redirects,
 * refuses conflicting actions (reject with keep/fileinto/redirect or
 * vacation, RFC 5429 section 2.1) and decides the implicit keep. A failed
 * run's result is exactly one implicit keep. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve-run.h"

#define DEFAULT_MAX_ACTIONS 32
#define DEFAULT_MAX_REDIRECTS 4
#define REDIRECT_TRACK_SECS (24 * 3600)

const char *sieve_action_name(enum sieve_action_type type)
{
	switch (type) {
	case SIEVE_ACT_KEEP: return "keep";
	case SIEVE_ACT_FILEINTO: return "fileinto";
	case SIEVE_ACT_REDIRECT: return "redirect";
	case SIEVE_ACT_DISCARD: return "discard";
	case SIEVE_ACT_REJECT: return "reject";
	case SIEVE_ACT_EREJECT: return "ereject";
	case SIEVE_ACT_VACATION: return "vacation";
	case SIEVE_ACT_ADDHEADER: return "addheader";
	case SIEVE_ACT_DELETEHEADER: return "deleteheader";
	}
	return "?";
}

struct sieve_action *sieve_action_add(struct sieve_run *run,
				      enum sieve_action_type type)
{
	struct sieve_action *act;
	unsigned int max = run->env->max_actions != 0 ?
			   run->env->max_actions : DEFAULT_MAX_ACTIONS;

	if (run->failed)
		return NULL;
	/* Header edits and discard are not deliveries; the rest count. */
	if (type != SIEVE_ACT_ADDHEADER && type != SIEVE_ACT_DELETEHEADER &&
	    type != SIEVE_ACT_DISCARD && ++run->n_counted > max) {
		sieve_run_fail(run, "too many actions (sieve_max_actions = %u)",
			       max);
		return NULL;
	}
	if (run->n_actions == run->cap_actions) {
		run->cap_actions = run->cap_actions == 0 ? 8 :
				   run->cap_actions * 2;
		run->actions = xreallocarray(run->actions, run->cap_actions,
					     sizeof(*run->actions));
	}
	act = &run->actions[run->n_actions++];
	memset(act, 0, sizeof(*act));
	act->type = type;
	act->line = run->line;
	return act;
}

void sieve_run_mark(struct sieve_run *run, const char *key, time_t expires)
{
	if (run->n_marks == run->cap_marks) {
		run->cap_marks = run->cap_marks == 0 ? 4 : run->cap_marks * 2;
		run->marks = xreallocarray(run->marks, run->cap_marks,
					   sizeof(*run->marks));
	}
	run->marks[run->n_marks].key = sieve_arena_strdup(run->arena, key);
	run->marks[run->n_marks++].expires = expires;
}

/* ---- imap4flags ---- */

static bool flag_in(char **flags, size_t n, const char *flag)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(flags[i], flag) == 0)
			return true;
	}
	return false;
}

/* Splits space-separated flag strings into unique flags (arena). */
static size_t flags_split(struct sieve_run *run, char **items, size_t n,
			  char ***out_r)
{
	char **out = NULL;
	size_t nout = 0;

	for (size_t i = 0; i < n; i++) {
		const char *p = items[i];

		while (*p != '\0') {
			size_t len;
			char *f;

			while (*p == ' ')
				p++;
			len = strcspn(p, " ");
			if (len == 0)
				break;
			f = sieve_arena_strndup(run->arena, p, len);
			p += len;
			if (flag_in(out, nout, f))
				continue;
			out = xreallocarray(out, nout + 1, sizeof(*out));
			out[nout++] = f;
		}
	}
	*out_r = out;
	return nout;
}

static const char *flags_join(struct sieve_run *run, char **flags, size_t n)
{
	struct buf b;
	const char *s;

	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_append_c(&b, ' ');
		buf_append_str(&b, flags[i]);
	}
	s = sieve_arena_strndup(run->arena, b.data != NULL ? b.data : "",
				b.len);
	buf_free(&b);
	return s;
}

/* Current flags of the named variable, or the internal variable. */
static size_t flags_get(struct sieve_run *run, const char *var,
			char ***flags_r)
{
	char *v;

	if (var == NULL) {
		char **copy = NULL;

		if (run->n_flags > 0) {
			copy = xreallocarray(NULL, run->n_flags,
					     sizeof(char *));
			memcpy(copy, run->flags, run->n_flags * sizeof(char *));
		}
		*flags_r = copy;
		return run->n_flags;
	}
	v = (char *)sieve_var_get(run, var);
	return flags_split(run, &v, 1, flags_r);
}

static void flags_put(struct sieve_run *run, const char *var, char **flags,
		      size_t n)
{
	if (var == NULL) {
		free(run->flags);
		run->flags = flags;
		run->n_flags = n;
		return;
	}
	sieve_var_set(run, var, flags_join(run, flags, n));
	free(flags);
}

void sieve_flags_apply(struct sieve_run *run, const struct sieve_node *node)
{
	char **items, **given, **cur;
	size_t ni = sieve_run_expand_list(run, node->pos[1], &items);
	size_t ng = flags_split(run, items, ni, &given);
	const char *var = node->pos[0] != NULL ?
			  sieve_run_expand(run, node->pos[0]->strs[0]) : NULL;
	size_t nc;

	if (node->op == OP_SETFLAG) {
		flags_put(run, var, given, ng);
		return;
	}
	nc = flags_get(run, var, &cur);
	for (size_t i = 0; i < ng; i++) {
		if (node->op == OP_ADDFLAG) {
			if (!flag_in(cur, nc, given[i])) {
				cur = xreallocarray(cur, nc + 1, sizeof(*cur));
				cur[nc++] = given[i];
			}
		} else {
			size_t k = 0;

			for (size_t j = 0; j < nc; j++) {
				if (strcasecmp(cur[j], given[i]) != 0)
					cur[k++] = cur[j];
			}
			nc = k;
		}
	}
	free(given);
	flags_put(run, var, cur, nc);
}

bool sieve_flags_test(struct sieve_run *run, const struct sieve_node *node,
		      char **keys, size_t n_keys)
{
	char **vars, **all = NULL;
	size_t nv = 0, n = 0;
	bool ok;

	if (node->pos[0] != NULL)
		nv = sieve_run_expand_list(run, node->pos[0], &vars);
	for (size_t i = 0; i < (nv == 0 ? 1 : nv); i++) {
		char **f;
		size_t nf = flags_get(run, nv == 0 ? NULL : vars[i], &f);

		all = xreallocarray(all, n + nf + 1, sizeof(*all));
		if (nf > 0)
			memcpy(all + n, f, nf * sizeof(*f));
		n += nf;
		free(f);
	}
	ok = sieve_match_values(run, node, (const char *const *)all, n, keys,
				n_keys);
	free(all);
	return ok;
}

void sieve_flags_current(struct sieve_run *run, const struct sieve_node *n,
			 const char *const **flags_r, size_t *n_r)
{
	const struct sieve_arg *tag = sieve_node_tag(n, TAG_FLAGS);
	char **flags, **out;
	size_t nf;

	if (tag != NULL) {
		char **items;
		size_t ni = sieve_run_expand_list(run, tag, &items);

		nf = flags_split(run, items, ni, &flags);
	} else {
		nf = flags_get(run, NULL, &flags);
	}
	out = sieve_arena_calloc(run->arena, nf, sizeof(char *));
	if (nf > 0)
		memcpy(out, flags, nf * sizeof(char *));
	free(flags);
	*flags_r = (const char *const *)out;
	*n_r = nf;
}

/* ---- the final pass ---- */

static bool same_mailbox(const char *a, const char *b)
{
	if (strcasecmp(a, "INBOX") == 0 && strcasecmp(b, "INBOX") == 0)
		return true;
	return strcmp(a, b) == 0;
}

static const char *message_id(struct sieve_run *run)
{
	const char *const *v;
	size_t n;

	run->ops->header(run->msg_ctx, "message-id", &v, &n);
	return n > 0 ? v[0] : NULL;
}

static void finalize(struct sieve_run *run, struct sieve_action **out_r,
		     size_t *n_r)
{
	unsigned int max_redirects = run->env->max_redirects != 0 ?
		run->env->max_redirects : DEFAULT_MAX_REDIRECTS;
	struct sieve_action *out = sieve_arena_calloc(run->arena,
		run->n_actions + 1, sizeof(*out));
	size_t n = 0, n_edits = 0;
	bool keep = false, reject = false, deliver = false, vacation = false;
	bool implicit = true, discard = false;

	/* Header edits first: they change the message every delivery
	 * action stores. */
	for (size_t i = 0; i < run->n_actions; i++) {
		if (run->actions[i].type == SIEVE_ACT_ADDHEADER ||
		    run->actions[i].type == SIEVE_ACT_DELETEHEADER)
			out[n++] = run->actions[i];
	}
	n_edits = n;
	for (size_t i = 0; i < run->n_actions && !run->failed; i++) {
		struct sieve_action *a = &run->actions[i];
		bool dup = false;

		run->line = a->line;
		switch (a->type) {
		case SIEVE_ACT_KEEP:
			for (size_t j = n_edits; j < n; j++)
				dup |= out[j].type == SIEVE_ACT_KEEP ||
				       (out[j].type == SIEVE_ACT_FILEINTO &&
					same_mailbox(out[j].mailbox, "INBOX"));
			keep = deliver = true;
			implicit = false;
			break;
		case SIEVE_ACT_FILEINTO:
			for (size_t j = n_edits; j < n; j++)
				dup |= (out[j].type == SIEVE_ACT_FILEINTO &&
					same_mailbox(out[j].mailbox,
						     a->mailbox)) ||
				       (out[j].type == SIEVE_ACT_KEEP &&
					same_mailbox(a->mailbox, "INBOX"));
			deliver = true;
			if (!a->copy)
				implicit = false;
			break;
		case SIEVE_ACT_REDIRECT: {
			const char *mid = message_id(run);

			if (!sieve_address_valid(a->address)) {
				sieve_run_fail(run, "invalid redirect address "
					       "'%.100s'", a->address);
				break;
			}
			for (size_t j = n_edits; j < n; j++)
				dup |= out[j].type == SIEVE_ACT_REDIRECT &&
				       strcasecmp(out[j].address,
						  a->address) == 0;
			deliver = true;
			if (!a->copy)
				implicit = false;
			if (dup)
				break;
			if (++run->n_redirects > max_redirects) {
				sieve_run_fail(run, "too many redirects "
					       "(sieve_max_redirects = %u)",
					       max_redirects);
				break;
			}
			/* The same message redirected to the same address
			 * before: a loop or a retry; do it only once. */
			if (mid != NULL) {
				char *key = xasprintf("redirect/%s/%s", mid,
						      a->address);

				if (run->env->tracking != NULL &&
				    run->env->tracking->seen(
					    run->env->tracking_ctx, key,
					    run->now))
					dup = true;
				else
					sieve_run_mark(run, key, run->now +
						       REDIRECT_TRACK_SECS);
				free(key);
			}
			break;
		}
		case SIEVE_ACT_REJECT:
		case SIEVE_ACT_EREJECT:
			if (reject) {
				sieve_run_fail(run, "more than one reject");
				break;
			}
			reject = true;
			implicit = false;
			break;
		case SIEVE_ACT_DISCARD:
			discard = true;
			implicit = false;
			dup = true;	/* added below if nothing else */
			break;
		case SIEVE_ACT_VACATION:
			if (vacation) {
				sieve_run_fail(run, "more than one vacation");
				break;
			}
			vacation = true;
			break;
		default:
			dup = true;	/* header edits, already copied */
			break;
		}
		if (!dup && !run->failed)
			out[n++] = *a;
	}
	if (!run->failed && reject && (deliver || vacation))
		sieve_run_fail(run, "reject cannot be combined with %s",
			       vacation ? "vacation" :
			       "keep, fileinto or redirect");
	(void)keep;
	if (!run->failed && implicit && run->implicit_keep) {
		struct sieve_action *k = &out[n++];

		memset(k, 0, sizeof(*k));
		k->type = SIEVE_ACT_KEEP;
		k->implicit = true;
		sieve_flags_current(run, &(struct sieve_node){ 0 },
				    &k->flags, &k->n_flags);
	} else if (!run->failed && discard && !deliver && !reject) {
		struct sieve_action *d = &out[n++];

		memset(d, 0, sizeof(*d));
		d->type = SIEVE_ACT_DISCARD;
	}
	*out_r = out;
	*n_r = n;
}

void sieve_result_finish(struct sieve_run *run, struct sieve_result *result)
{
	struct sieve_action *out = NULL;
	size_t n = 0;

	if (!run->failed)
		finalize(run, &out, &n);
	result->steps = run->steps;
	if (run->failed) {
		result->status = SIEVE_EXEC_FAILED;
		result->error = sieve_arena_strndup(run->arena,
						    run->error.data,
						    run->error.len);
		out = sieve_arena_calloc(run->arena, 1, sizeof(*out));
		out->type = SIEVE_ACT_KEEP;
		out->implicit = true;
		n = 1;
		run->n_marks = 0;
	}
	result->actions = out;
	result->n_actions = n;
	if (run->n_marks > 0) {
		result->priv->marks = sieve_arena_calloc(run->arena,
			run->n_marks, sizeof(struct sieve_mark));
		memcpy(result->priv->marks, run->marks,
		       run->n_marks * sizeof(struct sieve_mark));
		result->priv->n_marks = run->n_marks;
	}
}

void sieve_result_commit_tracking(const struct sieve_result *result,
				  const struct sieve_env *env, time_t now)
{
	(void)now;
	if (env->tracking == NULL || result->status != SIEVE_EXEC_OK)
		return;
	for (size_t i = 0; i < result->priv->n_marks; i++)
		env->tracking->mark(env->tracking_ctx,
				    result->priv->marks[i].key,
				    result->priv->marks[i].expires);
}
