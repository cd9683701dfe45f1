/* bench/loadgen: IMAP response framing and SMTP reply framing, fed whole
 * and byte by byte, with literals that look like protocol text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "imap-resp.h"
#include "smtp-reply.h"

#define MAX_LINE 1024
#define MAX_LIT 4096

static enum imap_parse_result parse_all(struct imap_resp *r, const char *s)
{
	imap_resp_reset(r);
	return imap_resp_parse(r, s, strlen(s), MAX_LINE, MAX_LIT);
}

static void test_tagged_and_untagged(void **state)
{
	(void)state;
	struct imap_resp r;
	const char *s = "a12 OK [READ-WRITE] SELECT completed\r\n";
	assert_int_equal(parse_all(&r, s), IMAP_PARSE_DONE);
	assert_int_equal(r.kind, IMAP_RESP_TAGGED);
	assert_int_equal(r.total, strlen(s));
	assert_int_equal(r.tag.len, 3);
	assert_true(imap_resp_word_is(&r, s, "ok"));

	s = "* 172 EXISTS\r\n* OK more\r\n";
	assert_int_equal(parse_all(&r, s), IMAP_PARSE_DONE);
	assert_int_equal(r.kind, IMAP_RESP_UNTAGGED);
	assert_true(r.has_number);
	assert_int_equal(r.number, 172);
	assert_true(imap_resp_word_is(&r, s, "EXISTS"));
	assert_int_equal(r.total, 14);

	s = "+ idling\r\n";
	assert_int_equal(parse_all(&r, s), IMAP_PARSE_DONE);
	assert_int_equal(r.kind, IMAP_RESP_CONTINUATION);
}

static void test_literal_bytes_are_not_text(void **state)
{
	(void)state;
	struct imap_resp r;
	/* the literal holds a fake tagged line and a \Seen flag */
	const char *s = "* 3 FETCH (RFC822.SIZE 28 BODY[] {28}\r\n"
			"a1 OK done\r\nX: \\Seen\r\n\r\nhi\r\n)\r\n";
	assert_int_equal(parse_all(&r, s), IMAP_PARSE_DONE);
	assert_int_equal(r.total, strlen(s));
	assert_int_equal(r.n_literals, 1);
	assert_int_equal(r.lit[0].len, 28);
	assert_null(imap_resp_text_find(&r, s, "\\Seen"));
	assert_null(imap_resp_text_find(&r, s, "a1 OK"));
	uint64_t size = 0;
	assert_int_equal(imap_resp_text_number(&r, s, "RFC822.SIZE", &size), 0);
	assert_int_equal(size, 28);
	assert_int_equal(imap_resp_text_number(&r, s, "UID", &size), -1);
}

static void test_resumes_byte_by_byte(void **state)
{
	(void)state;
	struct imap_resp r;
	const char *s = "* 1 FETCH (BODY[HEADER] {5}\r\nab\r\nc FLAGS (\\Seen) "
			"X {0}\r\n)\r\na2 OK\r\n";
	size_t first = strstr(s, "a2 OK") - s;
	imap_resp_reset(&r);
	for (size_t n = 0; n < first; n++)
		assert_int_equal(imap_resp_parse(&r, s, n, MAX_LINE, MAX_LIT),
				 IMAP_PARSE_MORE);
	assert_int_equal(imap_resp_parse(&r, s, first, MAX_LINE, MAX_LIT),
			 IMAP_PARSE_DONE);
	assert_int_equal(r.total, first);
	assert_int_equal(r.n_literals, 2);
	assert_non_null(imap_resp_text_find(&r, s, "\\Seen"));
}

static void test_bounds(void **state)
{
	(void)state;
	struct imap_resp r;
	char line[MAX_LINE + 10];
	memset(line, 'x', sizeof(line));
	imap_resp_reset(&r);
	assert_int_equal(imap_resp_parse(&r, line, sizeof(line), MAX_LINE,
					 MAX_LIT), IMAP_PARSE_ERROR);
	assert_int_equal(parse_all(&r, "* 1 FETCH (BODY[] {99999}\r\n"),
			 IMAP_PARSE_ERROR);
	assert_int_equal(parse_all(&r, "* 1 FETCH (BODY[] {}\r\n"),
			 IMAP_PARSE_ERROR);
}

static void test_smtp_replies(void **state)
{
	(void)state;
	int code = 0;
	const char *s = "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
			"354 go\r\n";
	long n = smtp_reply_next(s, strlen(s), 1024, &code);
	assert_int_equal(code, 250);
	assert_int_equal(n, strstr(s, "354") - s);
	assert_true(smtp_reply_has_keyword(s, (size_t)n, "PIPELINING"));
	assert_false(smtp_reply_has_keyword(s, (size_t)n, "CHUNKING"));
	assert_int_equal(smtp_reply_next(s, 20, 1024, &code), 0);
	assert_int_equal(smtp_reply_next("250-a\r\n251 b\r\n", 14, 1024, &code),
			 -1);
	assert_int_equal(smtp_reply_next("hello\r\n", 7, 1024, &code), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tagged_and_untagged),
		cmocka_unit_test(test_literal_bytes_are_not_text),
		cmocka_unit_test(test_resumes_byte_by_byte),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_smtp_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
