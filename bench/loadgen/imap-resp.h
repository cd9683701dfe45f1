/* Incremental parser for IMAP server responses (RFC 3501/9051 framing).
 *
 * It does not interpret the grammar of every response; it finds where one
 * response ends (CRLF that is not followed by literal data), records the
 * literals ({n}CRLF + n octets) and classifies the response as untagged
 * ("* ..."), continuation ("+ ...") or tagged ("tag OK/NO/BAD ...").
 * The load generator checks answers from these pieces, so a literal whose
 * bytes contain "\Seen" or "a1 OK" can never be mistaken for protocol text.
 *
 * Resumable: call imap_resp_parse() again with the same (grown) buffer
 * after it returned IMAP_PARSE_MORE; it continues where it stopped.
 * Bounded: a text line longer than max_line or a literal larger than
 * max_literal is an error, never a reason to grow without limit. */
#ifndef BENCH_IMAP_RESP_H
#define BENCH_IMAP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_RESP_MAX_SPANS 8

enum imap_parse_result {
	IMAP_PARSE_ERROR = -1,
	IMAP_PARSE_MORE = 0,
	IMAP_PARSE_DONE = 1,
};

enum imap_resp_kind {
	IMAP_RESP_UNTAGGED,
	IMAP_RESP_CONTINUATION,
	IMAP_RESP_TAGGED,
};

struct imap_span {
	size_t off, len;	/* offsets into the parsed buffer */
};

struct imap_resp {
	/* parser state (zero it with imap_resp_reset) */
	size_t seg_start;	/* start of the current text segment */
	size_t pos;		/* scanned up to here for CRLF */
	size_t lit_end;		/* end of the literal being waited for */
	bool in_literal;

	/* result, valid after IMAP_PARSE_DONE */
	size_t total;		/* bytes of the response including CRLF */
	enum imap_resp_kind kind;
	struct imap_span tag;	/* tagged: the tag */
	struct imap_span word;	/* status (OK/NO/BAD/BYE/PREAUTH) or keyword
				   (FETCH, EXISTS, SEARCH, CAPABILITY, ...) */
	bool has_number;	/* "* 12 FETCH": number = 12 */
	uint32_t number;
	/* text outside literals; at most IMAP_RESP_MAX_SPANS are kept */
	struct imap_span text[IMAP_RESP_MAX_SPANS];
	unsigned int n_text;
	struct imap_span lit[IMAP_RESP_MAX_SPANS];
	unsigned int n_literals;	/* all literals, kept or not */
	uint64_t literal_bytes;
	const char *error;	/* why IMAP_PARSE_ERROR */
};

void imap_resp_reset(struct imap_resp *r);
enum imap_parse_result imap_resp_parse(struct imap_resp *r, const char *data,
				       size_t len, size_t max_line,
				       size_t max_literal);

/* True when word (or tag) equals s, case-insensitively. */
bool imap_resp_word_is(const struct imap_resp *r, const char *data,
		       const char *s);
/* Finds needle in the response's text segments (not in literals);
 * returns a pointer into data, or NULL. */
const char *imap_resp_text_find(const struct imap_resp *r, const char *data,
				const char *needle);
/* Reads the decimal number after "NAME " in the text (e.g. RFC822.SIZE);
 * 0 on success, -1 if absent. */
int imap_resp_text_number(const struct imap_resp *r, const char *data,
			  const char *name, uint64_t *value_r);

#endif
