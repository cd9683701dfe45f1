/* lib/mail section addressing for FETCH. Output is what Dovecot sends:
 * bare LF as CRLF and NUL bytes as 0x80. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail-header.h"
#include "mail-section.h"

void mail_section_free(struct mail_section *sect)
{
	for (unsigned int i = 0; i < sect->field_count; i++)
		free(sect->fields[i]);
	free(sect->fields);
	sect->fields = NULL;
	sect->field_count = 0;
}

static bool keyword(const char **p, const char *kw)
{
	size_t n = strlen(kw);

	if (strncasecmp(*p, kw, n) != 0)
		return false;
	*p += n;
	return true;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")", names are
 * atoms or quoted strings. */
static int parse_field_list(const char *p, struct mail_section *s,
			    const char **error_r)
{
	if (*p++ != ' ' || *p++ != '(') {
		*error_r = "Missing header field list";
		return -1;
	}
	for (;;) {
		struct buf name = BUF_INIT;

		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (*p == '\0') {
					buf_free(&name);
					*error_r = "Unterminated quoted string";
					return -1;
				}
				(void)buf_append_c(&name, *p);
			}
			p++;
		} else {
			while (*p != '\0' && *p != ' ' && *p != ')' &&
			       *p != '(' && *p != '"' && (unsigned char)*p > 0x20)
				(void)buf_append_c(&name, *p++);
		}
		if (name.len == 0) {
			buf_free(&name);
			*error_r = "Invalid header field name";
			return -1;
		}
		if (s->field_count >= MAIL_SECTION_MAX_FIELDS) {
			buf_free(&name);
			*error_r = "Too many header fields";
			return -1;
		}
		s->fields = xreallocarray(s->fields, s->field_count + 1,
					  sizeof(char *));
		s->fields[s->field_count++] = buf_steal(&name);
		if (*p == ')')
			break;
		if (*p++ != ' ') {
			*error_r = "Invalid header field list";
			return -1;
		}
	}
	if (p[1] != '\0') {
		*error_r = "Garbage after header field list";
		return -1;
	}
	return 0;
}

int mail_section_parse(const char *spec, struct mail_section *s,
		       const char **error_r)
{
	const char *p = spec;

	memset(s, 0, sizeof(*s));
	*error_r = NULL;
	while (*p >= '0' && *p <= '9') {
		unsigned long n = 0;

		while (*p >= '0' && *p <= '9') {
			n = n * 10 + (unsigned long)(*p++ - '0');
			if (n > 1000000) {
				*error_r = "Part number too large";
				return -1;
			}
		}
		if (n == 0 || s->path_len >= MAIL_SECTION_MAX_PATH) {
			*error_r = "Invalid part number";
			return -1;
		}
		s->path[s->path_len++] = (unsigned int)n;
		if (*p == '\0')
			return 0;
		if (*p++ != '.') {
			*error_r = "Invalid section";
			return -1;
		}
		if (*p == '\0') {
			*error_r = "Invalid section";
			return -1;
		}
	}
	if (*p == '\0')
		return 0;
	if (keyword(&p, "HEADER.FIELDS.NOT")) {
		s->kind = MAIL_SECTION_HEADER_FIELDS_NOT;
		return parse_field_list(p, s, error_r);
	}
	if (keyword(&p, "HEADER.FIELDS")) {
		s->kind = MAIL_SECTION_HEADER_FIELDS;
		return parse_field_list(p, s, error_r);
	}
	if (keyword(&p, "HEADER"))
		s->kind = MAIL_SECTION_HEADER;
	else if (keyword(&p, "TEXT"))
		s->kind = MAIL_SECTION_TEXT;
	else if (s->path_len > 0 && keyword(&p, "MIME"))
		s->kind = MAIL_SECTION_MIME;
	else
		p = "?";
	if (*p != '\0') {
		*error_r = "Invalid section";
		return -1;
	}
	return 0;
}

/* Dovecot's part walk: see the header comment. */
static const struct mail_part *find_part(const struct mail_part *root,
					 const struct mail_section *s)
{
	const struct mail_part *part = root;

	for (unsigned int i = 0; i < s->path_len && part != NULL; i++) {
		unsigned int num = s->path[i];

		if ((part->flags & MAIL_PART_MULTIPART) != 0) {
			part = part->children;
			for (; num > 1 && part != NULL; num--)
				part = part->next;
		} else if (num != 1) {
			part = NULL;
		}
		if (part == NULL || i + 1 == s->path_len)
			break;
		/* another number: look inside a message/rfc822 part. A
		 * single part inside a multipart answers "1" for itself
		 * again, a single-part message does not (Dovecot). */
		if ((part->flags & MAIL_PART_MESSAGE_RFC822) != 0)
			part = part->children;
		else if ((part->flags & MAIL_PART_MULTIPART) == 0 &&
			 (part->parent == NULL ||
			  (part->parent->flags & MAIL_PART_MESSAGE_RFC822) != 0))
			part = NULL;
	}
	return part;
}

/* The part whose header/body HEADER, TEXT, HEADER.FIELDS refer to. */
static const struct mail_part *message_part(const struct mail_part *root,
					    const struct mail_section *s)
{
	const struct mail_part *part;

	if (s->path_len == 0)
		return root;
	part = find_part(root, s);
	if (part == NULL || (part->flags & MAIL_PART_MESSAGE_RFC822) == 0)
		return NULL;
	return part->children;
}

