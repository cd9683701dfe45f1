/* POP3 (RFC 1939, 2449, 5034) parsing of untrusted bytes and the RETR/TOP
 * output transform. Pure functions without I/O, fuzzed by
 * tests/fuzz/fuzz-pop3-command.c. */
#ifndef POP3_PARSER_H
#define POP3_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* RFC 2449: a command line is at most 255 octets; SASL responses are
 * longer (RFC 5034 lifts the limit for them), so we allow 8 KB and
 * refuse more. */
#define POP3_MAX_LINE 8192

enum pop3_verb {
	POP3_CMD_UNKNOWN = 0,
	POP3_CMD_USER, POP3_CMD_PASS, POP3_CMD_AUTH, POP3_CMD_APOP,
	POP3_CMD_STAT, POP3_CMD_LIST, POP3_CMD_RETR, POP3_CMD_DELE,
	POP3_CMD_NOOP, POP3_CMD_RSET, POP3_CMD_QUIT, POP3_CMD_TOP,
	POP3_CMD_UIDL, POP3_CMD_CAPA, POP3_CMD_LAST, POP3_CMD_STLS,
	POP3_CMD_XCLIENT,
};

struct pop3_command {
	enum pop3_verb verb;
	const char *args;	/* after the verb and one space; "" if none */
};

/* Splits a line (without CRLF, NUL-terminated at line[len]) in place.
 * -1 for NULs or a verb longer than 4 (XCLIENT aside). */
int pop3_command_parse(char *line, size_t len, struct pop3_command *cmd_r);

/* A message number 1..max (decimal, no sign, no leading junk). Returns
 * 0, or -1 when not a number or out of range. */
int pop3_parse_msgnum(const char *s, unsigned int max, unsigned int *num_r);
/* A non-negative line count for TOP. */
int pop3_parse_uint(const char *s, uint64_t *r);


/* RETR/TOP: converts a stored message into what goes on the wire: bare
 * LF and bare CR become CRLF, lines starting with '.' get another '.'.
 * With max_body_lines set (TOP) it stops after the header and that many
 * body lines. Workarounds as in Dovecot: nul_to_0x80 (outlook-no-nuls)
 * and add_eoh (oe-ns-eoh: send the empty line ending the header when the
 * message has none). */
struct pop3_xfer {
	bool top;
	uint64_t max_body_lines;
	bool nul_to_0x80;
	bool add_eoh;
	/* state */
	bool in_header;
	bool line_start;
	bool prev_cr;
	bool header_line_empty;	/* current header line has no text yet */
	uint64_t body_lines;
	bool done;		/* TOP reached its limit */
};
void pop3_xfer_init(struct pop3_xfer *x);
/* Appends the wire form of data to out (at most 2*len+2 bytes). */
void pop3_xfer_feed(struct pop3_xfer *x, const char *data, size_t len,
		    struct buf *out);
/* At the end of the message: closes the last line and, with add_eoh,
 * the header; the caller then sends ".\r\n". */
void pop3_xfer_finish(struct pop3_xfer *x, struct buf *out);
/* The wire size of a whole message (what LIST and STAT report). */
uint64_t pop3_wire_size(const char *data, size_t len);

#endif
