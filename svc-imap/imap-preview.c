/* PREVIEW text (see imap-preview.h): find the part, undo its transfer
 * encoding and charset with lib/mail's decoders, then keep the first 256
 * characters of its words. */
#include "imap-preview.h"
#include "mail-decode.h"
#include "mail-header.h"

#include <string.h>
#include <strings.h>

#define PREVIEW_MAX_DEPTH 20

/* The part's Content-Type starts with type ("text/plain"). */
static bool part_is(const char *msg, const struct mail_part *p,
		    const char *type, struct buf *ctype)
{
	buf_reset(ctype);
	if (!mail_header_get(msg + p->offset, (size_t)p->header.physical,
			     "Content-Type", 0, ctype))
		return strcmp(type, "text/plain") == 0;	/* the default */
	const char *v = ctype->data;
	while (*v == ' ' || *v == '\t')
		v++;
	return strncasecmp(v, type, strlen(type)) == 0;
}

/* Depth-first, not into attachments' encapsulated messages. */
static const struct mail_part *find_text(const char *msg,
					 const struct mail_part *p,
					 const char *type, unsigned int depth,
					 struct buf *ctype)
{
	for (; p != NULL && depth < PREVIEW_MAX_DEPTH; p = p->next) {
		if ((p->flags & MAIL_PART_MULTIPART) != 0) {
			const struct mail_part *f = find_text(msg, p->children,
							      type, depth + 1,
							      ctype);
			if (f != NULL)
				return f;
		} else if ((p->flags & MAIL_PART_TEXT) != 0 &&
			   part_is(msg, p, type, ctype)) {
			return p;
		}
	}
	return NULL;
}

static void header_param(const char *value, const char *name,
			 struct buf *out)
{
	size_t n = strlen(name);
	for (const char *p = strchr(value, ';'); p != NULL;
	     p = strchr(p + 1, ';')) {
		const char *q = p + 1;
		while (*q == ' ' || *q == '\t')
			q++;
		if (strncasecmp(q, name, n) != 0 || q[n] != '=')
			continue;
		q += n + 1;
		bool quoted = *q == '"';
		q += quoted;
		size_t len = strcspn(q, quoted ? "\"" : " \t;");
		buf_append(out, q, len);
		return;
	}
}

/* HTML to text, roughly: tags dropped (a block tag is a space), a few
 * entities decoded, the rest of "&...;" dropped. */
static void html_strip(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '<') {
			const char *end = memchr(s + i, '>', n - i);
			if (end == NULL)
				break;
			if (n - i > 6 && (strncasecmp(s + i, "<style", 6) == 0 ||
					  strncasecmp(s + i, "<scrip", 6) == 0)) {
				const char *close = NULL;
				for (size_t k = (size_t)(end - s); k + 1 < n; k++) {
					if (s[k] == '<' && s[k + 1] == '/') {
						close = s + k;
						break;
					}
				}
				if (close != NULL)
					end = memchr(close, '>', n - (size_t)(close - s));
				if (end == NULL)
					break;
			}
			buf_append_c(out, ' ');
			i = (size_t)(end - s);
		} else if (s[i] == '&') {
			static const struct { const char *e, *c; } ents[] = {
				{ "&amp;", "&" }, { "&lt;", "<" },
				{ "&gt;", ">" }, { "&quot;", "\"" },
				{ "&nbsp;", " " }, { "&#39;", "'" },
			};
			size_t k = 0;
			while (k < sizeof(ents) / sizeof(ents[0]) &&
			       strncasecmp(s + i, ents[k].e,
					   strlen(ents[k].e)) != 0)
				k++;
			if (k < sizeof(ents) / sizeof(ents[0])) {
				buf_append_str(out, ents[k].c);
				i += strlen(ents[k].e) - 1;
			} else {
				buf_append_c(out, '&');
			}
		} else {
			buf_append_c(out, s[i]);
		}
	}
}

/* White space and control characters collapse into one space; at most
 * IMAP_PREVIEW_MAX_CHARS UTF-8 characters, never cut inside one. */
static void preview_words(const unsigned char *s, size_t n, struct buf *out)
{
	unsigned int chars = 0;
	bool space = false;
	size_t start = out->len;
	for (size_t i = 0; i < n && chars < IMAP_PREVIEW_MAX_CHARS; ) {
		unsigned char c = s[i];
		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = out->len > start;
			i++;
			continue;
		}
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
			(c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		bool valid = len > 0 && i + len <= n;
		for (size_t k = 1; valid && k < len; k++)
			valid = (s[i + k] & 0xc0) == 0x80;
		if (!valid) {
			i++;	/* not UTF-8 after decoding: dropped */
			continue;
		}
		if (space) {
			buf_append_c(out, ' ');
			chars++;
			space = false;
			if (chars == IMAP_PREVIEW_MAX_CHARS)
				break;
		}
		buf_append(out, s + i, len);
		chars++;
		i += len;
	}
	buf_append(out, "", 0);
}

void imap_preview_get(const char *msg, size_t msg_size,
		      const struct mail_part *root, struct buf *out)
{
	struct buf ctype = BUF_INIT;
	bool html = false;
	const struct mail_part *p = find_text(msg, root, "text/plain", 0,
					      &ctype);
	if (p == NULL) {
		p = find_text(msg, root, "text/html", 0, &ctype);
		html = p != NULL;
	}
	uint64_t off = p != NULL ? mail_part_body_offset(p) : 0;
	if (p == NULL || off > msg_size) {
		buf_append(out, "", 0);
		buf_free(&ctype);
		return;
	}
	size_t size = (size_t)p->body.physical;
	if (size > msg_size - off)
		size = msg_size - (size_t)off;
	if (size > IMAP_PREVIEW_MAX_INPUT)
		size = IMAP_PREVIEW_MAX_INPUT;
	struct buf cte = BUF_INIT, charset = BUF_INIT;
	struct buf raw = BUF_INIT, text = BUF_INIT, plain = BUF_INIT;
	(void)mail_header_get(msg + p->offset, (size_t)p->header.physical,
			      "Content-Transfer-Encoding", 0, &cte);
	if (ctype.data != NULL)
		header_param(ctype.data, "charset", &charset);
	mail_decode_body(cte.data, msg + off, size, &raw);
	mail_decode_charset(charset.data != NULL ? charset.data : "us-ascii",
			    raw.data != NULL ? raw.data : "", raw.len, &text);
	if (html) {
		html_strip(text.data != NULL ? text.data : "", text.len, &plain);
		preview_words((const unsigned char *)(plain.data != NULL ?
			      plain.data : ""), plain.len, out);
	} else {
		preview_words((const unsigned char *)(text.data != NULL ?
			      text.data : ""), text.len, out);
	}
	buf_free(&ctype);
	buf_free(&cte);
	buf_free(&charset);
	buf_free(&raw);
	buf_free(&text);
	buf_free(&plain);
}
