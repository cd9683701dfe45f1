/* RFC 5173 body transforms over a message in memory: lib/mail parses the
 * MIME tree once, each part is decoded on request (nothing is cached
 * between tests but the tree: a body test per rule is rare and the parts
 * are usually small). See sieve-body.h for what each transform gives. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mail-decode.h"
#include "mail-header.h"
#include "mail-parser.h"
#include "mail-rfc822.h"
#include "sieve-body.h"

/* One part's Content-Type, defaults applied (RFC 2045 section 5.2). */
struct part_type {
	char *type, *subtype, *charset;
};

void sieve_body_init(struct sieve_body *body, const char *data, size_t size)
{
	memset(body, 0, sizeof(*body));
	body->data = data;
	body->size = size;
}

void sieve_body_deinit(struct sieve_body *body)
{
	for (size_t i = 0; i < body->n_owned; i++)
		free(body->owned[i]);
	free(body->owned);
	mail_part_free(&body->root);
	memset(body, 0, sizeof(*body));
}

static void *body_own(struct sieve_body *body, void *p)
{
	body->owned = xreallocarray(body->owned, body->n_owned + 1,
				    sizeof(*body->owned));
	body->owned[body->n_owned++] = p;
	return p;
}

bool sieve_body_type_matches(const char *want, const char *type,
			     const char *subtype)
{
	const char *slash = strchr(want, '/');
	size_t tlen;

	if (*want == '\0')
		return true;
	if (slash == NULL)
		return strcasecmp(want, type) == 0;
	if (slash == want || slash[1] == '\0' || strchr(slash + 1, '/'))
		return false;
	tlen = (size_t)(slash - want);
	return strlen(type) == tlen && strncasecmp(want, type, tlen) == 0 &&
	       strcasecmp(slash + 1, subtype) == 0;
}

static void part_type_get(const struct sieve_body *body,
			  const struct mail_part *part, struct part_type *t)
{
	const char *hdr = body->data + part->offset;
	struct mail_params params = { 0 };
	struct buf v = BUF_INIT;
	char *type = NULL, *subtype = NULL;

	memset(t, 0, sizeof(*t));
	if (mail_header_get(hdr, part->header.physical, "Content-Type", 0,
			    &v) &&
	    rfc822_parse_content_type(v.data, v.len, &type, &subtype,
				      &params) == 0 && subtype != NULL &&
	    *type != '\0') {
		t->type = type;
		t->subtype = subtype;
		for (unsigned int i = 0; i < params.count; i++) {
			if (strcasecmp(params.v[i].name, "charset") == 0 &&
			    t->charset == NULL)
				t->charset = xstrdup(params.v[i].value);
		}
	} else {
		free(type);
		free(subtype);
		bool digest = part->parent != NULL &&
			(part->parent->flags & MAIL_PART_DIGEST) != 0;
		t->type = xstrdup(digest ? "message" : "text");
		t->subtype = xstrdup(digest ? "rfc822" : "plain");
	}
	mail_params_free(&params);
	buf_free(&v);
}

static void part_type_free(struct part_type *t)
{
	free(t->type);
	free(t->subtype);
	free(t->charset);
}

/* NULs would end the C string early: the rest of the part would become
 * invisible to the test. */
static char *text_steal(struct buf *b)
{
	char *nul = b->len > 0 ? memchr(b->data, '\0', b->len) : NULL;

	while (nul != NULL) {
		*nul = ' ';
		nul = memchr(nul, '\0', b->len - (size_t)(nul - b->data));
	}
	return b->data == NULL ? xstrdup("") : buf_steal(b);
}

/* The part's body transfer-decoded, text converted to UTF-8. */
static void part_decode(const struct sieve_body *body,
			const struct mail_part *part,
			const struct part_type *t, struct buf *out)
{
	const char *hdr = body->data + part->offset;
	const char *in = body->data + mail_part_body_offset(part);
	struct buf enc = BUF_INIT, raw = BUF_INIT;

	(void)mail_header_get(hdr, part->header.physical,
			      "Content-Transfer-Encoding", 0, &enc);
	mail_decode_body(enc.len > 0 ? enc.data : NULL, in,
			 (size_t)part->body.physical, &raw);
	if (strcasecmp(t->type, "text") == 0 && t->charset != NULL)
		mail_decode_charset(t->charset, raw.data, raw.len, out);
	else
		(void)buf_append(out, raw.data, raw.len);
	buf_free(&enc);
	buf_free(&raw);
}

/* Start of the line before pos (the boundary line), with the CRLF that
 * ends the text before it (RFC 2046: it belongs to the delimiter). */
