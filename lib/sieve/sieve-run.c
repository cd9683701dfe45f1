/* The interpreter: walks a validated tree against one message, evaluating
 * tests through the message callbacks and collecting actions. Control
 * flow (if/elsif/else, stop, include/return), the core tests and the
 * step/time budget live here; actions and extensions in their own files.
 * A run never fails the delivery: any error ends it with a single keep. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve-run.h"

#define DEFAULT_MAX_STEPS 5000000ULL
#define DEFAULT_MAX_CPU_MSECS 30000
#define DEFAULT_INCLUDE_DEPTH 10
#define DEFAULT_MAX_INCLUDES 255
#define N_STACK(a) (sizeof(a) / sizeof((a)[0]))

static void run_block(struct sieve_run *run, const struct sieve_node *cmds,
		      uint32_t n);
static bool run_test(struct sieve_run *run, const struct sieve_node *node);

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sieve_run_fail(struct sieve_run *run, const char *fmt, ...)
{
	va_list ap;

	if (run->failed)
		return;
	run->failed = true;
	buf_printf(&run->error, "line %u: ", run->line);
	va_start(ap, fmt);
	buf_vprintf(&run->error, fmt, ap);
	va_end(ap);
}

bool sieve_run_charge(struct sieve_run *run, uint64_t n)
{
	if (run->failed)
		return false;
	run->steps += n;
	if (run->steps > run->max_steps) {
		sieve_run_fail(run, "script used more than %llu instructions",
			       (unsigned long long)run->max_steps);
		return false;
	}
	/* The clock is read every 4096 steps: cheap, and still bounds
	 * the wall time of a run to sieve_max_cpu_time. */
	if ((run->steps & 0xfff) < n && now_ms() > run->deadline_ms) {
		sieve_run_fail(run, "script ran longer than sieve_max_cpu_time");
		return false;
	}
	return true;
}

bool sieve_run_has_ext(const struct sieve_run *run, unsigned int ext)
{
	return (run->script->ext_mask & (1u << ext)) != 0;
}

size_t sieve_run_expand_list(struct sieve_run *run,
			     const struct sieve_arg *arg, char ***items_r)
{
	char **items;

	if (arg == NULL) {
		*items_r = NULL;
		return 0;
	}
	items = sieve_arena_calloc(run->arena, arg->n_strs, sizeof(char *));
	for (uint32_t i = 0; i < arg->n_strs; i++)
		items[i] = (char *)sieve_run_expand(run, arg->strs[i]);
	*items_r = items;
	return arg->n_strs;
}

/* ---- tests ---- */

/* Values of the named headers, narrowed by :index/:last (RFC 5260). */
size_t sieve_run_header_values(struct sieve_run *run,
			    const struct sieve_node *node,
			    const struct sieve_arg *names,
			    const char ***values_r)
{
	const struct sieve_arg *idx = sieve_node_tag(node, TAG_INDEX);
	const char **all = NULL;
	size_t n = 0;
	char **hn;
	size_t nh = sieve_run_expand_list(run, names, &hn);

	for (size_t i = 0; i < nh; i++) {
		const char *const *v;
		size_t nv;

		sieve_run_header(run, hn[i], &v, &nv);
		if (nv == 0)
			continue;
		all = xreallocarray(all, n + nv, sizeof(*all));
		memcpy(all + n, v, nv * sizeof(*v));
		n += nv;
	}
	if (idx != NULL) {
		uint64_t k = idx->num;

		if (k == 0 || k > n) {
			n = 0;
		} else {
			bool last = (node->tagmask & (1ULL << TAG_LAST)) != 0;

			all[0] = all[last ? n - k : k - 1];
			n = 1;
		}
	}
	*values_r = sieve_arena_calloc(run->arena, n, sizeof(char *));
	if (n > 0)
		memcpy(*values_r, all, n * sizeof(char *));
	free(all);
	return n;
}

