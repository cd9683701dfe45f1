/* lib/mail header access: iterate the fields of one header block, get a
 * field's value unfolded. Works on bytes of a message the caller keeps;
 * returned pointers point into those bytes. */
#ifndef STRATUS_MAIL_HEADER_H
#define STRATUS_MAIL_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct mail_header_field {
	const char *name;	/* not NUL-terminated */
	size_t name_len;	/* trailing blanks removed */
	/* value after ':' and the blanks after it, folding (CR)LFs kept,
	 * the final line terminator excluded */
	const unsigned char *value;
	size_t value_len;
	/* the whole field, all its lines with their terminators */
	const unsigned char *raw;
	size_t raw_len;
};

struct mail_header_iter {
	const unsigned char *p, *end;
};

/* data/size: a header block (it may include the blank line and even the
 * body: iteration stops at the first empty line). */
void mail_header_iter_init(struct mail_header_iter *iter, const void *data,
			   size_t size);
/* Returns false at the end of the header. A line without ':' is a field
 * whose name is the whole line and whose value is empty. */
bool mail_header_iter_next(struct mail_header_iter *iter,
			   struct mail_header_field *field_r);

bool mail_header_name_is(const struct mail_header_field *field,
			 const char *name);

/* Appends the value unfolded: each (CR)LF of a folded line removed, NUL
 * bytes replaced by U+FFFD. */
void mail_header_value_unfold(const unsigned char *value, size_t len,
			      struct buf *out);

/* The index'th (0-based) field called name (case-insensitive), unfolded,
 * into out (reset first). Returns false (out empty) when there is none. */
bool mail_header_get(const void *header, size_t size, const char *name,
		     unsigned int index, struct buf *out);

/* Copies value into a NUL-terminated heap string with NULs replaced by
 * U+FFFD (folding kept). The caller frees it. */
char *mail_header_strdup(const unsigned char *value, size_t len);

#endif
