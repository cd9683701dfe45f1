/* ManageSieve (RFC 5804) command reader: one command = words on a line,
 * where a word is an atom, a "quoted string" or a literal {n+}/{n}
 * followed by n octets. Pure and bounded: the line (without literal
 * data) by max_line, each literal by max_literal. Fuzzed by
 * tests/fuzz/fuzz-managesieve-parser.c. */
#ifndef MANAGESIEVE_PARSER_H
#define MANAGESIEVE_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#define MS_MAX_ARGS 8

enum ms_arg_type { MS_ARG_ATOM, MS_ARG_STRING };

struct ms_arg {
	enum ms_arg_type type;
	char *str;	/* malloc'd, NUL-terminated */
	size_t len;	/* may contain NULs (literals) */
};

struct ms_command {
	char *name;	/* upper-cased atom */
	struct ms_arg args[MS_MAX_ARGS];
	unsigned int n_args;
};

enum ms_parse_result {
	MS_PARSE_NEED_MORE = 0,
	MS_PARSE_OK = 1,
	MS_PARSE_ERROR = -1,	/* bad command: *consumed_r skips it */
	MS_PARSE_TOO_LONG = -2,	/* line or literal over its bound: close */
};

/* Parses one command from data[0..len). On OK fills cmd (free with
 * ms_command_free) and *consumed_r; on ERROR sets *error_r (static) and
 * *consumed_r past the bad line; NEED_MORE consumes nothing. */
enum ms_parse_result ms_parse_command(const char *data, size_t len,
				      size_t max_line, size_t max_literal,
				      struct ms_command *cmd,
				      size_t *consumed_r,
				      const char **error_r);
/* Parses one line of arguments without a command name, as a SASL
 * continuation response is sent (RFC 5804 2.1: a quoted string or a
 * literal): cmd->name is "" and cmd->args hold what was sent; an empty
 * line is OK with no arguments. Literals are bounded by max_line. */
enum ms_parse_result ms_parse_response(const char *data, size_t len,
				       size_t max_line, struct ms_command *cmd,
				       size_t *consumed_r,
				       const char **error_r);
void ms_command_free(struct ms_command *cmd);

#endif