static size_t line_before(const char *d, size_t start, size_t pos)
{
	if (pos > start && d[pos - 1] == '\n')
		pos--;
	while (pos > start && d[pos - 1] != '\n')
		pos--;
	if (pos > start && d[pos - 1] == '\n')
		pos--;
	if (pos > start && d[pos - 1] == '\r')
		pos--;
	return pos;
}

/* Prologue and epilogue of a multipart part: the text outside its
 * children (RFC 5173 section 5.2). */
static void multipart_outer(const struct sieve_body *body,
			    const struct mail_part *part, struct buf *out)
{
	const char *d = body->data;
	size_t start = (size_t)mail_part_body_offset(part);
	size_t end = start + (size_t)part->body.physical, q;
	const struct mail_part *c = part->children, *last = c;

	if (c == NULL)
		return;
	(void)buf_append(out, d + start, line_before(d, start, (size_t)c->offset) - start);
	while (last->next != NULL)
		last = last->next;
	q = (size_t)(mail_part_body_offset(last) + last->body.physical);
	/* skip the close delimiter line: the epilogue follows it */
	while (q < end && d[q] != '-')
		q++;
	while (q < end && d[q] != '\n')
		q++;
	if (q < end)
		(void)buf_append(out, d + q + 1, end - q - 1);
}

struct body_walk {
	struct sieve_body *body;
	enum sieve_body_transform transform;
	const char *const *types;
	size_t n_types;
	char **parts;
	size_t n_parts;
};

static bool walk_wants(const struct body_walk *w, const struct part_type *t)
{
	if (w->transform == SIEVE_BODY_TEXT)
		return strcasecmp(t->type, "text") == 0 &&
		       (strcasecmp(t->subtype, "plain") == 0 ||
			strcasecmp(t->subtype, "html") == 0);
	for (size_t i = 0; i < w->n_types; i++) {
		if (sieve_body_type_matches(w->types[i], t->type, t->subtype))
			return true;
	}
	return false;
}

static void walk_add(struct body_walk *w, struct buf *b)
{
	w->parts = xreallocarray(w->parts, w->n_parts + 1, sizeof(*w->parts));
	w->parts[w->n_parts++] = body_own(w->body, text_steal(b));
}

static void walk_part(struct body_walk *w, const struct mail_part *part)
{
	const struct sieve_body *body = w->body;
	struct part_type t;
	struct buf out = BUF_INIT;
	bool multipart = (part->flags & MAIL_PART_MULTIPART) != 0;
	bool message = (part->flags & MAIL_PART_MESSAGE_RFC822) != 0;

	part_type_get(body, part, &t);
	if (walk_wants(w, &t)) {
		if (multipart) {
			multipart_outer(body, part, &out);
		} else if (message && part->children != NULL) {
			const struct mail_part *m = part->children;

			(void)buf_append(&out, body->data + m->offset,
					 (size_t)m->header.physical);
		} else if (w->transform == SIEVE_BODY_TEXT &&
			   strcasecmp(t.subtype, "html") == 0) {
			struct buf html = BUF_INIT;

			part_decode(body, part, &t, &html);
			sieve_body_html_to_text(html.data == NULL ? "" :
						html.data, html.len, &out);
			buf_free(&html);
		} else {
			part_decode(body, part, &t, &out);
		}
		walk_add(w, &out);
	}
	part_type_free(&t);
	buf_free(&out);
	/* children of a message/rfc822 part: the encapsulated message,
	 * whose header was the part's content and whose body is walked */
	for (const struct mail_part *c = part->children; c != NULL;
	     c = c->next)
		walk_part(w, c);
}

void sieve_body_get(struct sieve_body *body,
		    enum sieve_body_transform transform,
		    const char *const *types, size_t n_types,
		    const char *const **parts_r, size_t *count_r)
{
	struct body_walk w = {
		.body = body, .transform = transform,
		.types = types, .n_types = n_types,
	};

	if (transform == SIEVE_BODY_RAW) {
		struct buf raw = BUF_INIT;
		struct mail_header_iter it;
		struct mail_header_field f;
		const unsigned char *lf;

		mail_header_iter_init(&it, body->data, body->size);
		while (mail_header_iter_next(&it, &f))
			;
		/* the iterator stops at the blank line: skip it */
		lf = memchr(it.p, '\n', (size_t)(it.end - it.p));
		if (lf != NULL)
			(void)buf_append(&raw, lf + 1,
					 (size_t)(it.end - lf - 1));
		walk_add(&w, &raw);
	} else {
		if (body->root == NULL)
			body->root = mail_parse(body->data, body->size);
		walk_part(&w, body->root);
	}
	*parts_r = (const char *const *)body_own(body, w.parts);
	*count_r = w.n_parts;
}
