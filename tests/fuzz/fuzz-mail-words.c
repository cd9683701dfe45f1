/* libFuzzer target for lib/mail's header-value decoders, called on the
 * raw bytes instead of through a parsed message: RFC 2047 encoded words
 * (charsets via iconv), RFC 2231 parameter continuations in Content-Type
 * and Content-Disposition, address lists, dates, Message-IDs, charset,
 * base64 and quoted-printable bodies. Nothing may read outside the input,
 * no output may be NULL, and decoded text stays within a bound of its
 * input (UTF-8 of a charset at most 4 bytes per byte; base64 shrinks;
 * quoted-printable only grows by CRLF for a bare LF). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail/mail-decode.h"
#include "mail/mail-rfc822.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void params_check(const struct mail_params *p)
{
	for (unsigned int i = 0; i < p->count; i++) {
		if (p->v[i].name == NULL || p->v[i].value == NULL)
			abort();
	}
}

static void content_type(const uint8_t *data, size_t size)
{
	char *type = NULL, *subtype = NULL, *token = NULL;
	struct mail_params params = { 0 };

	(void)rfc822_parse_content_type(data, size, &type, &subtype, &params);
	if (type == NULL)
		abort();
	params_check(&params);
	free(type);
	free(subtype);
	mail_params_free(&params);

	rfc822_parse_token_params(data, size, &token, &params);
	params_check(&params);
	free(token);
	mail_params_free(&params);
}

static void addresses(const uint8_t *data, size_t size)
{
	struct mail_address_list list = { 0 };

	/* max_addresses bounds the top-level addresses; a group's members
	 * are not counted (as Dovecot's parser), but each takes input. */
	mail_address_parse(data, size, 100, &list);
	if (list.count > 100 + size)
		abort();
	mail_address_list_free(&list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT;
	time_t t;
	int tz;

	mail_decode_rfc2047(data, size, &out);
	/* Undecodable words are copied; decoded ones only shrink or become
	 * UTF-8 of at most 4 bytes per input byte (a charset conversion). */
	if (out.len > size * 4 + 16)
		abort();
	buf_reset(&out);
	content_type(data, size);
	addresses(data, size);
	(void)mail_parse_date(data, size, &t, &tz);
	(void)mail_message_id_get(data, size, &out);
	buf_reset(&out);
	/* The first line names a charset; the rest is text in it. */
	const uint8_t *nl = memchr(data, '\n', size < 40 ? size : 40);
	if (nl != NULL) {
		char charset[41];
		size_t n = (size_t)(nl - data);
		memcpy(charset, data, n);
		charset[n] = '\0';
		if (strlen(charset) == n)
			mail_decode_charset(charset, nl + 1,
					    size - n - 1, &out);
	}
	buf_reset(&out);
	mail_decode_body("base64", data, size, &out);
	if (out.len > size)
		abort();
	buf_reset(&out);
	mail_decode_body("quoted-printable", data, size, &out);
	if (out.len > size * 2)	/* a bare LF becomes CRLF */
		abort();
	buf_free(&out);
	return 0;
}
