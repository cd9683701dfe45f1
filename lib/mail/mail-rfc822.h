/* lib/mail RFC 5322 / MIME tokenizer: comments, atoms, quoted strings,
 * phrases, domains, MIME tokens, Content-Type and parameter lists (with
 * RFC 2231 continuations merged), and address lists as IMAP ENVELOPE
 * needs them.
 *
 * Everything here reads a byte range [data, data+len) that may hold NULs,
 * 8-bit bytes and CR/LF (folded header values) and never reads outside it.
 * Results are heap strings owned by the caller (free()); a failed parse
 * returns what it could get, never NULL strings inside a list. The rules
 * follow what Dovecot 2.3 does with broken input, because IMAP clients
 * must not see a difference (see lib/mail/testdata/golden). */
#ifndef STRATUS_MAIL_RFC822_H
#define STRATUS_MAIL_RFC822_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct rfc822_parser {
	const unsigned char *data, *end;
	struct buf *last_comment;	/* NULL = comments not kept */
};

void rfc822_parser_init(struct rfc822_parser *p, const void *data,
			size_t len, struct buf *last_comment);
/* Each returns 1 when input remains, 0 at its end, -1 on a syntax error
 * (the position is then somewhere inside the bad token). */
int rfc822_skip_lwsp(struct rfc822_parser *p);
int rfc822_parse_atom(struct rfc822_parser *p, struct buf *out);
int rfc822_parse_dot_atom(struct rfc822_parser *p, struct buf *out);
int rfc822_parse_quoted_string(struct rfc822_parser *p, struct buf *out);
int rfc822_parse_phrase(struct rfc822_parser *p, struct buf *out);
int rfc822_parse_domain(struct rfc822_parser *p, struct buf *out);
int rfc822_parse_mime_token(struct rfc822_parser *p, struct buf *out);

/* One MIME parameter; both strings owned by the array. */
struct mail_param {
	char *name;
	char *value;
};

struct mail_params {
	struct mail_param *v;
	unsigned int count;
};

void mail_params_free(struct mail_params *params);

/* Parses "type/subtype *(; param)" from a header value. *type_r is the
 * type ("" when missing, never NULL), *subtype_r NULL when the value is
 * broken, in which case no parameters are read. Parameters use RFC 2231
 * merging: key*0, key*1... become "key" (or "key*" when the first piece
 * is extended, value kept encoded). Returns 0, or -1 when broken. */
int rfc822_parse_content_type(const void *value, size_t len,
			      char **type_r, char **subtype_r,
			      struct mail_params *params_r);
/* Content-Disposition-like: "token *(; param)". *token_r NULL if none. */
void rfc822_parse_token_params(const void *value, size_t len,
			       char **token_r, struct mail_params *params_r);

/* An address as IMAP ENVELOPE shows it. A group start has only mailbox
 * (the group name), a group end has all four NULL. */
struct mail_address {
	char *name, *route, *mailbox, *domain;
};

struct mail_address_list {
	struct mail_address *v;
	unsigned int count;
};

/* Parses an address-list header value with Dovecot's "fill missing"
 * rules (MISSING_MAILBOX, MISSING_DOMAIN, SYNTAX_ERROR). Never fails;
 * at most max_addresses entries. An empty value gives count 0. */
void mail_address_parse(const void *value, size_t len,
			unsigned int max_addresses,
			struct mail_address_list *list_r);
void mail_address_list_free(struct mail_address_list *list);

#endif
