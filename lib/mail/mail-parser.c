/* lib/mail message parser. One pass, line by line: each line is looked at
 * for a boundary of any open multipart (innermost first, longest prefix
 * wins, as Dovecot does), then as a header line or body line of the
 * innermost open part. The line terminator before a boundary line belongs
 * to the boundary, so a part's body ends before it. Sizes come from a
 * running position (physical offset, virtual offset, LF count) that is
 * sampled where parts start and end. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mail-parser.h"
#include "mail-rfc822.h"

#define BOUNDARY_MAX_LEN 1000	/* RFC 2046 says 70; Dovecot takes more */
#define LINE_KEEP_MIN 1024

const struct mail_parser_limits mail_parser_default_limits = {
	.max_depth = 100,
	.max_parts = 10000,
	.max_header_field = 64 * 1024,
};

struct pos {
	uint64_t off, voff, lines;
};

struct open_part {
	struct mail_part *part;
	struct mail_part *last_child;
	struct pos hdr_start, body_start;
	bool in_header;
	bool seen_content_type;
	bool boundary_active;
	char *boundary;		/* multipart only, NULL if none */
	size_t blen;
};

struct mail_parser {
	struct mail_parser_limits lim;
	struct mail_part *root;
	struct open_part *stack;	/* lim.max_depth + 1 entries */
	unsigned int depth;
	unsigned int total_parts;

	struct pos pos;		/* where the current line starts */
	struct pos last_le;	/* start of the last line terminator */

	struct buf line;	/* first bytes of the current line */
	size_t line_keep;
	uint64_t line_total;	/* all bytes of the current line so far */
	unsigned char line_last;	/* last byte of the line so far */

	struct buf field;	/* current header field, unfolded */
	bool field_active;
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void size_diff(struct mail_size *s, struct pos end, struct pos start)
{
	if (end.off < start.off)
		end = start;
	s->physical = end.off - start.off;
	s->virtual = end.voff - start.voff;
	s->lines = end.lines - start.lines;
}

struct mail_parser *mail_parser_init(const struct mail_parser_limits *limits)
{
	struct mail_parser *p = xcalloc(1, sizeof(*p));

	p->lim = limits != NULL ? *limits : mail_parser_default_limits;
	if (p->lim.max_depth == 0)
		p->lim.max_depth = 1;
	if (p->lim.max_parts == 0)
		p->lim.max_parts = 1;
	p->stack = xcalloc(p->lim.max_depth + 1, sizeof(*p->stack));
	p->line_keep = p->lim.max_header_field > LINE_KEEP_MIN ?
		p->lim.max_header_field : LINE_KEEP_MIN;
	buf_init(&p->line, 0);
	buf_init(&p->field, p->lim.max_header_field);