static bool test_address(struct sieve_run *run, const struct sieve_node *node)
{
	const char **hv, **vals = NULL;
	size_t nh = sieve_run_header_values(run, node, node->pos[0], &hv), nv = 0;
	char **keys;
	size_t nk = sieve_run_expand_list(run, node->pos[1], &keys);
	bool ok;

	for (size_t i = 0; i < nh; i++) {
		char **addrs;
		size_t na = sieve_address_parse_list(run->arena, hv[i],
						     &addrs);

		if (!sieve_run_charge(run, na + 1))
			break;
		vals = xreallocarray(vals, nv + na + 1, sizeof(*vals));
		for (size_t a = 0; a < na; a++) {
			const char *p = sieve_address_part(run->arena,
				addrs[a], node->addrpart,
				run->env->recipient_delimiter);
			if (p != NULL)
				vals[nv++] = p;
		}
	}
	ok = sieve_match_values(run, node, vals, nv, keys, nk);
	free(vals);
	return ok;
}

static const char *envelope_addr(struct sieve_run *run, const char *raw)
{
	size_t len;

	if (raw == NULL)
		return NULL;
	/* Strip the SMTP angle brackets if the caller left them. */
	len = strlen(raw);
	if (len >= 2 && raw[0] == '<' && raw[len - 1] == '>')
		return sieve_arena_strndup(run->arena, raw + 1, len - 2);
	return raw;
}

static bool test_envelope(struct sieve_run *run,
			  const struct sieve_node *node)
{
	char **parts, **keys;
	size_t np = sieve_run_expand_list(run, node->pos[0], &parts);
	size_t nk = sieve_run_expand_list(run, node->pos[1], &keys);
	const char **vals = sieve_arena_calloc(run->arena, np + 1,
					       sizeof(char *));
	size_t nv = 0;

	for (size_t i = 0; i < np; i++) {
		const char *addr = run->ops->envelope == NULL ? NULL :
			envelope_addr(run, run->ops->envelope(run->msg_ctx,
				strcasecmp(parts[i], "from") == 0 ? "from" :
				strcasecmp(parts[i], "to") == 0 ? "to" :
				"auth"));
		const char *p;

		if (addr == NULL)
			continue;
		if (*addr == '\0') {
			/* The null sender <> only matches "" as a whole. */
			if (node->addrpart == AP_ALL)
				vals[nv++] = addr;
			continue;
		}
		p = sieve_address_part(run->arena, addr, node->addrpart,
				       run->env->recipient_delimiter);
		if (p != NULL)
			vals[nv++] = p;
	}
	return sieve_match_values(run, node, vals, nv, keys, nk);
}

static bool test_exists(struct sieve_run *run, const struct sieve_node *node)
{
	char **names;
	size_t n = sieve_run_expand_list(run, node->pos[0], &names);

	for (size_t i = 0; i < n; i++) {
		const char *const *v;
		size_t nv;

		sieve_run_header(run, names[i], &v, &nv);
		if (nv == 0)
			return false;
	}
	return true;
}

static bool test_header(struct sieve_run *run, const struct sieve_node *node)
{
	const char **vals;
	size_t nv = sieve_run_header_values(run, node, node->pos[0], &vals);
	char **keys;
	size_t nk = sieve_run_expand_list(run, node->pos[1], &keys);

	return sieve_match_values(run, node, vals, nv, keys, nk);
}

static bool test_body(struct sieve_run *run, const struct sieve_node *node)
{
	enum sieve_body_transform tr = SIEVE_BODY_TEXT;
	const struct sieve_arg *ct = sieve_node_tag(node, TAG_CONTENT);
	char **types = NULL, **keys;
	size_t nt = 0, nk = sieve_run_expand_list(run, node->pos[0], &keys);
	const char *const *parts = NULL;
	size_t np = 0;

	if (node->tagmask & (1ULL << TAG_RAW))
		tr = SIEVE_BODY_RAW;
	if (ct != NULL) {
		tr = SIEVE_BODY_CONTENT;
		nt = sieve_run_expand_list(run, ct, &types);
	}
	if (run->ops->body != NULL)
		run->ops->body(run->msg_ctx, tr, (const char *const *)types,
			       nt, &parts, &np);
	for (size_t i = 0; i < np; i++) {
		if (!sieve_run_charge(run, strlen(parts[i]) / 64 + 1))
			return false;
	}
	return sieve_match_values(run, node, parts, np, keys, nk);
}

