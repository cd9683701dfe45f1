/* Incremental IMAP response framing (see imap-resp.h). */
#include "imap-resp.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void imap_resp_reset(struct imap_resp *r)
{
	memset(r, 0, sizeof(*r));
}

static void add_span(struct imap_span *spans, unsigned int *n, size_t off,
		     size_t len)
{
	if (*n < IMAP_RESP_MAX_SPANS) {
		spans[*n].off = off;
		spans[*n].len = len;
	}
	(*n)++;
}

/* A line ending "{123}" or "{123+}" announces a literal; -1 = no literal,
 * -2 = malformed or too large. */
static long long literal_size(const char *data, size_t start, size_t eol,
			      size_t max_literal)
{
	if (eol <= start || data[eol - 1] != '}')
		return -1;
	size_t i = eol - 1;
	if (i > start && data[i - 1] == '+')
		i--;
	size_t digits_end = i;
	while (i > start && isdigit((unsigned char)data[i - 1]))
		i--;
	if (i == start || data[i - 1] != '{')
		return -1;
	if (i == digits_end || digits_end - i > 12)
		return -2;
	unsigned long long n = 0;
	for (size_t k = i; k < digits_end; k++)
		n = n * 10 + (unsigned)(data[k] - '0');
	if (n > max_literal)
		return -2;
	return (long long)n;
}

static size_t word_end(const char *data, size_t p, size_t end)
{
	while (p < end && data[p] != ' ')
		p++;
	return p;
}

/* Fills kind, tag, word and number from the first text segment. */
static void classify(struct imap_resp *r, const char *data)
{
	size_t p = r->text[0].off, end = p + r->text[0].len;
	if (end - p >= 1 && data[p] == '+') {
		r->kind = IMAP_RESP_CONTINUATION;
		return;
	}
	if (end - p >= 2 && data[p] == '*' && data[p + 1] == ' ') {
		r->kind = IMAP_RESP_UNTAGGED;
		p += 2;
		if (p < end && isdigit((unsigned char)data[p])) {
			uint64_t n = 0;
			while (p < end && isdigit((unsigned char)data[p]) &&
			       n <= UINT32_MAX)
				n = n * 10 + (unsigned)(data[p++] - '0');
			r->has_number = n <= UINT32_MAX;
			r->number = (uint32_t)n;
			if (p < end && data[p] == ' ')
				p++;
		}
	} else {
		r->kind = IMAP_RESP_TAGGED;
		size_t te = word_end(data, p, end);
		r->tag.off = p;
		r->tag.len = te - p;
		p = te < end ? te + 1 : te;
	}
	size_t we = word_end(data, p, end);
	r->word.off = p;
	r->word.len = we - p;
}

enum imap_parse_result imap_resp_parse(struct imap_resp *r, const char *data,
				       size_t len, size_t max_line,
				       size_t max_literal)
{
	for (;;) {
		if (r->in_literal) {
			if (len < r->lit_end)
				return IMAP_PARSE_MORE;
			r->in_literal = false;
			r->seg_start = r->pos = r->lit_end;
		}
		const char *crlf = NULL;
		if (len > r->pos)
			crlf = memmem(data + r->pos, len - r->pos, "\r\n", 2);
		if (crlf == NULL) {
			if (len - r->seg_start > max_line) {
				r->error = "response line too long";
				return IMAP_PARSE_ERROR;
			}
			/* keep a trailing CR in the next search */
			r->pos = len > r->seg_start + 1 ? len - 1 : r->seg_start;
			return IMAP_PARSE_MORE;
		}
		size_t eol = (size_t)(crlf - data);
		if (eol - r->seg_start > max_line) {
			r->error = "response line too long";
			return IMAP_PARSE_ERROR;
		}
		long long lit = literal_size(data, r->seg_start, eol,
					     max_literal);
		if (lit == -2) {
			r->error = "bad or oversized literal";
			return IMAP_PARSE_ERROR;
		}
		add_span(r->text, &r->n_text, r->seg_start, eol - r->seg_start);
		if (lit < 0) {
			if (r->n_text > IMAP_RESP_MAX_SPANS)
				r->n_text = IMAP_RESP_MAX_SPANS;
			r->total = eol + 2;
			classify(r, data);
			return IMAP_PARSE_DONE;
		}
		add_span(r->lit, &r->n_literals, eol + 2, (size_t)lit);
		r->literal_bytes += (uint64_t)lit;
		r->in_literal = true;
		r->lit_end = eol + 2 + (size_t)lit;
	}
}

bool imap_resp_word_is(const struct imap_resp *r, const char *data,
		       const char *s)
{
	size_t n = strlen(s);
	return r->word.len == n && strncasecmp(data + r->word.off, s, n) == 0;
}

const char *imap_resp_text_find(const struct imap_resp *r, const char *data,
				const char *needle)
{
	size_t n = strlen(needle);
	unsigned int segs = r->n_text < IMAP_RESP_MAX_SPANS ?
		r->n_text : IMAP_RESP_MAX_SPANS;
	for (unsigned int i = 0; i < segs; i++) {
		const char *hit = memmem(data + r->text[i].off, r->text[i].len,
					 needle, n);
		if (hit != NULL)
			return hit;
	}
	return NULL;
}

int imap_resp_text_number(const struct imap_resp *r, const char *data,
			  const char *name, uint64_t *value_r)
{
	size_t n = strlen(name);
	unsigned int segs = r->n_text < IMAP_RESP_MAX_SPANS ?
		r->n_text : IMAP_RESP_MAX_SPANS;
	for (unsigned int i = 0; i < segs; i++) {
		const char *seg = data + r->text[i].off;
		const char *end = seg + r->text[i].len;
		const char *hit = memmem(seg, r->text[i].len, name, n);
		if (hit == NULL || hit + n >= end || hit[n] != ' ')
			continue;
		const char *p = hit + n + 1;
		if (p >= end || !isdigit((unsigned char)*p))
			return -1;
		uint64_t v = 0;
		while (p < end && isdigit((unsigned char)*p) &&
		       v < UINT64_MAX / 10)
			v = v * 10 + (unsigned)(*p++ - '0');
		*value_r = v;
		return 0;
	}
	return -1;
}