	p->root = xcalloc(1, sizeof(*p->root));
	p->root->flags = MAIL_PART_TEXT;
	p->total_parts = 1;
	p->stack[0].part = p->root;
	p->stack[0].in_header = true;
	p->depth = 1;
	return p;
}

static void open_child(struct mail_parser *p, struct pos at)
{
	struct open_part *parent = &p->stack[p->depth - 1];
	struct open_part *s = &p->stack[p->depth];
	struct mail_part *part = xcalloc(1, sizeof(*part));

	part->parent = parent->part;
	part->offset = at.off;
	part->flags = (parent->part->flags & MAIL_PART_DIGEST) != 0 ?
		MAIL_PART_MESSAGE_RFC822 : MAIL_PART_TEXT;
	if (parent->last_child == NULL)
		parent->part->children = part;
	else
		parent->last_child->next = part;
	parent->last_child = part;
	parent->part->children_count++;
	p->total_parts++;

	memset(s, 0, sizeof(*s));
	s->part = part;
	s->hdr_start = at;
	s->in_header = true;
	p->depth++;
}

/* Closes the innermost open part with its content ending at end. */
static void close_top(struct mail_parser *p, struct pos end)
{
	struct open_part *s = &p->stack[p->depth - 1];

	/* an empty body gives the header's blank line to the boundary; an
	 * (empty) encapsulated message then starts where the part ends */
	if (!s->in_header && end.off < s->body_start.off) {
		s->in_header = true;
		for (struct mail_part *c = s->part->children; c != NULL;
		     c = c->next) {
			if (c->offset > end.off)
				c->offset = end.off;
		}
	}
	if (s->in_header) {
		size_diff(&s->part->header, end, s->hdr_start);
		memset(&s->part->body, 0, sizeof(s->part->body));
	} else {
		size_diff(&s->part->body, end, s->body_start);
	}
	free(s->boundary);
	s->boundary = NULL;
	p->depth--;
}

static void content_type_seen(struct mail_parser *p, struct open_part *s,
			      const char *value, size_t len)
{
	struct mail_part *part = s->part;
	struct mail_params params;
	char *type = NULL, *subtype = NULL;

	s->seen_content_type = true;
	part->flags &= ~(unsigned int)(MAIL_PART_TEXT |
				       MAIL_PART_MESSAGE_RFC822);
	part->flags |= MAIL_PART_HAS_CONTENT_TYPE;
	(void)rfc822_parse_content_type(value, len, &type, &subtype, &params);
	if (strcasecmp(type, "text") == 0) {
		part->flags |= MAIL_PART_TEXT;
	} else if (subtype != NULL && strcasecmp(type, "message") == 0 &&
		   strcasecmp(subtype, "rfc822") == 0) {
		part->flags |= MAIL_PART_MESSAGE_RFC822;
	} else if (subtype != NULL && strcasecmp(type, "multipart") == 0) {
		part->flags |= MAIL_PART_MULTIPART;
		if (strcasecmp(subtype, "digest") == 0)
			part->flags |= MAIL_PART_DIGEST;
		for (unsigned int i = 0; i < params.count; i++) {
			if (strcasecmp(params.v[i].name, "boundary") != 0)
				continue;
			s->blen = strlen(params.v[i].value);
			if (s->blen > BOUNDARY_MAX_LEN)
				s->blen = BOUNDARY_MAX_LEN;
			s->boundary = xstrndup(params.v[i].value, s->blen);
			break;
		}
	}
	(void)p;
	free(type);
	free(subtype);
	mail_params_free(&params);
}

static void field_flush(struct mail_parser *p)
{
	struct open_part *s = &p->stack[p->depth - 1];
	const char *f = p->field.data;
	const char *colon;
	size_t namelen;

	if (!p->field_active)
		return;
	p->field_active = false;
	if (f == NULL || s->seen_content_type)
		goto out;
	colon = memchr(f, ':', p->field.len);
	if (colon == NULL)
		goto out;
	namelen = (size_t)(colon - f);
	while (namelen > 0 && (f[namelen - 1] == ' ' || f[namelen - 1] == '\t'))
		namelen--;
	if (namelen == 12 && strncasecmp(f, "Content-Type", 12) == 0) {
		size_t off = (size_t)(colon + 1 - f);
		content_type_seen(p, s, colon + 1, p->field.len - off);
	}
out:
	buf_reset(&p->field);
}

/* Dovecot's boundary_find(): longest matching prefix, innermost first,
 * an exact match ends the search. Returns the stack index or -1. */
static int boundary_find(struct mail_parser *p, const char *data,
			 size_t kept, uint64_t len, bool trailing_dashes)
{
	int best = -1;
	size_t best_len = 0;

	for (int i = (int)p->depth - 1; i >= 0; i--) {
		const struct open_part *s = &p->stack[i];

		if (!s->boundary_active || s->blen > len || s->blen > kept ||
		    memcmp(s->boundary, data, s->blen) != 0)
			continue;
		if (best >= 0 && best_len >= s->blen)
			continue;
		best = i;
		best_len = s->blen;
		if (s->blen == len || (trailing_dashes && s->blen + 2 == len))
			break;
	}
	return best;
}

/* Handles a line starting with "--"; returns true if it was a boundary. */
static bool boundary_line(struct mail_parser *p, const char *data,
			  size_t kept, uint64_t clen, struct pos after)
{
	uint64_t len = clen - 2;
	size_t k = kept - 2;
	bool dashes;
	int idx;

	if (p->total_parts >= p->lim.max_parts) {
		p->stack[p->depth - 1].part->flags |= MAIL_PART_OVERFLOW;
		return false;
	}
	data += 2;
	dashes = len > 2 && k == len && data[len - 1] == '-' &&
		data[len - 2] == '-';
	idx = boundary_find(p, data, k, len, dashes);
	if (idx < 0)
		return false;

	/* the parts inside the multipart end before this line's
	 * preceding line terminator, except that a header cut short by the
	 * boundary keeps it for the parts around it (Dovecot) */
	bool cut_header = p->stack[p->depth - 1].in_header &&
		p->last_le.off >= p->stack[p->depth - 1].hdr_start.off;
	for (bool innermost = true; (int)p->depth - 1 > idx;
	     innermost = false) {
		field_flush(p);
		close_top(p, innermost || !cut_header ? p->last_le : p->pos);
	}
	struct open_part *m = &p->stack[idx];
	if (len >= m->blen + 2 && k >= m->blen + 2 &&
	    memcmp(data + m->blen, "--", 2) == 0) {
		m->boundary_active = false;	/* epilogue follows */
	} else if (p->depth < p->lim.max_depth) {
		open_child(p, after);
	}
	return true;
}

static void header_end(struct mail_parser *p, struct pos after)
{
	struct open_part *s = &p->stack[p->depth - 1];
	struct mail_part *part = s->part;

	field_flush(p);
	size_diff(&part->header, after, s->hdr_start);
	s->in_header = false;
	s->body_start = after;
	if (p->depth >= p->lim.max_depth) {
		if ((part->flags & (MAIL_PART_MULTIPART |
				    MAIL_PART_MESSAGE_RFC822)) != 0)
			part->flags |= MAIL_PART_OVERFLOW;
		return;
	}
	if ((part->flags & MAIL_PART_MULTIPART) != 0) {
		s->boundary_active = s->boundary != NULL;
	} else if ((part->flags & MAIL_PART_MESSAGE_RFC822) != 0) {
		if (p->total_parts >= p->lim.max_parts)
			part->flags |= MAIL_PART_OVERFLOW;
		else
			open_child(p, after);
	}
}

static void header_line(struct mail_parser *p, const char *data, size_t kept)
{
	if ((data[0] == ' ' || data[0] == '\t') && p->field_active) {
		(void)buf_append_c(&p->field, '\n');
		(void)buf_append(&p->field, data, kept);
		return;
	}
	field_flush(p);
	p->field_active = true;
	(void)buf_append(&p->field, data, kept);
}

/* One complete line (or the unterminated last one). */
static void process_line(struct mail_parser *p, bool has_lf)
{
	uint64_t total = p->line_total;
	uint64_t clen = total;
	size_t kept = p->line.len;
	const char *data = p->line.data != NULL ? p->line.data : "";
	struct pos content_end, after;

	if (has_lf) {
		clen--;
		if (clen > 0 && p->line_last == '\r')
			clen--;
	}
	if (kept > clen)
		kept = (size_t)clen;
	content_end = p->pos;
	content_end.off += clen;
	content_end.voff += clen;
	after = content_end;
	after.off = p->pos.off + total;
	if (has_lf) {
		after.voff += 2;
		after.lines++;
	}

	if (clen >= 2 && kept >= 2 && data[0] == '-' && data[1] == '-' &&
	    boundary_line(p, data, kept, clen, after)) {
		/* a boundary line keeps its own terminator: what follows
		 * (epilogue, next part) starts after it */
		p->last_le = after;
		p->pos = after;
		return;
	}

	struct open_part *s = &p->stack[p->depth - 1];
	if (s->in_header) {
		if (clen == 0 && has_lf)
			header_end(p, after);
		else if (clen > 0)
			header_line(p, data, kept);
	}
	if (has_lf)
		p->last_le = content_end;
	else
		p->last_le = after;
	p->pos = after;
}

void mail_parser_feed(struct mail_parser *parser, const void *data,
		      size_t size)
{
	const unsigned char *d = data;

	while (size > 0) {
		const unsigned char *lf = memchr(d, '\n', size);
		size_t n = lf != NULL ? (size_t)(lf - d) + 1 : size;
		size_t content = lf != NULL ? n - 1 : n;
		size_t room = parser->line_keep - parser->line.len;

		(void)buf_append(&parser->line, d,
				 (size_t)min_u64(content, room));
		if (content > 0)
			parser->line_last = d[content - 1];
		parser->line_total += n;
		if (lf != NULL) {
			process_line(parser, true);
			buf_reset(&parser->line);
			parser->line_total = 0;
			parser->line_last = 0;
		}
		d += n;
		size -= n;
	}
}

static void parser_free(struct mail_parser *p)
{
	while (p->depth > 0) {
		free(p->stack[p->depth - 1].boundary);
		p->depth--;
	}
	free(p->stack);
	buf_free(&p->line);
	buf_free(&p->field);
	free(p);
}

struct mail_part *mail_parser_finish(struct mail_parser **parser)
{
	struct mail_parser *p = *parser;
	struct mail_part *root = p->root;