static bool test_string(struct sieve_run *run, const struct sieve_node *node)
{
	char **src, **keys;
	size_t ns = sieve_run_expand_list(run, node->pos[0], &src);
	size_t nk = sieve_run_expand_list(run, node->pos[1], &keys);

	if (node->match == MATCH_COUNT) {
		/* RFC 5229 5: empty strings are not counted. */
		size_t kept = 0;

		for (size_t i = 0; i < ns; i++) {
			if (src[i][0] != '\0')
				src[kept++] = src[i];
		}
		ns = kept;
	}
	return sieve_match_values(run, node, (const char *const *)src, ns,
				  keys, nk);
}

static bool test_mailboxexists(struct sieve_run *run,
			       const struct sieve_node *node)
{
	char **names;
	size_t n = sieve_run_expand_list(run, node->pos[0], &names);

	for (size_t i = 0; i < n; i++) {
		if (run->env->mailbox_exists == NULL ||
		    !run->env->mailbox_exists(run->env->mailbox_ctx,
					      names[i]))
			return false;
	}
	return true;
}

static bool run_test(struct sieve_run *run, const struct sieve_node *node)
{
	if (!sieve_run_charge(run, 1))
		return false;
	switch (node->op) {
	case OP_TRUE:
		return true;
	case OP_FALSE:
		return false;
	case OP_NOT:
		return !run_test(run, &node->tests[0]) && !run->failed;
	case OP_ALLOF:
		for (uint32_t i = 0; i < node->n_tests; i++) {
			if (!run_test(run, &node->tests[i]))
				return false;
		}
		return true;
	case OP_ANYOF:
		for (uint32_t i = 0; i < node->n_tests; i++) {
			if (run_test(run, &node->tests[i]))
				return true;
		}
		return false;
	case OP_ADDRESS:
		return test_address(run, node);
	case OP_ENVELOPE:
		return test_envelope(run, node);
	case OP_EXISTS:
		return test_exists(run, node);
	case OP_HEADER:
		return test_header(run, node);
	case OP_SIZE: {
		uint64_t size = run->ops->size != NULL ?
				run->ops->size(run->msg_ctx) : 0;

		return (node->tagmask & (1ULL << TAG_OVER)) ?
		       size > node->pos[0]->num : size < node->pos[0]->num;
	}
	case OP_BODY:
		return test_body(run, node);
	case OP_HASFLAG: {
		char **keys;
		size_t nk = sieve_run_expand_list(run, node->pos[1], &keys);

		return sieve_flags_test(run, node, keys, nk);
	}
	case OP_STRING:
		return test_string(run, node);
	case OP_MAILBOXEXISTS:
		return test_mailboxexists(run, node);
	case OP_DATE:
	case OP_CURRENTDATE:
		return sieve_test_date(run, node);
	case OP_DUPLICATE:
		return sieve_test_duplicate(run, node);
	case OP_SPAMTEST:
	case OP_VIRUSTEST:
		return sieve_test_spamtest(run, node);
	default:
		sieve_run_fail(run, "'%s' is not a test",
			       sieve_cmds[node->op].name);
		return false;
	}
}

/* ---- commands ---- */

static bool script_in(const struct sieve_script *const *list, size_t n,
		      const struct sieve_script *s)
{
	for (size_t i = 0; i < n; i++) {
		if (list[i] == s)
			return true;
	}
	return false;
}

static void script_add(const struct sieve_script ***list, size_t *n,
		       const struct sieve_script *s)
{
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = s;
}

