/* libFuzzer target for lib/mail: any bytes are parsed as a message, in
 * one piece and split in two at a point the input chooses; both trees
 * must be the same and lie inside the message. Then every part gets its
 * ENVELOPE, BODY and BODYSTRUCTURE, the tree goes through mime.parts and
 * back unchanged, a few sections are fetched, the header helpers and
 * decoders run on the top header, and the bytes are also tried as a
 * (hostile) mime.parts cache entry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail-cache.h"
#include "mail/mail-decode.h"
#include "mail/mail-header.h"
#include "mail/mail-imap.h"
#include "mail/mail-parser.h"
#include "mail/mail-section.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const specs[] = {
	"", "HEADER", "TEXT", "1", "1.MIME", "2.1", "2.HEADER", "1.2.3",
	"HEADER.FIELDS (From Subject)", "HEADER.FIELDS.NOT (To)", "3.TEXT",
};

static int same_tree(const struct mail_part *a, const struct mail_part *b)
{
	for (; a != NULL && b != NULL; a = a->next, b = b->next) {
		if (a->offset != b->offset || a->flags != b->flags ||
		    memcmp(&a->header, &b->header, sizeof(a->header)) != 0 ||
		    memcmp(&a->body, &b->body, sizeof(a->body)) != 0 ||
		    a->children_count != b->children_count ||
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

static void helpers(const uint8_t *data,
		    const struct mail_part *root)
{
	struct buf v = BUF_INIT, d = BUF_INIT;
	time_t t;
	int tz;

	if (mail_header_get(data, (size_t)root->header.physical, "Subject", 0,
			    &v))
		mail_decode_rfc2047(v.data, v.len, &d);
	if (mail_header_get(data, (size_t)root->header.physical, "Date", 0,
			    &v))
		(void)mail_parse_date(v.data, v.len, &t, &tz);
	if (mail_header_get(data, (size_t)root->header.physical,
			    "Message-ID", 0, &v))
		(void)mail_message_id_get(v.data, v.len, &d);
	buf_reset(&d);
	mail_decode_body("base64", data + mail_part_body_offset(root),
			 (size_t)root->body.physical, &d);
	buf_reset(&d);
	mail_decode_body("quoted-printable", data + mail_part_body_offset(root),
			 (size_t)root->body.physical, &d);
	buf_free(&v);
	buf_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_part *whole = mail_parse(data, size), *back, *hostile;
	struct mail_parser *p = mail_parser_init(NULL);
	struct mail_part *split;
	size_t at = size > 0 ? data[0] % (size + 1) : 0;
	struct buf out = BUF_INIT;
	const char *error;
	char *text, *text2;

	mail_parser_feed(p, data, at);
	mail_parser_feed(p, data + at, size - at);
	split = mail_parser_finish(&p);
	if (!same_tree(whole, split))
		abort();
	render(data, size, whole, &out);

	text = mail_parts_serialize(whole);
	if (mail_parts_deserialize(text, strlen(text), NULL, &back,
				   &error) < 0)
		abort();
	if (!same_tree(whole, back))
		abort();
	text2 = mail_parts_serialize(back);
	if (strcmp(text, text2) != 0)
		abort();

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct mail_section s;
		if (mail_section_parse(specs[i], &s, &error) < 0)
			abort();
		buf_reset(&out);
		mail_section_fetch(data, size, whole, &s, &out);
		mail_section_partial(&out, 3, 10);
		mail_section_free(&s);
	}
	helpers(data, whole);

	/* the bytes as a cache entry and as a section spec */
	if (mail_parts_deserialize((const char *)data, size, NULL, &hostile,
				   &error) == 0) {
		buf_reset(&out);
		mail_imap_bodystructure(data, size, hostile, true, &out);
		mail_part_free(&hostile);
	}
	char *spec = strndup((const char *)data, size < 200 ? size : 200);
	struct mail_section s;
	if (mail_section_parse(spec, &s, &error) == 0) {
		buf_reset(&out);
		mail_section_fetch(data, size, whole, &s, &out);
	}
	mail_section_free(&s);
	free(spec);

	free(text);
	free(text2);
	buf_free(&out);
	mail_part_free(&back);
	mail_part_free(&split);
	mail_part_free(&whole);
	return 0;
}
