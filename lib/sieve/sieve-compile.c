/* sieve_script_compile(): source text to a validated tree, the form that
 * sieve-binary.c serialises and sieve-run.c interprets. */
#include <stdlib.h>
#include <string.h>

#include "sieve-private.h"

int sieve_script_compile(const char *source, size_t len, size_t max_size,
			 struct sieve_script **script_r, char **error_r)
{
	struct sieve_errors errs;
	struct sieve_lexer lex;
	struct sieve_script *script;
	int ret;

	*script_r = NULL;
	*error_r = NULL;
	if (max_size == 0)
		max_size = SIEVE_MAX_SCRIPT_SIZE;
	if (len > max_size) {
		*error_r = xasprintf("line 1, column 1: script is too large "
				     "(%zu bytes, at most %zu)\n", len,
				     max_size);
		return -1;
	}
	buf_init(&errs.text, 0);
	errs.count = 0;
	script = xcalloc(1, sizeof(*script));
	script->arena = sieve_arena_new();
	sieve_lexer_init(&lex, source, len, &errs);
	ret = sieve_parse(&lex, script, &errs);
	sieve_lexer_deinit(&lex);
	if (ret == 0)
		ret = sieve_validate(script, &errs);
	if (ret < 0 || errs.count > 0) {
		if (errs.text.len == 0)
			buf_append_str(&errs.text, "line 1, column 1: "
				       "invalid script\n");
		*error_r = buf_steal(&errs.text);
		sieve_script_free(&script);
		return -1;
	}
	buf_free(&errs.text);
	*script_r = script;
	return 0;
}

void sieve_script_free(struct sieve_script **script)
{
	if (*script == NULL)
		return;
	sieve_arena_free(&(*script)->arena);
	free(*script);
	*script = NULL;
}

static void includes_in(const struct sieve_node *nodes, uint32_t n,
			sieve_include_ref_fn *fn, void *ctx)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct sieve_node *node = &nodes[i];

		if (node->op == OP_INCLUDE && node->n_pos > 0)
			fn(ctx, (node->tagmask & (1ULL << TAG_GLOBAL)) != 0,
			   node->pos[0]->strs[0]);
		/* blocks nest at most SIEVE_MAX_NESTING deep */
		includes_in(node->block, node->n_block, fn, ctx);
	}
}

void sieve_script_includes(const struct sieve_script *script,
			   sieve_include_ref_fn *fn, void *ctx)
{
	includes_in(script->cmds, script->n_cmds, fn, ctx);
}

static void include_refs_in(const struct sieve_node *nodes, uint32_t n,
			    sieve_include_ref_full_fn *fn, void *ctx)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct sieve_node *node = &nodes[i];

		if (node->op == OP_INCLUDE && node->n_pos > 0) {
			const struct sieve_include_ref ref = {
				.name = node->pos[0]->strs[0],
				.line = node->line,
				.global = (node->tagmask &
					   (1ULL << TAG_GLOBAL)) != 0,
				.optional = (node->tagmask &
					     (1ULL << TAG_OPTIONAL)) != 0,
			};
			fn(ctx, &ref);
		}
		include_refs_in(node->block, node->n_block, fn, ctx);
	}
}

void sieve_script_include_refs(const struct sieve_script *script,
			       sieve_include_ref_full_fn *fn, void *ctx)
{
	include_refs_in(script->cmds, script->n_cmds, fn, ctx);
}
