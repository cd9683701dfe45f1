/* text/html reduced to text for `body :text` (RFC 5173 leaves the
 * extraction to the implementation): tags and comments dropped, the
 * content of script and style elements dropped, block-level tags become a
 * line break, and the common character references are decoded. A broken
 * document never fails: an unterminated tag or comment ends the text. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "sieve-body.h"

static const char *find_ci(const char *p, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; p + n <= end; p++) {
		if (strncasecmp(p, needle, n) == 0)
			return p;
	}
	return NULL;
}

static void append_utf8(struct buf *out, unsigned long cp)
{
	char u[4];

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		u[0] = (char)cp;
		(void)buf_append(out, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		(void)buf_append(out, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		(void)buf_append(out, u, 3);
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		(void)buf_append(out, u, 4);
	}
}

/* A character reference at p ('&'); returns the bytes consumed (0 = not
 * one: the '&' is copied as text). */
static size_t entity(const char *p, const char *end, struct buf *out)
{
	static const struct { const char *name; unsigned long cp; } named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' },
		{ "quot", '"' }, { "apos", '\'' }, { "nbsp", 0xA0 },
	};
	const char *semi = memchr(p, ';', (size_t)(end - p) < 12 ?
				  (size_t)(end - p) : 12);
	size_t len;

	if (semi == NULL)
		return 0;
	len = (size_t)(semi - p) - 1;
	if (len >= 2 && p[1] == '#') {
		bool hex = p[2] == 'x' || p[2] == 'X';
		char num[12];
		char *e;
		unsigned long cp;

		memcpy(num, p + 2 + hex, len - 1 - hex);
		num[len - 1 - hex] = '\0';
		cp = strtoul(num, &e, hex ? 16 : 10);
		if (*num == '\0' || *e != '\0')
			return 0;
		append_utf8(out, cp);
		return len + 2;
	}
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		if (strlen(named[i].name) == len &&
		    strncasecmp(p + 1, named[i].name, len) == 0) {
			append_utf8(out, named[i].cp);
			return len + 2;
		}
	}
	return 0;
}

static bool tag_is(const char *name, size_t len, const char *const *list)
{
	for (; *list != NULL; list++) {
		if (strlen(*list) == len && strncasecmp(name, *list, len) == 0)
			return true;
	}
	return false;
}

/* A tag at p ('<'); returns where the text continues. */
static const char *tag(const char *p, const char *end, struct buf *out)
{
	static const char *const skip[] = { "script", "style", NULL };
	static const char *const block[] = {
		"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4",
		"h5", "h6", "table", "blockquote", "hr", NULL };
	const char *name = p + 1, *gt, *close;
	size_t nlen = 0;

	if ((size_t)(end - p) >= 4 && strncmp(p, "<!--", 4) == 0) {
		close = find_ci(p + 4, end, "-->");
		return close == NULL ? end : close + 3;
	}
	if (name < end && *name == '/')
		name++;
	while (name + nlen < end && (name[nlen] >= 'a' && name[nlen] <= 'z' ?
		true : name[nlen] >= 'A' && name[nlen] <= 'Z' ? true :
		name[nlen] >= '0' && name[nlen] <= '9'))
		nlen++;
	gt = memchr(p, '>', (size_t)(end - p));
	if (gt == NULL)
		return end;
	if (name == p + 1 && tag_is(name, nlen, skip)) {
		char endtag[10] = "</";

		memcpy(endtag + 2, name, nlen);
		endtag[2 + nlen] = '\0';
		close = find_ci(gt + 1, end, endtag);
		if (close == NULL)
			return end;
		gt = memchr(close, '>', (size_t)(end - close));
		return gt == NULL ? end : gt + 1;
	}
	if (tag_is(name, nlen, block))
		(void)buf_append_c(out, '\n');
	return gt + 1;
}

void sieve_body_html_to_text(const char *html, size_t len, struct buf *out)
{
	const char *p = html, *end = html + len;

	while (p < end) {
		const char *next = p;

		while (next < end && *next != '<' && *next != '&')
			next++;
		(void)buf_append(out, p, (size_t)(next - p));
		if (next >= end)
			break;
		if (*next == '<') {
			p = tag(next, end, out);
		} else {
			size_t n = entity(next, end, out);

			if (n == 0) {
				(void)buf_append_c(out, '&');
				n = 1;
			}
			p = next + n;
		}
	}
	(void)buf_append(out, "", 0);
}
