/* Sieve grammar (RFC 5228 section 8.2) into a tree of nodes owned by the
 * script's arena. Names are resolved against the tables here, so the tree
 * holds ids, never names. Bounded: nesting depth, number of commands,
 * arguments per command and items per string list; the first error stops
 * the parse (later errors would only be noise). */
#include <stdlib.h>
#include <string.h>

#include "sieve-private.h"

struct parser {
	struct sieve_lexer *lex;
	struct sieve_arena *arena;
	struct sieve_errors *errs;
	unsigned int depth;
	unsigned int n_nodes;
};

static int parse_commands(struct parser *ps, bool top,
			  struct sieve_node **cmds_r, uint32_t *n_r);
static int parse_test(struct parser *ps, struct sieve_node *node);

static int perr(struct parser *ps, const char *fmt, const char *arg)
{
	if (ps->lex->type != TOK_ERROR)
		sieve_error(ps->errs, ps->lex->tline, ps->lex->tcol, fmt, arg);
	return -1;
}

static const char *tok_desc(const struct sieve_lexer *lex)
{
	switch (lex->type) {
	case TOK_EOF: return "end of script";
	case TOK_IDENT: return "identifier";
	case TOK_TAG: return "tag";
	case TOK_NUM: return "number";
	case TOK_STR: return "string";
	case TOK_LBRACKET: return "'['";
	case TOK_RBRACKET: return "']'";
	case TOK_LPAREN: return "'('";
	case TOK_RPAREN: return "')'";
	case TOK_LBRACE: return "'{'";
	case TOK_RBRACE: return "'}'";
	case TOK_COMMA: return "','";
	case TOK_SEMI: return "';'";
	case TOK_ERROR: return "error";
	}
	return "?";
}

static char *take_text(struct parser *ps)
{
	return sieve_arena_strndup(ps->arena, ps->lex->text.data,
				   ps->lex->text.len);
}

static int parse_string_list(struct parser *ps, struct sieve_arg *arg)
{
	char **items = NULL;
	size_t n = 0, cap = 0;

	sieve_lexer_next(ps->lex);	/* '[' */
	for (;;) {
		if (ps->lex->type != TOK_STR) {
			free(items);
			return perr(ps, "expected a string in the list, "
				    "found %s", tok_desc(ps->lex));
		}
		if (n == SIEVE_MAX_LIST_ITEMS) {
			free(items);
			return perr(ps, "string list has too many items%s",
				    "");
		}
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			items = xreallocarray(items, cap, sizeof(*items));
		}
		items[n++] = take_text(ps);
		sieve_lexer_next(ps->lex);
		if (ps->lex->type == TOK_RBRACKET)
			break;
		if (ps->lex->type != TOK_COMMA) {
			free(items);
			return perr(ps, "expected ',' or ']' in the list, "
				    "found %s", tok_desc(ps->lex));
		}
		sieve_lexer_next(ps->lex);
	}
	sieve_lexer_next(ps->lex);
	arg->kind = ARG_STRLIST;
	arg->n_strs = (uint32_t)n;
	arg->strs = sieve_arena_calloc(ps->arena, n, sizeof(char *));
	memcpy(arg->strs, items, n * sizeof(char *));
	free(items);
	return 0;
}

static int parse_argument(struct parser *ps, struct sieve_arg *arg)
{
	struct sieve_lexer *lex = ps->lex;

	memset(arg, 0, sizeof(*arg));
	arg->line = lex->tline;
	arg->col = lex->tcol;
	switch (lex->type) {
	case TOK_NUM:
		arg->kind = ARG_NUM;
		arg->num = lex->num;
		break;
	case TOK_STR:
		arg->kind = ARG_STR;
		arg->n_strs = 1;
		arg->strs = sieve_arena_alloc(ps->arena, sizeof(char *));
		arg->strs[0] = take_text(ps);
		break;
	case TOK_TAG: {
		int tag = sieve_tag_lookup(lex->text.data);

		if (tag < 0)
			return perr(ps, "unknown tagged argument ':%s'",
				    lex->text.data);
		arg->kind = ARG_TAG;
		arg->tag = (uint8_t)tag;
		break;
	}
	case TOK_LBRACKET:
		return parse_string_list(ps, arg);
	default:
		return -1;	/* not an argument */
	}
	sieve_lexer_next(lex);
	return 0;
}

static int enter(struct parser *ps)
{
	if (++ps->depth > SIEVE_MAX_NESTING)
		return perr(ps, "blocks and tests are nested too deeply "
			    "(more than %s levels)", "32");
	if (++ps->n_nodes > SIEVE_MAX_COMMANDS)
		return perr(ps, "script has too many commands%s", "");
	return 0;
}

