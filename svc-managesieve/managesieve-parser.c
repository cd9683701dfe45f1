/* ManageSieve command reader; see managesieve-parser.h. Literal data is
 * not counted against the line bound (a 1 MB script is one literal), but
 * everything else is, and a literal's announced size is checked before
 * any byte of it is waited for. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "managesieve-parser.h"

void ms_command_free(struct ms_command *cmd)
{
	free(cmd->name);
	for (unsigned int i = 0; i < cmd->n_args; i++) {
		free(cmd->args[i].str);
	}
	memset(cmd, 0, sizeof(*cmd));
}

/* Where the line that starts at `from` ends (index of '\n'), or len. */
static size_t line_end(const char *data, size_t len, size_t from)
{
	const char *nl = memchr(data + from, '\n', len - from);

	return nl != NULL ? (size_t)(nl - data) : len;
}

static enum ms_parse_result fail(const char *data, size_t len, size_t pos,
				 const char *msg, size_t *consumed_r,
				 const char **error_r)
{
	size_t end = line_end(data, len, pos);

	if (end == len)
		return MS_PARSE_NEED_MORE;	/* skip once the line is in */
	*error_r = msg;
	*consumed_r = end + 1;
	return MS_PARSE_ERROR;
}

/* A command line, or with `nameless` a line of arguments only (a SASL
 * response): then cmd->name is "" from the start. */
