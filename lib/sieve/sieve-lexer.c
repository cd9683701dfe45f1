/* Sieve tokens (RFC 5228 section 8.1): identifiers, tags, numbers with
 * K/M/G, quoted and multi-line strings, comments. Every token records its
 * line and column; strings are bounded by SIEVE_MAX_STRING_SIZE and must
 * be UTF-8. The lexer never allocates beyond one string's bound. */
#include <stdarg.h>
#include <string.h>

#include "sieve-private.h"

void sieve_error(struct sieve_errors *errs, uint32_t line, uint32_t col,
		 const char *fmt, ...)
{
	va_list ap;

	errs->count++;
	if (errs->count > SIEVE_MAX_ERRORS)
		return;
	if (line > 0)
		buf_printf(&errs->text, "line %u, column %u: ", line, col);
	va_start(ap, fmt);
	buf_vprintf(&errs->text, fmt, ap);
	va_end(ap);
	buf_append_c(&errs->text, '\n');
}

void sieve_lexer_init(struct sieve_lexer *lex, const char *src, size_t len,
		      struct sieve_errors *errs)
{
	memset(lex, 0, sizeof(*lex));
	lex->p = src;
	lex->end = src + len;
	lex->line = 1;
	lex->col = 1;
	lex->errs = errs;
	buf_init(&lex->text, SIEVE_MAX_STRING_SIZE);
}

void sieve_lexer_deinit(struct sieve_lexer *lex)
{
	buf_free(&lex->text);
}

static void adv(struct sieve_lexer *lex)
{
	if (*lex->p == '\n') {
		lex->line++;
		lex->col = 1;
	} else {
		lex->col++;
	}
	lex->p++;
}

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static enum sieve_token_type lex_fail(struct sieve_lexer *lex,
				      const char *fmt, const char *arg)
{
	sieve_error(lex->errs, lex->tline, lex->tcol, fmt, arg);
	lex->type = TOK_ERROR;
	return TOK_ERROR;
}

/* Returns the length of the UTF-8 sequence at s, or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static bool text_utf8_valid(const struct buf *b)
{
	const unsigned char *s = (const unsigned char *)b->data;

	for (size_t i = 0; i < b->len;) {
		size_t n = utf8_seq(s + i, b->len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static int append_text(struct sieve_lexer *lex, char c)
{
	if (c == '\0') {
		lex_fail(lex, "string contains a NUL byte%s", "");
		return -1;
	}
	if (buf_append_c(&lex->text, c) < 0) {
		lex_fail(lex, "string is longer than %s bytes", "1048576");
		return -1;
	}
	return 0;
}

static enum sieve_token_type lex_quoted(struct sieve_lexer *lex)
{
	adv(lex);	/* the opening quote */
	for (;;) {
		if (lex->p >= lex->end)
			return lex_fail(lex, "unterminated string%s", "");
		if (*lex->p == '"')
			break;
		if (*lex->p == '\\') {
			adv(lex);
			if (lex->p >= lex->end)
				return lex_fail(lex,
						"unterminated string%s", "");
		}
		if (append_text(lex, *lex->p) < 0)
			return TOK_ERROR;
		adv(lex);
	}
	adv(lex);
	if (!text_utf8_valid(&lex->text))
		return lex_fail(lex, "string is not valid UTF-8%s", "");
	return lex->type = TOK_STR;
}

/* "text:" [whitespace] [#comment] CRLF, then lines up to "." CRLF, with
 * a leading ".." standing for ".". */
static enum sieve_token_type lex_multiline(struct sieve_lexer *lex)
{
	while (lex->p < lex->end && (*lex->p == ' ' || *lex->p == '\t'))
		adv(lex);
	if (lex->p < lex->end && *lex->p == '#') {
		while (lex->p < lex->end && *lex->p != '\n')
			adv(lex);
	}
	if (lex->p < lex->end && *lex->p == '\r')
		adv(lex);
	if (lex->p >= lex->end || *lex->p != '\n')
		return lex_fail(lex, "text: must be followed by a line end%s",
				"");
	adv(lex);
	for (;;) {
		const char *ls = lex->p;

		if (ls >= lex->end)
			return lex_fail(lex,
					"unterminated multi-line string%s",
					"");
		if (*ls == '.') {
			const char *q = ls + 1;

			if (q < lex->end && *q == '\r')
				q++;
			if (q >= lex->end || *q == '\n') {
				while (lex->p < q)
					adv(lex);
				if (lex->p < lex->end)
					adv(lex);
				break;
			}
			adv(lex);	/* dot-stuffing: drop the first dot */
			if (lex->p < lex->end && *lex->p != '.') {
				/* a single dot not followed by a dot stays */
				if (append_text(lex, '.') < 0)
					return TOK_ERROR;
			}
		}
		while (lex->p < lex->end && *lex->p != '\n') {
			if (append_text(lex, *lex->p) < 0)
				return TOK_ERROR;
			adv(lex);
		}
		if (lex->p >= lex->end)
			return lex_fail(lex,
					"unterminated multi-line string%s",
					"");
		/* Keep CRLF line ends as CRLF, make bare LF CRLF too. */
		if (lex->text.len == 0 ||
		    lex->text.data[lex->text.len - 1] != '\r') {
			if (append_text(lex, '\r') < 0)
				return TOK_ERROR;
		}
		if (append_text(lex, '\n') < 0)
			return TOK_ERROR;
		adv(lex);
	}
	if (!text_utf8_valid(&lex->text))
		return lex_fail(lex, "string is not valid UTF-8%s", "");
	return lex->type = TOK_STR;
}