/* arguments = *argument [ test / test-list ] */
static int parse_arguments(struct parser *ps, struct sieve_node *node)
{
	struct sieve_lexer *lex = ps->lex;
	struct sieve_arg args[SIEVE_MAX_ARGS];
	uint32_t n = 0;

	while (lex->type == TOK_NUM || lex->type == TOK_STR ||
	       lex->type == TOK_TAG || lex->type == TOK_LBRACKET) {
		if (n == SIEVE_MAX_ARGS)
			return perr(ps, "too many arguments%s", "");
		if (parse_argument(ps, &args[n]) < 0)
			return -1;
		n++;
	}
	node->n_args = n;
	node->args = sieve_arena_calloc(ps->arena, n, sizeof(*args));
	memcpy(node->args, args, n * sizeof(*args));

	if (lex->type == TOK_IDENT) {
		node->n_tests = 1;
		node->tests = sieve_arena_calloc(ps->arena, 1,
						 sizeof(struct sieve_node));
		return parse_test(ps, node->tests);
	}
	if (lex->type == TOK_LPAREN) {
		struct sieve_node *tests = NULL;
		size_t nt = 0, cap = 0;

		sieve_lexer_next(lex);
		for (;;) {
			if (nt == cap) {
				cap = cap == 0 ? 4 : cap * 2;
				tests = xreallocarray(tests, cap,
						      sizeof(*tests));
			}
			memset(&tests[nt], 0, sizeof(tests[nt]));
			if (lex->type != TOK_IDENT) {
				free(tests);
				return perr(ps, "expected a test, found %s",
					    tok_desc(lex));
			}
			if (parse_test(ps, &tests[nt]) < 0) {
				free(tests);
				return -1;
			}
			nt++;
			if (lex->type == TOK_RPAREN)
				break;
			if (lex->type != TOK_COMMA) {
				free(tests);
				return perr(ps, "expected ',' or ')' in the "
					    "test list, found %s",
					    tok_desc(lex));
			}
			sieve_lexer_next(lex);
		}
		sieve_lexer_next(lex);
		node->n_tests = (uint32_t)nt;
		node->tests = sieve_arena_calloc(ps->arena, nt,
						 sizeof(*tests));
		memcpy(node->tests, tests, nt * sizeof(*tests));
		free(tests);
	}
	return 0;
}

static int parse_test(struct parser *ps, struct sieve_node *node)
{
	struct sieve_lexer *lex = ps->lex;
	int op;

	if (enter(ps) < 0)
		return -1;
	node->line = lex->tline;
	node->col = lex->tcol;
	op = sieve_cmd_lookup(lex->text.data, true);
	if (op < 0)
		return perr(ps, "unknown test '%s'", lex->text.data);
	node->op = (uint16_t)op;
	sieve_lexer_next(lex);
	if (parse_arguments(ps, node) < 0)
		return -1;
	ps->depth--;
	return 0;
}

static int parse_command(struct parser *ps, struct sieve_node *node)
{
	struct sieve_lexer *lex = ps->lex;
	int op;

	if (enter(ps) < 0)
		return -1;
	node->line = lex->tline;
	node->col = lex->tcol;
	op = sieve_cmd_lookup(lex->text.data, false);
	if (op < 0)
		return perr(ps, "unknown command '%s'", lex->text.data);
	node->op = (uint16_t)op;
	sieve_lexer_next(lex);
	if (parse_arguments(ps, node) < 0)
		return -1;
	if (lex->type == TOK_SEMI) {
		sieve_lexer_next(lex);
	} else if (lex->type == TOK_LBRACE) {
		sieve_lexer_next(lex);
		node->has_block = true;
		if (parse_commands(ps, false, &node->block,
				   &node->n_block) < 0)
			return -1;
		if (lex->type != TOK_RBRACE)
			return perr(ps, "expected '}', found %s",
				    tok_desc(lex));
		sieve_lexer_next(lex);
	} else {
		return perr(ps, "expected ';' or '{' after the command, "
			    "found %s", tok_desc(lex));
	}
	ps->depth--;
	return 0;
}

static int parse_commands(struct parser *ps, bool top,
			  struct sieve_node **cmds_r, uint32_t *n_r)
{
	struct sieve_node *cmds = NULL;
	size_t n = 0, cap = 0;

	while (ps->lex->type == TOK_IDENT) {
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			cmds = xreallocarray(cmds, cap, sizeof(*cmds));
		}
		memset(&cmds[n], 0, sizeof(cmds[n]));
		if (parse_command(ps, &cmds[n]) < 0) {
			free(cmds);
			return -1;
		}
		n++;
	}
	if (top && ps->lex->type != TOK_EOF) {
		free(cmds);
		return perr(ps, "expected a command, found %s",
			    tok_desc(ps->lex));
	}
	*n_r = (uint32_t)n;
	*cmds_r = sieve_arena_calloc(ps->arena, n, sizeof(*cmds));
	if (n > 0)
		memcpy(*cmds_r, cmds, n * sizeof(*cmds));
	free(cmds);
	return 0;
}

int sieve_parse(struct sieve_lexer *lex, struct sieve_script *script,
		struct sieve_errors *errs)
{
	struct parser ps = {
		.lex = lex, .arena = script->arena, .errs = errs,
	};

	sieve_lexer_next(lex);
	if (lex->type == TOK_ERROR)
		return -1;
	return parse_commands(&ps, true, &script->cmds, &script->n_cmds);
}