/* sieve_include_max_includes: a script not included before this run
 * counts once, however often it runs. */
static bool include_count_ok(struct sieve_run *run,
			     const struct sieve_script *inc, const char *name)
{
	unsigned int max = run->env->max_includes != 0 ?
		run->env->max_includes : DEFAULT_MAX_INCLUDES;

	if (script_in(run->included, run->n_included, inc))
		return true;
	if (run->n_included >= max) {
		sieve_run_fail(run, "including '%s' exceeds the limit of %u "
			       "included scripts", name, max);
		return false;
	}
	script_add(&run->included, &run->n_included, inc);
	return true;
}

/* The name is taken as written: RFC 6609 3.2 makes it a constant, and the
 * validator refuses one with a variable in it. */
static void run_include(struct sieve_run *run, const struct sieve_node *node)
{
	const char *name = node->pos[0]->strs[0];
	bool global = (node->tagmask & (1ULL << TAG_GLOBAL)) != 0;
	bool once = (node->tagmask & (1ULL << TAG_ONCE)) != 0;
	bool optional = (node->tagmask & (1ULL << TAG_OPTIONAL)) != 0;
	unsigned int max_depth = run->env->max_include_depth != 0 ?
		run->env->max_include_depth : DEFAULT_INCLUDE_DEPTH;
	const struct sieve_script *inc, *saved;
	struct sieve_var_scope scope;

	/* before resolving: a caller that fetches scripts ahead stops at
	 * this depth, so one nested deeper is not "not found" */
	if (run->include_depth >= max_depth ||
	    run->include_depth >= N_STACK(run->include_stack)) {
		sieve_run_fail(run, "includes nested deeper than %u",
			       max_depth);
		return;
	}
	inc = run->env->include == NULL ? NULL :
	      run->env->include(run->env->include_ctx, global, name);
	if (inc == NULL) {
		if (!optional)
			sieve_run_fail(run, "included script '%s' not found",
				       name);
		return;
	}
	if (once && script_in(run->included_once, run->n_included_once, inc))
		return;
	if (inc == run->script ||
	    script_in(run->include_stack, run->include_depth, inc)) {
		sieve_run_fail(run, "include loop through '%s'", name);
		return;
	}
	if (!include_count_ok(run, inc, name))
		return;
	if (once)
		script_add(&run->included_once, &run->n_included_once, inc);
	run->include_stack[run->include_depth++] = run->script;
	saved = run->script;
	run->script = inc;
	sieve_vars_enter(run, &scope);
	run_block(run, inc->cmds, inc->n_cmds);
	sieve_vars_leave(run, &scope);
	run->script = saved;
	run->include_depth--;
	run->returned = false;
}