static enum ms_parse_result parse_line(const char *data, size_t len,
				       size_t max_line, size_t max_literal,
				       bool nameless, struct ms_command *cmd,
				       size_t *consumed_r,
				       const char **error_r)
{
	size_t pos = 0, line_bytes = 0;
	enum ms_parse_result ret;

	memset(cmd, 0, sizeof(*cmd));
	*consumed_r = 0;
	*error_r = NULL;
	for (;;) {
		if (nameless && cmd->name == NULL)
			cmd->name = xstrdup("");
		struct ms_arg *arg;
		size_t start;

		while (pos < len && data[pos] == ' ')
			pos++;
		line_bytes = pos;	/* approximate; literals excluded below */
		if (pos >= len) {
			ret = MS_PARSE_NEED_MORE;
			goto check_long;
		}
		if (data[pos] == '\r' || data[pos] == '\n') {
			if (data[pos] == '\r') {
				if (pos + 1 >= len) {
					ret = MS_PARSE_NEED_MORE;
					goto check_long;
				}
				if (data[pos + 1] != '\n') {
					ms_command_free(cmd);
					return fail(data, len, pos,
						    "Stray CR in command",
						    consumed_r, error_r);
				}
				pos++;
			}
			if (cmd->name == NULL) {
				/* empty line */
				*consumed_r = pos + 1;
				*error_r = "Empty command";
				return MS_PARSE_ERROR;
			}
			*consumed_r = pos + 1;
			return MS_PARSE_OK;
		}
		if (cmd->name != NULL && cmd->n_args == MS_MAX_ARGS) {
			ms_command_free(cmd);
			return fail(data, len, pos, "Too many arguments",
				    consumed_r, error_r);
		}
		arg = cmd->name == NULL ? NULL : &cmd->args[cmd->n_args];
		start = pos;
		if (data[pos] == '"') {
			struct buf s;

			if (arg == NULL) {
				ms_command_free(cmd);
				return fail(data, len, pos, "Expected a command",
					    consumed_r, error_r);
			}
			buf_init(&s, max_line);
			pos++;
			while (pos < len && data[pos] != '"') {
				if (data[pos] == '\\' && pos + 1 < len)
					pos++;
				if (data[pos] == '\r' || data[pos] == '\n' ||
				    data[pos] == '\0') {
					buf_free(&s);
					ms_command_free(cmd);
					return fail(data, len, pos,
						    "Invalid character in "
						    "quoted string", consumed_r,
						    error_r);
				}
				(void)buf_append_c(&s, data[pos]);
				pos++;
			}
			if (pos >= len) {
				buf_free(&s);
				ret = MS_PARSE_NEED_MORE;
				goto check_long;
			}
			pos++;
			arg->type = MS_ARG_STRING;
			arg->len = s.len;
			arg->str = s.data != NULL ? buf_steal(&s) : xstrdup("");
			cmd->n_args++;
		} else if (data[pos] == '{') {
			size_t n = 0, p = pos + 1;
			bool digits = false;

			if (arg == NULL) {
				ms_command_free(cmd);
				return fail(data, len, pos, "Expected a command",
					    consumed_r, error_r);
			}
			while (p < len && isdigit((unsigned char)data[p])) {
				if (n > max_literal) {
					ms_command_free(cmd);
					return MS_PARSE_TOO_LONG;
				}
				n = n * 10 + (size_t)(data[p] - '0');
				digits = true;
				p++;
			}
			if (p < len && data[p] == '+')
				p++;
			if (p + 1 >= len) {
				ret = MS_PARSE_NEED_MORE;
				goto check_long;
			}
			if (!digits || data[p] != '}') {
				ms_command_free(cmd);
				return fail(data, len, pos, "Invalid literal",
					    consumed_r, error_r);
			}
			if (n > max_literal) {
				ms_command_free(cmd);
				return MS_PARSE_TOO_LONG;
			}
			p++;
			if (data[p] == '\r')
				p++;
			if (p >= len) {
				ret = MS_PARSE_NEED_MORE;
				goto check_long;
			}
			if (data[p] != '\n') {
				ms_command_free(cmd);
				return fail(data, len, pos, "Invalid literal",
					    consumed_r, error_r);
			}
			p++;
			if (len - p < n) {
				ms_command_free(cmd);
				return MS_PARSE_NEED_MORE;
			}
			arg->type = MS_ARG_STRING;
			arg->len = n;
			/* Not xstrndup: a literal may hold NUL bytes. */
			arg->str = xmalloc(n + 1);
			memcpy(arg->str, data + p, n);
			arg->str[n] = '\0';
			cmd->n_args++;
			pos = p + n;
			max_line += n;	/* literal data is not line */
		} else {
			while (pos < len && data[pos] != ' ' &&
			       data[pos] != '\r' && data[pos] != '\n') {
				unsigned char c = (unsigned char)data[pos];

				if (c < 0x21 || c > 0x7e || c == '"' ||
				    c == '{' || c == '}' || c == '(' ||
				    c == ')' || c == '%' || c == '*' ||
				    c == '\\') {
					ms_command_free(cmd);
					return fail(data, len, pos,
						    "Invalid character in atom",
						    consumed_r, error_r);
				}
				pos++;
			}
			if (pos >= len) {
				ret = MS_PARSE_NEED_MORE;
				goto check_long;
			}
			if (cmd->name == NULL) {
				cmd->name = xstrndup(data + start, pos - start);
				for (char *c = cmd->name; *c != '\0'; c++)
					*c = (char)toupper((unsigned char)*c);
			} else {
				arg->type = MS_ARG_ATOM;
				arg->str = xstrndup(data + start, pos - start);
				arg->len = pos - start;
				cmd->n_args++;
			}
		}
		if (pos > max_line) {
			ms_command_free(cmd);
			return MS_PARSE_TOO_LONG;
		}
	}
check_long:
	ms_command_free(cmd);
	if (len > max_line && line_bytes > max_line)
		return MS_PARSE_TOO_LONG;
	if (len > max_line && memchr(data, '\n', len) == NULL)
		return MS_PARSE_TOO_LONG;
	return ret;
}

enum ms_parse_result ms_parse_command(const char *data, size_t len,
				      size_t max_line, size_t max_literal,
				      struct ms_command *cmd,
				      size_t *consumed_r,
				      const char **error_r)
{
	return parse_line(data, len, max_line, max_literal, false, cmd,
			  consumed_r, error_r);
}

enum ms_parse_result ms_parse_response(const char *data, size_t len,
				       size_t max_line, struct ms_command *cmd,
				       size_t *consumed_r,
				       const char **error_r)
{
	return parse_line(data, len, max_line, max_line, true, cmd,
			  consumed_r, error_r);
}
