/* SMTP reply lines (see smtp-reply.h). Only the first line's text is kept:
 * it is what an error message needs, and keeping all of a hostile
 * server's lines would be unbounded. */
#include "smtp-reply.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->text, SMTP_REPLY_MAX_TEXT);
}

void smtp_reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->enhanced[0] = '\0';
	r->n_lines = 0;
	r->ehlo_8bitmime = false;
	buf_reset(&r->text);
}

void smtp_reply_free(struct smtp_reply *r)
{
	buf_free(&r->text);
}

/* "d.ddd.ddd" followed by a space or the end: its length, else 0. */
static size_t smtp_enhanced_len(const char *s, size_t len)
{
	size_t i = 0;
	for (int part = 0; part < 3; part++) {
		size_t start = i;
		while (i < len && isdigit((unsigned char)s[i]) && i - start < 3)
			i++;
		if (i == start || (part == 0 && i - start != 1))
			return 0;
		if (part < 2) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	return i == len || s[i] == ' ' ? i : 0;
}

static void smtp_reply_first_text(struct smtp_reply *r, const char *text,
				  size_t len)
{
	size_t elen = smtp_enhanced_len(text, len);
	/* RFC 3463: the class digit repeats the reply's first digit */
	if (elen > 0 && elen < sizeof(r->enhanced) &&
	    text[0] == (char)('0' + r->code / 100)) {
		memcpy(r->enhanced, text, elen);
		r->enhanced[elen] = '\0';
		text += elen;
		len -= elen;
		while (len > 0 && *text == ' ') {
			text++;
			len--;
		}
	}
	if (len > SMTP_REPLY_MAX_TEXT)
		len = SMTP_REPLY_MAX_TEXT;
	buf_append(&r->text, text, len);
}

int smtp_reply_line(struct smtp_reply *r, const char *line, size_t len)
{
	if (len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || line[0] < '2' ||
	    line[0] > '5')
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	unsigned int code = (unsigned int)((line[0] - '0') * 100 +
					   (line[1] - '0') * 10 +
					   (line[2] - '0'));
	if (r->n_lines > 0 && code != r->code)
		return -1;
	if (++r->n_lines > SMTP_REPLY_MAX_LINES)
		return -1;
	const char *text = len > 4 ? line + 4 : "";
	size_t tlen = len > 4 ? len - 4 : 0;
	if (r->n_lines == 1) {
		r->code = code;
		smtp_reply_first_text(r, text, tlen);
	} else if (tlen >= 8 && strncasecmp(text, "8BITMIME", 8) == 0 &&
		   (tlen == 8 || text[8] == ' ')) {
		r->ehlo_8bitmime = true;
	}
	return len > 3 && line[3] == '-' ? 0 : 1;
}

char *smtp_reply_describe(const struct smtp_reply *r)
{
	return xasprintf("%u%s%s %s", r->code, r->enhanced[0] != '\0' ?
			 " " : "", r->enhanced,
			 r->text.data != NULL ? r->text.data : "");
}
