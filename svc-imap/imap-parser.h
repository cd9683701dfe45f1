/* The IMAP command reader and parser. The reader turns a byte stream into
 * whole commands: bounded line segments, synchronising literals (the
 * caller sends "+ OK"), LITERAL+/LITERAL- literals; it never buffers more
 * than imap_max_line_length of command text, and APPEND literals go to a
 * memfd bounded by the append limit. The parser turns a whole command into
 * a tag, a name and an argument tree with bounded list depth. Neither does
 * any I/O, so both are unit-tested and fuzzed byte by byte. */
#ifndef IMAP_PARSER_H
#define IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define IMAP_MAX_LIST_DEPTH 64		/* nested parentheses in one command */
#define IMAP_MAX_LITERALS 1024		/* literals in one command */
#define IMAP_LITERAL_MINUS_MAX 4096	/* RFC 7888 LITERAL- non-sync cap */
#define IMAP_MAX_TAG_LENGTH 256
#define IMAP_MAX_SEQSET_RANGES 65536	/* ranges in one sequence set */
#define IMAP_SEQ_STAR UINT32_MAX	/* '*' in a sequence set */

/* ---- alloc-only pool: the lifetime of one command ---- */
struct imap_pool_chunk;
struct imap_pool {
	struct imap_pool_chunk *chunks;
};
void *imap_pool_alloc(struct imap_pool *pool, size_t size);	/* zeroed */
char *imap_pool_strndup(struct imap_pool *pool, const char *s, size_t n);
char *imap_pool_printf(struct imap_pool *pool, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imap_pool_clear(struct imap_pool *pool);

/* ---- reader ---- */

struct imap_literal {
	struct buf data;	/* in memory (fd == -1) */
	int fd;			/* memfd for APPEND literals, else -1 */
	uint64_t size;
};

enum imap_read_result {
	IMAP_READ_MORE,		/* all input consumed, need more */
	IMAP_READ_COMMAND,	/* a whole command: imap_reader_command() */
	IMAP_READ_CONTINUE,	/* send "+ OK\r\n", the client waits */
	IMAP_READ_ERROR,	/* send "<tag> BAD|NO <text>", carry on */
	IMAP_READ_FATAL,	/* send it, then "* BYE", disconnect */
};

enum imap_reader_state {
	IMAP_READER_LINE,
	IMAP_READER_LITERAL,
	IMAP_READER_SKIP_LINE,
	IMAP_READER_FAILED,
};

struct imap_reader {
	size_t max_line;	/* imap_max_line_length */
	uint64_t max_append;	/* APPEND literal bound */
	bool literal_minus;	/* LITERAL- instead of LITERAL+ */
	enum imap_reader_state state;
	struct buf text;	/* the command so far, literal markers kept */
	size_t segment_start;	/* where the current line segment starts */
	uint64_t counted;	/* bytes counted against max_line */
	struct imap_literal *literals;
	size_t n_literals;
	uint64_t lit_left;
	bool is_append;
	/* For IMAP_READ_ERROR / IMAP_READ_FATAL: */
	char err_tag[IMAP_MAX_TAG_LENGTH + 1];
	const char *err_resp;	/* "BAD" or "NO" */
	const char *err_text;	/* static */
};

void imap_reader_init(struct imap_reader *r, size_t max_line,
		      uint64_t max_append, bool literal_minus);
void imap_reader_deinit(struct imap_reader *r);
/* Consumes input up to the next event; *consumed_r says how much of data
 * was used (the rest must be fed again after the event is handled). */
enum imap_read_result imap_reader_feed(struct imap_reader *r,
				       const char *data, size_t len,
				       size_t *consumed_r);
/* After IMAP_READ_COMMAND: the command text and its literals; they stay
 * valid until imap_reader_reset(), which the caller calls when done. */
const char *imap_reader_text(const struct imap_reader *r, size_t *len_r);
void imap_reader_reset(struct imap_reader *r);
/* True while a command has partly arrived (for the idle timer). */
bool imap_reader_in_command(const struct imap_reader *r);

/* ---- parser ---- */

enum imap_arg_type {
	IMAP_ARG_NIL,
	IMAP_ARG_ATOM,
	IMAP_ARG_STRING,	/* quoted */
	IMAP_ARG_LITERAL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	const char *str;	/* atom/string/literal in memory: NUL-ended */
	size_t len;
	int fd;			/* literal in a memfd (owned by the reader) */
	struct imap_arg *list;	/* IMAP_ARG_LIST */
	size_t list_count;
};

struct imap_command {
	const char *tag;
	const char *name;	/* as sent; compare case-insensitively */
	struct imap_arg *args;
	size_t n_args;
};

/* Parses a whole command (text from the reader, its literals) into cmd,
 * allocating from pool. Returns 0, or -1 with *error_r (static text) and
 * cmd->tag set when a tag could be read (else NULL). */
int imap_parse_command(const char *text, size_t len,
		       struct imap_literal *literals, size_t n_literals,
		       struct imap_pool *pool, struct imap_command *cmd,
		       const char **error_r);

/* Argument helpers. astring = atom, quoted or literal in memory. */
bool imap_arg_is_astring(const struct imap_arg *arg);
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *atom);

/* ---- sequence sets ---- */

struct imap_seq_range {
	uint32_t lo, hi;	/* hi may be IMAP_SEQ_STAR */
};

/* Parses "1:3,5,*:7" into ranges (lo <= hi, '*' kept as IMAP_SEQ_STAR,
 * not merged since '*' is resolved later). Returns 0 or -1 with error. */
int imap_seqset_parse(const char *s, struct imap_pool *pool,
		      struct imap_seq_range **ranges_r, size_t *count_r,
		      const char **error_r);

#endif