static void run_command(struct sieve_run *run, const struct sieve_node *node)
{
	struct sieve_action *act;

	run->line = node->line;
	switch (node->op) {
	case OP_REQUIRE:
		break;
	case OP_GLOBAL:
		sieve_cmd_global(run, node);
		break;
	case OP_STOP:
		run->stopped = true;
		break;
	case OP_RETURN:
		run->returned = true;
		break;
	case OP_KEEP:
		act = sieve_action_add(run, SIEVE_ACT_KEEP);
		if (act != NULL)
			sieve_flags_current(run, node, &act->flags,
					    &act->n_flags);
		break;
	case OP_DISCARD:
		sieve_action_add(run, SIEVE_ACT_DISCARD);
		break;
	case OP_FILEINTO:
		act = sieve_action_add(run, SIEVE_ACT_FILEINTO);
		if (act == NULL)
			break;
		act->mailbox = sieve_run_expand(run, node->pos[0]->strs[0]);
		act->create = (node->tagmask & (1ULL << TAG_CREATE)) != 0;
		act->copy = (node->tagmask & (1ULL << TAG_COPY)) != 0;
		sieve_flags_current(run, node, &act->flags, &act->n_flags);
		break;
	case OP_REDIRECT:
		act = sieve_action_add(run, SIEVE_ACT_REDIRECT);
		if (act == NULL)
			break;
		act->address = sieve_run_expand(run, node->pos[0]->strs[0]);
		act->copy = (node->tagmask & (1ULL << TAG_COPY)) != 0;
		break;
	case OP_REJECT:
	case OP_EREJECT:
		act = sieve_action_add(run, node->op == OP_REJECT ?
				       SIEVE_ACT_REJECT : SIEVE_ACT_EREJECT);
		if (act != NULL)
			act->reason = sieve_run_expand(run,
						node->pos[0]->strs[0]);
		break;
	case OP_SETFLAG:
	case OP_ADDFLAG:
	case OP_REMOVEFLAG:
		sieve_flags_apply(run, node);
		break;
	case OP_SET:
		sieve_cmd_set(run, node);
		break;
	case OP_VACATION:
		sieve_cmd_vacation(run, node);
		break;
	case OP_INCLUDE:
		run_include(run, node);
		break;
	case OP_ADDHEADER:
		sieve_cmd_addheader(run, node);
		break;
	case OP_DELETEHEADER:
		sieve_cmd_deleteheader(run, node);
		break;
	default:
		sieve_run_fail(run, "'%s' is not a command",
			       sieve_cmds[node->op].name);
		break;
	}
}

static void run_block(struct sieve_run *run, const struct sieve_node *cmds,
		      uint32_t n)
{
	bool chain_done = false;

	for (uint32_t i = 0; i < n; i++) {
		const struct sieve_node *node = &cmds[i];
		bool take;

		if (run->failed || run->stopped || run->returned)
			return;
		if (!sieve_run_charge(run, 1))
			return;
		run->line = node->line;
		switch (node->op) {
		case OP_IF:
			chain_done = false;
			/* fall through */
		case OP_ELSIF:
			if (chain_done)
				break;
			take = run_test(run, &node->tests[0]);
			if (run->failed)
				return;
			if (take) {
				chain_done = true;
				run_block(run, node->block, node->n_block);
			}
			break;
		case OP_ELSE:
			if (!chain_done)
				run_block(run, node->block, node->n_block);
			chain_done = true;
			break;
		default:
			run_command(run, node);
			break;
		}
	}
}


void sieve_script_run(const struct sieve_script *script,
		      const struct sieve_message_ops *msg, void *msg_ctx,
		      const struct sieve_env *env,
		      struct sieve_result **result_r)
{
	struct sieve_result *result = xcalloc(1, sizeof(*result));
	struct sieve_run run;

	memset(&run, 0, sizeof(run));
	result->priv = xcalloc(1, sizeof(*result->priv));
	result->priv->arena = sieve_arena_new();
	run.arena = result->priv->arena;
	run.ops = msg;
	run.msg_ctx = msg_ctx;
	run.env = env;
	run.script = script;
	run.implicit_keep = true;
	run.now = msg->now != NULL ? msg->now(msg_ctx) : time(NULL);
	run.max_steps = env->max_steps != 0 ? env->max_steps :
			DEFAULT_MAX_STEPS;
	run.deadline_ms = now_ms() + (env->max_cpu_msecs != 0 ?
				      env->max_cpu_msecs :
				      DEFAULT_MAX_CPU_MSECS);
	buf_init(&run.error, 1024);

	run_block(&run, script->cmds, script->n_cmds);
	sieve_result_finish(&run, result);

	buf_free(&run.error);
	sieve_vars_free(&run);
	sieve_edits_free(&run);
	free(run.actions);
	free(run.flags);
	free(run.included_once);
	free(run.included);
	free(run.marks);
	*result_r = result;
}

void sieve_result_free(struct sieve_result **result)
{
	if (*result == NULL)
		return;
	sieve_arena_free(&(*result)->priv->arena);
	free((*result)->priv);
	free(*result);
	*result = NULL;
}
