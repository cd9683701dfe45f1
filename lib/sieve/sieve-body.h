/* The body test's view of a message (RFC 5173), for implementations of
 * sieve_message_ops.body that hold the whole message in memory. It uses
 * lib/mail's MIME parser and decoders, so it is a separate library
 * (sieve_body_dep) from the pure interpreter:
 *   :raw      the body after the top-level header, undecoded, one string;
 *   :content  every part whose type matches one of the wanted types
 *             ("" every part, "text" every text/ *, "text/plain" exactly;
 *             a type with a leading, trailing or second '/' matches
 *             nothing), transfer-decoded, text converted to UTF-8 from
 *             its charset; a message/rfc822 part gives the encapsulated
 *             header, a multipart one its prologue and epilogue;
 *   :text     text/plain parts (and parts without a Content-Type) as
 *             :content gives them, and text/html reduced to its text.
 * NUL bytes in decoded text become spaces (values are C strings). */
#ifndef STRATUS_SIEVE_BODY_H
#define STRATUS_SIEVE_BODY_H

#include <stddef.h>

#include "sieve.h"

struct buf;
struct mail_part;

struct sieve_body {
	const char *data;	/* the message, kept by the caller */
	size_t size;
	struct mail_part *root;	/* parsed at the first non-raw request */
	/* every answer given, freed by sieve_body_deinit: the interpreter
	 * may hold them until the run ends */
	char **owned;
	size_t n_owned;
};

void sieve_body_init(struct sieve_body *body, const char *data,
		     size_t size);
/* The parts for one body test; *parts_r stays valid until deinit. */
void sieve_body_get(struct sieve_body *body,
		    enum sieve_body_transform transform,
		    const char *const *types, size_t n_types,
		    const char *const **parts_r, size_t *count_r);
void sieve_body_deinit(struct sieve_body *body);

/* RFC 5173 section 5.2 content type matching, exposed for tests. */
bool sieve_body_type_matches(const char *want, const char *type,
			     const char *subtype);
/* Appends the text of an HTML document: tags, comments, script and
 * style content removed, common entities decoded. */
void sieve_body_html_to_text(const char *html, size_t len,
			     struct buf *out);

#endif
