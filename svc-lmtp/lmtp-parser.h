/* LMTP (RFC 2033 / RFC 5321) parsing of untrusted bytes: command lines,
 * MAIL/RCPT paths and parameters, XCLIENT attributes, and the DATA
 * dot-unstuffing state machine. Pure functions with no I/O, fuzzed by
 * tests/fuzz/fuzz-lmtp-command.c. Nothing here allocates without a bound
 * given by the caller's line length. */
#ifndef LMTP_PARSER_H
#define LMTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Longest command line we read (RFC 5321 says 512; XCLIENT and long
 * addresses with parameters need more). Longer lines are refused. */
#define LMTP_MAX_COMMAND_LINE 4096
#define LMTP_MAX_PARAMS 16

enum lmtp_verb {
	LMTP_CMD_UNKNOWN = 0,
	LMTP_CMD_LHLO,
	LMTP_CMD_HELO,		/* SMTP greetings: refused in LMTP */
	LMTP_CMD_EHLO,
	LMTP_CMD_MAIL,
	LMTP_CMD_RCPT,
	LMTP_CMD_DATA,
	LMTP_CMD_BDAT,
	LMTP_CMD_RSET,
	LMTP_CMD_NOOP,
	LMTP_CMD_QUIT,
	LMTP_CMD_VRFY,
	LMTP_CMD_XCLIENT,
	LMTP_CMD_STARTTLS,
};

struct lmtp_command {
	enum lmtp_verb verb;
	const char *name;	/* verb as typed, for logs (points into line) */
	const char *args;	/* after the verb and one space; "" if none */
};

/* Splits a command line (without CRLF; NUL-terminated at line[len]) in
 * place. Returns 0, or -1 with *error_r a complete reply ("500 5.5.2 ...")
 * for NULs or other bytes a command may not contain. */
int lmtp_command_parse(char *line, size_t len, struct lmtp_command *cmd_r,
		       const char **error_r);

struct lmtp_param {
	const char *key;	/* upper-cased in place */
	const char *value;	/* NULL when the parameter has no '=' */
};

struct lmtp_path_cmd {
	/* The address without brackets and source route; "" for <>. Points
	 * into the parsed line. */
	const char *addr;
	struct lmtp_param params[LMTP_MAX_PARAMS];
	unsigned int n_params;
};

/* Parses "FROM:<path> params" (prefix "FROM") or "TO:<path> params"
 * (prefix "TO") in place. Accepts a space after the colon as Postfix does.
 * Returns 0 or -1 with *error_r a complete reply. */
int lmtp_path_parse(char *args, const char *prefix,
		    struct lmtp_path_cmd *path_r, const char **error_r);

/* Splits local@domain at the last '@'; domain "" without one. Splits the
 * detail off the local part at the first of any char in `delims` (empty =
 * none). All outputs malloc'd. */
void lmtp_address_split(const char *addr, const char *delims,
			char **user_r, char **detail_r, char **domain_r);

/* Decodes RFC 3461 xtext ("+2B" -> '+'). Returns -1 on bad encoding. */
int lmtp_xtext_decode(const char *in, struct buf *out);

/* "BDAT <size> [LAST]". Returns 0 or -1 with *error_r a reply. */
int lmtp_bdat_parse(const char *args, uint64_t *size_r, bool *last_r,
		    const char **error_r);

/* DATA body reader: strips the leading dot of "..", ends at a line with a
 * single dot (after CRLF or a bare LF). */
enum lmtp_data_state {
	LMTP_DATA_LINE_START = 0,
	LMTP_DATA_MIDLINE,
	LMTP_DATA_DOT,
	LMTP_DATA_DOT_CR,
	LMTP_DATA_END,
};
struct lmtp_data_parser {
	enum lmtp_data_state state;
};
/* Consumes from data[0..len), appending the unstuffed body to out (at
 * most len bytes per call). Returns bytes consumed; sets *end_r when the
 * terminating dot line was consumed (bytes after it are left). */
size_t lmtp_data_parse(struct lmtp_data_parser *p, const char *data,
		       size_t len, struct buf *out, bool *end_r);

#endif