bool mail_section_range(const struct mail_part *root,
			const struct mail_section *s, uint64_t *offset_r,
			uint64_t *size_r)
{
	const struct mail_part *part;

	*offset_r = 0;
	*size_r = 0;
	switch (s->kind) {
	case MAIL_SECTION_ALL:
		if (s->path_len == 0) {
			*offset_r = root->offset;
			*size_r = root->header.physical + root->body.physical;
			return true;
		}
		part = find_part(root, s);
		if (part == NULL)
			return false;
		*offset_r = mail_part_body_offset(part);
		*size_r = part->body.physical;
		return true;
	case MAIL_SECTION_MIME:
		part = find_part(root, s);
		if (part == NULL)
			return false;
		*offset_r = part->offset;
		*size_r = part->header.physical;
		return true;
	case MAIL_SECTION_HEADER:
	case MAIL_SECTION_HEADER_FIELDS:
	case MAIL_SECTION_HEADER_FIELDS_NOT:
		part = message_part(root, s);
		if (part == NULL)
			return false;
		*offset_r = part->offset;
		*size_r = part->header.physical;
		return true;
	case MAIL_SECTION_TEXT:
		part = message_part(root, s);
		if (part == NULL)
			return false;
		*offset_r = mail_part_body_offset(part);
		*size_r = part->body.physical;
		return true;
	}
	return false;
}

/* Appends bytes up to the next LF or NUL handling as described above. */
void mail_append_crlf(struct buf *out, const void *src, size_t len)
{
	const unsigned char *start = src, *s = start, *end = s + len;

	while (s < end) {
		const unsigned char *q = s;

		while (q < end && *q != '\n' && *q != '\0')
			q++;
		(void)buf_append(out, s, (size_t)(q - s));
		if (q == end)
			break;
		if (*q == '\0')
			(void)buf_append_c(out, (char)0x80);
		else if (q > start && q[-1] == '\r')
			(void)buf_append_c(out, '\n');
		else
			(void)buf_append(out, "\r\n", 2);
		s = q + 1;
	}
}

static bool field_listed(const struct mail_section *s,
			 const struct mail_header_field *f)
{
	for (unsigned int i = 0; i < s->field_count; i++) {
		if (mail_header_name_is(f, s->fields[i]))
			return true;
	}
	return false;
}

/* Writes the listed (or unlisted) fields of hdr. How the header block
 * ended decides the closing blank line: see mail_header_end. */
static void write_fields(const unsigned char *hdr, size_t len,
			 const struct mail_section *s,
			 const struct mail_header_end *end, struct buf *out)
{
	struct mail_header_iter iter;
	struct mail_header_field f;
	bool want = s->kind == MAIL_SECTION_HEADER_FIELDS;
	size_t start = out->len;

	mail_header_iter_init(&iter, hdr, len);
	while (mail_header_iter_next(&iter, &f)) {
		if (field_listed(s, &f) != want)
			continue;
		mail_append_crlf(out, f.raw, f.raw_len);
		if (f.raw[f.raw_len - 1] != '\n')
			(void)buf_append(out, "\r\n", 2);
	}
	/* the blank line ends the output; Dovecot adds a missing one only
	 * when some field was written and the header's last line was
	 * complete, or when the header is empty */
	if (end->blank_line || end->empty ||
	    (out->len > start && end->last_lf))
		(void)buf_append(out, "\r\n", 2);
}

void mail_header_end_get(const void *hdr, size_t len,
			 struct mail_header_end *end_r)
{
	struct mail_header_iter iter;
	struct mail_header_field f;

	mail_header_iter_init(&iter, hdr, len);
	while (mail_header_iter_next(&iter, &f))
		;
	end_r->blank_line = iter.p < iter.end;
	end_r->empty = len == 0;
	end_r->last_lf = len > 0 && ((const unsigned char *)hdr)[len - 1] == '\n';
}

void mail_section_write_fields(const void *hdr, size_t len,
			       const struct mail_section *s,
			       const struct mail_header_end *end,
			       struct buf *out)
{
	(void)buf_append(out, "", 0);
	write_fields(hdr, len, s, end, out);
}

void mail_section_fetch(const void *msg, size_t msg_size,
			const struct mail_part *root,
			const struct mail_section *s, struct buf *out)
{
	uint64_t off, size;

	(void)buf_append(out, "", 0);
	if (!mail_section_range(root, s, &off, &size))
		return;
	if (off > msg_size)
		return;
	if (size > msg_size - off)
		size = msg_size - off;
	if (s->kind != MAIL_SECTION_HEADER_FIELDS &&
	    s->kind != MAIL_SECTION_HEADER_FIELDS_NOT) {
		mail_append_crlf(out, (const char *)msg + off, (size_t)size);
		return;
	}
	struct mail_header_end end;
	mail_header_end_get((const char *)msg + off, (size_t)size, &end);
	write_fields((const unsigned char *)msg + off, (size_t)size, s, &end,
		     out);
}

void mail_section_partial(struct buf *content, uint64_t offset,
			  uint64_t count)
{
	if (offset >= content->len) {
		buf_reset(content);
		(void)buf_append(content, "", 0);
		return;
	}
	buf_consume(content, (size_t)offset);
	if (count < content->len) {
		content->len = (size_t)count;
		content->data[content->len] = '\0';
	}
}
