/* lib/sieve internals shared by the compiler, the binary codec and the
 * interpreter: the syntax tree (which is also the loaded binary form),
 * the tables of commands, tags and extensions, and the arena that owns a
 * script's memory. Nothing here is visible to callers of sieve.h. */
#ifndef STRATUS_SIEVE_PRIVATE_H
#define STRATUS_SIEVE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sieve.h"

/* ---- arena: alloc-only memory freed at once ---- */
struct sieve_arena;
struct sieve_arena *sieve_arena_new(void);
void sieve_arena_free(struct sieve_arena **arena);
void *sieve_arena_alloc(struct sieve_arena *arena, size_t size);
void *sieve_arena_calloc(struct sieve_arena *arena, size_t n, size_t size);
char *sieve_arena_strndup(struct sieve_arena *arena, const char *s,
			  size_t len);
char *sieve_arena_strdup(struct sieve_arena *arena, const char *s);

/* ---- extensions ---- */
enum sieve_ext {
	EXT_FILEINTO, EXT_REJECT, EXT_EREJECT, EXT_ENVELOPE, EXT_ENCODED_CHAR,
	EXT_IMAP4FLAGS, EXT_VARIABLES, EXT_COPY, EXT_MAILBOX, EXT_SUBADDRESS,
	EXT_RELATIONAL, EXT_CMP_NUMERIC, EXT_BODY, EXT_VACATION,
	EXT_VACATION_SECONDS, EXT_REGEX, EXT_DATE, EXT_INDEX, EXT_DUPLICATE,
	EXT_SPAMTEST, EXT_SPAMTESTPLUS, EXT_VIRUSTEST, EXT_INCLUDE,
	EXT_EDITHEADER,
	EXT_COUNT,
	EXT_NONE = 0xff,
};
const char *sieve_ext_name(unsigned int ext);
int sieve_ext_lookup(const char *name);	/* -1 if unknown */

/* ---- commands and tests ---- */
enum sieve_op {
	OP_REQUIRE, OP_IF, OP_ELSIF, OP_ELSE, OP_STOP, OP_KEEP, OP_DISCARD,
	OP_FILEINTO, OP_REDIRECT, OP_REJECT, OP_EREJECT, OP_SETFLAG,
	OP_ADDFLAG, OP_REMOVEFLAG, OP_SET, OP_VACATION, OP_INCLUDE,
	OP_RETURN, OP_GLOBAL, OP_ADDHEADER, OP_DELETEHEADER,
	/* tests */
	OP_ADDRESS, OP_ALLOF, OP_ANYOF, OP_ENVELOPE, OP_EXISTS, OP_FALSE,
	OP_TRUE, OP_HEADER, OP_NOT, OP_SIZE, OP_BODY, OP_HASFLAG, OP_STRING,
	OP_MAILBOXEXISTS, OP_DATE, OP_CURRENTDATE, OP_DUPLICATE, OP_SPAMTEST,
	OP_VIRUSTEST,
	OP_COUNT,
};

enum sieve_tag {
	TAG_IS, TAG_CONTAINS, TAG_MATCHES, TAG_REGEX, TAG_VALUE, TAG_COUNT_,
	TAG_COMPARATOR, TAG_ALL, TAG_LOCALPART, TAG_DOMAIN, TAG_USER,
	TAG_DETAIL, TAG_OVER, TAG_UNDER, TAG_CREATE, TAG_COPY, TAG_FLAGS,
	TAG_DAYS, TAG_SECONDS, TAG_SUBJECT, TAG_FROM, TAG_ADDRESSES, TAG_MIME,
	TAG_HANDLE, TAG_RAW, TAG_CONTENT, TAG_TEXT, TAG_ZONE,
	TAG_ORIGINALZONE, TAG_INDEX, TAG_LAST, TAG_LOWER, TAG_UPPER,
	TAG_LOWERFIRST, TAG_UPPERFIRST, TAG_QUOTEWILDCARD, TAG_LENGTH,
	TAG_PERCENT, TAG_GLOBAL, TAG_PERSONAL, TAG_ONCE, TAG_OPTIONAL,
	TAG_HEADER, TAG_UNIQUEID, TAG_QUOTEREGEX,
	TAG_COUNT,
};
_Static_assert(TAG_COUNT <= 64, "tags are a 64-bit mask");

enum sieve_tag_value { TV_NONE, TV_NUM, TV_STR, TV_STRLIST };

struct sieve_tag_def {
	const char *name;	/* without ':' */
	enum sieve_tag_value value;
	uint8_t ext;		/* EXT_NONE or the extension it needs */
};
extern const struct sieve_tag_def sieve_tags[TAG_COUNT];
int sieve_tag_lookup(const char *name);

struct sieve_cmd_def {
	const char *name;
	bool is_test;
	uint8_t ext;		/* EXT_NONE = core */
	uint64_t tags;		/* allowed tag mask */
	const char *pos;	/* positional args: S string, L list, N
				   number, lower case = optional prefix */
	uint8_t tests;		/* 0 none, 1 one test, 2 test list */
	bool block;
};
extern const struct sieve_cmd_def sieve_cmds[OP_COUNT];
int sieve_cmd_lookup(const char *name, bool test);

/* ---- the tree ---- */
enum sieve_arg_kind { ARG_NUM, ARG_STR, ARG_STRLIST, ARG_TAG };

