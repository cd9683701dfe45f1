/* libFuzzer target for lib/mail: any bytes are parsed as a message, in
 * one piece and split in two at a point the input chooses; both trees
 * must be the same, and ENVELOPE, BODY and BODYSTRUCTURE are generated
 * for every part. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail-imap.h"
#include "mail/mail-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_tree(const struct mail_part *a, const struct mail_part *b)
{
	for (; a != NULL && b != NULL; a = a->next, b = b->next) {
		if (a->offset != b->offset || a->flags != b->flags ||
		    memcmp(&a->header, &b->header, sizeof(a->header)) != 0 ||
		    memcmp(&a->body, &b->body, sizeof(a->body)) != 0 ||
		    !same_tree(a->children, b->children))
			return 0;
	}
	return a == NULL && b == NULL;
}

static void render(const uint8_t *data, size_t size,
		   const struct mail_part *part, struct buf *out)
{
	for (; part != NULL; part = part->next) {
		if (part->offset + part->header.physical +
		    part->body.physical > size)
			abort();
		buf_reset(out);
		mail_imap_envelope(data, size, part, out);
		mail_imap_bodystructure(data, size, part, true, out);
		mail_imap_bodystructure(data, size, part, false, out);
		render(data, size, part->children, out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_part *whole = mail_parse(data, size);
	struct mail_parser *p = mail_parser_init(NULL);
	struct mail_part *split;
	size_t at = size > 0 ? data[0] % (size + 1) : 0;
	struct buf out = BUF_INIT;

	mail_parser_feed(p, data, at);
	mail_parser_feed(p, data + at, size - at);
	split = mail_parser_finish(&p);
	if (!same_tree(whole, split))
		abort();
	render(data, size, whole, &out);
	buf_free(&out);
	mail_part_free(&split);
	mail_part_free(&whole);
	return 0;
}