	*parser = NULL;
	if (p->line_total > 0)
		process_line(p, false);
	field_flush(p);
	while (p->depth > 0)
		close_top(p, p->pos);
	parser_free(p);
	return root;
}

void mail_parser_abort(struct mail_parser **parser)
{
	struct mail_parser *p = *parser;

	if (p == NULL)
		return;
	*parser = NULL;
	mail_part_free(&p->root);
	parser_free(p);
}

struct mail_part *mail_parse(const void *data, size_t size)
{
	struct mail_parser *p = mail_parser_init(NULL);

	mail_parser_feed(p, data, size);
	return mail_parser_finish(&p);
}

void mail_part_free(struct mail_part **part)
{
	struct mail_part *p = *part, *next;

	*part = NULL;
	while (p != NULL) {
		next = p->next;
		mail_part_free(&p->children);
		free(p);
		p = next;
	}
}

unsigned int mail_part_count(const struct mail_part *root)
{
	unsigned int n = 0;

	for (const struct mail_part *p = root; p != NULL; p = p->next)
		n += 1 + mail_part_count(p->children);
	return n;
}

void mail_size_count(const void *data, size_t size, struct mail_size *size_r)
{
	const unsigned char *d = data, *end = d + size, *lf;

	size_r->physical = size;
	size_r->virtual = size;
	size_r->lines = 0;
	while (d < end && (lf = memchr(d, '\n', (size_t)(end - d))) != NULL) {
		size_r->lines++;
		if (lf == (const unsigned char *)data || lf[-1] != '\r')
			size_r->virtual++;
		d = lf + 1;
	}
}