struct sieve_arg {
	uint8_t kind;
	uint8_t tag;		/* ARG_TAG */
	uint32_t line, col;
	uint64_t num;		/* ARG_NUM */
	uint32_t n_strs;	/* ARG_STR: 1 */
	char **strs;		/* NUL-terminated; NUL bytes are refused */
};

enum sieve_match { MATCH_IS, MATCH_CONTAINS, MATCH_MATCHES, MATCH_REGEX,
		   MATCH_VALUE, MATCH_COUNT };
enum sieve_cmp { CMP_OCTET, CMP_CASEMAP, CMP_NUMERIC };
enum sieve_rel { REL_GT, REL_GE, REL_LT, REL_LE, REL_EQ, REL_NE };
enum sieve_addrpart { AP_ALL, AP_LOCALPART, AP_DOMAIN, AP_USER,
		      AP_DETAIL };

struct sieve_node {
	uint16_t op;
	uint32_t line, col;
	uint32_t n_args;
	struct sieve_arg *args;
	uint32_t n_tests;
	struct sieve_node *tests;
	uint32_t n_block;
	struct sieve_node *block;
	bool has_block;
	/* Filled by sieve_validate from the args (also after a load). */
	uint64_t tagmask;
	uint8_t match, cmp, rel, addrpart;
	uint8_t n_pos;
	struct sieve_arg *pos[4];
	void *regex_cache;	/* unused in the tree; see sieve-match.c */
};

struct sieve_script {
	struct sieve_arena *arena;
	uint32_t ext_mask;	/* required extensions */
	uint32_t n_cmds;
	struct sieve_node *cmds;
};

/* Tag argument's value (the argument after the tag) or NULL. */
const struct sieve_arg *sieve_node_tag(const struct sieve_node *node,
				       enum sieve_tag tag);

/* ---- compiler pieces ---- */
struct sieve_errors {
	struct buf text;
	unsigned int count;
};
void sieve_error(struct sieve_errors *errs, uint32_t line, uint32_t col,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

enum sieve_token_type {
	TOK_EOF, TOK_IDENT, TOK_TAG, TOK_NUM, TOK_STR, TOK_LBRACKET,
	TOK_RBRACKET, TOK_LPAREN, TOK_RPAREN, TOK_LBRACE, TOK_RBRACE,
	TOK_COMMA, TOK_SEMI, TOK_ERROR,
};

struct sieve_lexer {
	const char *p, *end;
	uint32_t line, col;
	/* the current token */
	enum sieve_token_type type;
	uint32_t tline, tcol;
	uint64_t num;
	struct buf text;	/* identifier, tag or string value */
	struct sieve_errors *errs;
};
void sieve_lexer_init(struct sieve_lexer *lex, const char *src, size_t len,
		      struct sieve_errors *errs);
void sieve_lexer_deinit(struct sieve_lexer *lex);
/* Advances to the next token; TOK_ERROR after reporting an error. */
void sieve_lexer_next(struct sieve_lexer *lex);

/* Parses into script->cmds; 0 or -1 (errors in errs). */
int sieve_parse(struct sieve_lexer *lex, struct sieve_script *script,
		struct sieve_errors *errs);
/* Checks commands against the tables and the require'd extensions and
 * fills each node's derived fields. from_binary: trust nothing, report
 * without positions. 0 or -1. */
int sieve_validate(struct sieve_script *script, struct sieve_errors *errs);
/* decode = false for a loaded binary (encoded characters already done). */
int sieve_validate_tree(struct sieve_script *script,
			struct sieve_errors *errs, bool decode);

/* ---- matching (sieve-match.c) ---- */
struct sieve_run;
int sieve_cmp_compare(enum sieve_cmp cmp, const char *a, const char *b);
bool sieve_match_glob(struct sieve_run *run, enum sieve_cmp cmp,
		      const char *value, const char *pattern,
		      bool capture);
/* Checks a :regex pattern; NULL or an error text (static). */
const char *sieve_regex_check(const char *pattern);
bool sieve_match_regex(struct sieve_run *run, enum sieve_cmp cmp,
		       const char *value, const char *pattern, bool capture);
bool sieve_match_one(struct sieve_run *run, const struct sieve_node *node,
		     const char *value, const char *key);
/* Every value against every key with the node's match type; values are
 * strings already extracted (address parts, header values). */
bool sieve_match_values(struct sieve_run *run, const struct sieve_node *node,
			const char *const *values, size_t n_values,
			char **keys, size_t n_keys);
bool sieve_rel_holds(enum sieve_rel rel, int cmp_result);

/* ---- addresses (sieve-address.c) ---- */
/* Splits an address header value into addresses (arena-allocated). */
size_t sieve_address_parse_list(struct sieve_arena *arena, const char *value,
				char ***addrs_r);
/* The part of addr; NULL when it has none (:detail without delimiter). */
const char *sieve_address_part(struct sieve_arena *arena, const char *addr,
			       enum sieve_addrpart part, const char *delim);
bool sieve_address_valid(const char *addr);

/* ---- date (sieve-ext-date.c) ---- */
bool sieve_date_parse(const char *value, time_t *t_r, int *zone_min_r);
/* Returns the date part as text, or NULL for an unknown part. */
const char *sieve_date_part(struct sieve_arena *arena, time_t t,
			    int zone_min, const char *part);
bool sieve_zone_parse(const char *zone, int *zone_min_r);
bool sieve_date_part_valid(const char *part);

#endif