static enum sieve_token_type lex_number(struct sieve_lexer *lex)
{
	uint64_t n = 0;

	while (lex->p < lex->end && *lex->p >= '0' && *lex->p <= '9') {
		if (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (uint64_t)(*lex->p - '0'), &n))
			return lex_fail(lex, "number is too large%s", "");
		adv(lex);
	}
	if (lex->p < lex->end) {
		unsigned int shift = 0;

		switch (*lex->p) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: break;
		}
		if (shift != 0) {
			if (n > (UINT64_MAX >> shift))
				return lex_fail(lex, "number is too large%s",
						"");
			n <<= shift;
			adv(lex);
		}
	}
	/* Sieve numbers are unsigned 32-bit in practice (RFC 5228 2.4.1
	 * only promises 2^31); refuse anything beyond 2^63 above. */
	lex->num = n;
	return lex->type = TOK_NUM;
}

static int skip_space(struct sieve_lexer *lex)
{
	while (lex->p < lex->end) {
		char c = *lex->p;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			adv(lex);
		} else if (c == '#') {
			while (lex->p < lex->end && *lex->p != '\n')
				adv(lex);
		} else if (c == '/' && lex->p + 1 < lex->end &&
			   lex->p[1] == '*') {
			lex->tline = lex->line;
			lex->tcol = lex->col;
			adv(lex);
			adv(lex);
			for (;;) {
				if (lex->p + 1 >= lex->end) {
					lex_fail(lex,
						 "unterminated comment%s", "");
					return -1;
				}
				if (lex->p[0] == '*' && lex->p[1] == '/')
					break;
				adv(lex);
			}
			adv(lex);
			adv(lex);
		} else {
			break;
		}
	}
	return 0;
}

void sieve_lexer_next(struct sieve_lexer *lex)
{
	char c;

	buf_reset(&lex->text);
	if (lex->type == TOK_ERROR)
		return;
	if (skip_space(lex) < 0)
		return;
	lex->tline = lex->line;
	lex->tcol = lex->col;
	if (lex->p >= lex->end) {
		lex->type = TOK_EOF;
		return;
	}
	c = *lex->p;
	switch (c) {
	case '[': adv(lex); lex->type = TOK_LBRACKET; return;
	case ']': adv(lex); lex->type = TOK_RBRACKET; return;
	case '(': adv(lex); lex->type = TOK_LPAREN; return;
	case ')': adv(lex); lex->type = TOK_RPAREN; return;
	case '{': adv(lex); lex->type = TOK_LBRACE; return;
	case '}': adv(lex); lex->type = TOK_RBRACE; return;
	case ',': adv(lex); lex->type = TOK_COMMA; return;
	case ';': adv(lex); lex->type = TOK_SEMI; return;
	case '"': lex_quoted(lex); return;
	default: break;
	}
	if (c >= '0' && c <= '9') {
		lex_number(lex);
		return;
	}
	if (c == ':' || is_ident_start(c)) {
		bool tag = c == ':';

		if (tag) {
			adv(lex);
			if (lex->p >= lex->end || !is_ident_start(*lex->p)) {
				lex_fail(lex, "':' must start a tag%s", "");
				return;
			}
		}
		while (lex->p < lex->end && is_ident_char(*lex->p)) {
			char l = *lex->p;

			/* Identifiers are case-insensitive (RFC 5228 2.3). */
			if (l >= 'A' && l <= 'Z')
				l = (char)(l - 'A' + 'a');
			if (buf_append_c(&lex->text, l) < 0) {
				lex_fail(lex, "identifier is too long%s", "");
				return;
			}
			adv(lex);
		}
		if (!tag && strcmp(lex->text.data, "text") == 0 &&
		    lex->p < lex->end && *lex->p == ':') {
			adv(lex);
			buf_reset(&lex->text);
			lex_multiline(lex);
			return;
		}
		lex->type = tag ? TOK_TAG : TOK_IDENT;
		return;
	}
	{
		char what[8];

		if (c >= 0x20 && c < 0x7f) {
			what[0] = '\'';
			what[1] = c;
			what[2] = '\'';
			what[3] = '\0';
		} else {
			memcpy(what, "a byte", 7);
		}
		lex_fail(lex, "unexpected character %s", what);
	}
}
