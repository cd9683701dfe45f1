/* lib/mail header field iteration. A field starts at a line that does not
 * begin with a blank and runs over the following lines that do. Bare LF
 * line ends, NUL and 8-bit bytes are taken as they come. */
#include <string.h>
#include <strings.h>

#include "mail-header.h"

void mail_header_iter_init(struct mail_header_iter *iter, const void *data,
			   size_t size)
{
	iter->p = data;
	iter->end = iter->p + size;
}

/* End of the line starting at p: just after its LF, or end. */
static const unsigned char *line_next(const unsigned char *p,
				      const unsigned char *end)
{
	const unsigned char *lf = memchr(p, '\n', (size_t)(end - p));

	return lf != NULL ? lf + 1 : end;
}

/* Length of the line content without its (CR)LF. */
static size_t line_content(const unsigned char *p, const unsigned char *next)
{
	size_t n = (size_t)(next - p);

	if (n > 0 && p[n - 1] == '\n') {
		n--;
		if (n > 0 && p[n - 1] == '\r')
			n--;
	}
	return n;
}

bool mail_header_iter_next(struct mail_header_iter *iter,
			   struct mail_header_field *f)
{
	const unsigned char *start = iter->p, *next, *colon, *v;
	size_t first_len;

	if (start >= iter->end)
		return false;
	next = line_next(start, iter->end);
	first_len = line_content(start, next);
	if (first_len == 0)
		return false;	/* the blank line ending the header */

	/* continuation lines */
	const unsigned char *last = start, *last_next = next;
	while (last_next < iter->end &&
	       (*last_next == ' ' || *last_next == '\t')) {
		last = last_next;
		last_next = line_next(last_next, iter->end);
	}
	iter->p = last_next;
	f->raw = start;
	f->raw_len = (size_t)(last_next - start);

	colon = memchr(start, ':', first_len);
	if (colon == NULL) {
		f->name = (const char *)start;
		f->name_len = first_len;
		f->value = start + first_len;
		f->value_len = 0;
		return true;
	}
	f->name = (const char *)start;
	f->name_len = (size_t)(colon - start);
	while (f->name_len > 0 && (f->name[f->name_len - 1] == ' ' ||
				   f->name[f->name_len - 1] == '\t'))
		f->name_len--;
	v = colon + 1;
	while (v < start + first_len && (*v == ' ' || *v == '\t'))
		v++;
	f->value = v;
	f->value_len = (size_t)(last + line_content(last, last_next) - v);
	return true;
}

bool mail_header_name_is(const struct mail_header_field *field,
			 const char *name)
{
	size_t n = strlen(name);

	return field->name_len == n && strncasecmp(field->name, name, n) == 0;
}

static void append_nul_safe(struct buf *out, const unsigned char *s,
			    size_t len)
{
	const unsigned char *nul;

	while (len > 0 && (nul = memchr(s, '\0', len)) != NULL) {
		(void)buf_append(out, s, (size_t)(nul - s));
		(void)buf_append(out, "\xEF\xBF\xBD", 3);
		len -= (size_t)(nul - s) + 1;
		s = nul + 1;
	}
	(void)buf_append(out, s, len);
}

void mail_header_value_unfold(const unsigned char *value, size_t len,
			      struct buf *out)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (value[i] != '\n')
			continue;
		size_t end = i;
		if (end > start && value[end - 1] == '\r')
			end--;
		append_nul_safe(out, value + start, end - start);
		start = i + 1;
	}
	append_nul_safe(out, value + start, len - start);
	(void)buf_append(out, "", 0);
}

bool mail_header_get(const void *header, size_t size, const char *name,
		     unsigned int index, struct buf *out)
{
	struct mail_header_iter iter;
	struct mail_header_field f;

	buf_reset(out);
	(void)buf_append(out, "", 0);
	mail_header_iter_init(&iter, header, size);
	while (mail_header_iter_next(&iter, &f)) {
		if (!mail_header_name_is(&f, name))
			continue;
		if (index-- > 0)
			continue;
		mail_header_value_unfold(f.value, f.value_len, out);
		return true;
	}
	return false;
}

char *mail_header_strdup(const unsigned char *value, size_t len)
{
	struct buf b = BUF_INIT;

	append_nul_safe(&b, value, len);
	(void)buf_append(&b, "", 0);
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b);
}
