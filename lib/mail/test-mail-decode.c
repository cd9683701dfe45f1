/* lib/mail decoders: RFC 2047, base64, quoted-printable, dates,
 * Message-IDs, header lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "mail-decode.h"
#include "mail-header.h"

static void check_2047(const char *in, const char *expect)
{
	struct buf out = BUF_INIT;

	mail_decode_rfc2047(in, strlen(in), &out);
	assert_string_equal(out.data, expect);
	buf_free(&out);
}

static void test_rfc2047_b_and_q(void **state)
{
	(void)state;
	check_2047("=?UTF-8?B?w6lsw6h2ZQ==?=", "\xc3\xa9l\xc3\xa8ve");
	check_2047("=?ISO-8859-1?Q?caf=E9_noir?=", "caf\xc3\xa9 noir");
	check_2047("=?utf-8*en?q?x=3Dy?=", "x=y");
	check_2047("plain text", "plain text");
	check_2047("", "");
}

static void test_rfc2047_adjacent_words_join(void **state)
{
	(void)state;
	check_2047("=?utf-8?Q?a?= =?utf-8?Q?b?=", "ab");
	check_2047("=?utf-8?Q?a?=\r\n =?utf-8?Q?b?= c", "ab c");
	check_2047("x =?utf-8?Q?a?= y", "x a y");
}

static void test_rfc2047_broken_kept(void **state)
{
	(void)state;
	check_2047("=?bogus", "=?bogus");
	check_2047("=?x-unknown-cs?Q?a?=", "=?x-unknown-cs?Q?a?=");
	check_2047("=?utf-8?X?a?=", "=?utf-8?X?a?=");
	check_2047("=?utf-8?Q?a b?=", "=?utf-8?Q?a b?=");
	check_2047("=?utf-8?Q?a?= =?bad", "a =?bad");
}

static void test_rfc2047_invalid_bytes_replaced(void **state)
{
	(void)state;
	/* 0xff is never valid in EUC-JP, a lone 0x81 is cut short */
	check_2047("=?euc-jp?B?/2E=?=", "\xEF\xBF\xBD" "a");
	check_2047("=?shift_jis?B?gQ==?=", "\xEF\xBF\xBD");
}

static void test_base64(void **state)
{
	struct buf out = BUF_INIT;

	(void)state;
	mail_decode_base64("aGVs\r\nbG8=\r\n", 12, &out);
	assert_string_equal(out.data, "hello");
	buf_reset(&out);
	mail_decode_base64("!!aGk", 5, &out);
	assert_string_equal(out.data, "hi");
	buf_free(&out);
}

static void test_quoted_printable(void **state)
{
	struct buf out = BUF_INIT;
	const char *in = "caf=C3=A9 =\r\nsoft  \r\nbad=ZZ=\nend=4";

	(void)state;
	mail_decode_qp(in, strlen(in), &out);
	assert_string_equal(out.data, "caf\xc3\xa9 soft\r\nbad=ZZend=4");
	buf_free(&out);
}

static void test_decode_body_by_encoding(void **state)
{
	struct buf out = BUF_INIT;

	(void)state;
	mail_decode_body("BASE64", "eA==", 4, &out);
	assert_string_equal(out.data, "x");
	buf_reset(&out);
	mail_decode_body(NULL, "=41", 3, &out);
	assert_string_equal(out.data, "=41");
	buf_free(&out);
}

static void check_date(const char *in, time_t expect, int tz)
{
	time_t t;
	int z;

	assert_true(mail_parse_date(in, strlen(in), &t, &z));
	assert_int_equal(t, expect);
	assert_int_equal(z, tz);
}

static void test_dates(void **state)
{
	time_t t;
	int z;

	(void)state;
	check_date("Mon, 7 Feb 1994 21:52:25 -0800", 760686745, -480);
	check_date("7 Feb 1994 21:52:25 -0800 (PST)", 760686745, -480);
	check_date("Tue, 01 Mar 2022 10:00:00 +0100", 1646125200, 60);
	check_date("5 Jan 21 07:08 GMT", 1609830480, 0);
	check_date("Thu, 03 Mar 2022\r\n 12:00:00 EST", 1646326800, -300);
	check_date("1 Jan 1970 00:00:00", 0, 0);
	assert_false(mail_parse_date("", 0, &t, &z));
	assert_false(mail_parse_date("yesterday", 9, &t, &z));
	assert_false(mail_parse_date("32 Jan 2000 00:00", 17, &t, &z));
	assert_false(mail_parse_date("1 Foo 2000 00:00", 16, &t, &z));
}

static void check_msgid(const char *in, const char *expect)
{
	struct buf out = BUF_INIT;

	if (expect == NULL) {
		assert_false(mail_message_id_get(in, strlen(in), &out));
	} else {
		assert_true(mail_message_id_get(in, strlen(in), &out));
		assert_string_equal(out.data, expect);
	}
	buf_free(&out);
}

static void test_message_id(void **state)
{
	(void)state;
	check_msgid("<a@b>", "<a@b>");
	check_msgid(" (c) <a@b> <c@d>", "<a@b>");
	check_msgid("<a (x) @ b>", "<a@b>");
	check_msgid("(<no@id>)", NULL);
	check_msgid("<unterminated", NULL);
	check_msgid("<>", NULL);
}

static void test_header_get_unfolded(void **state)
{
	const char *h = "Subject: one\r\n two\r\nX: 1\nsubject:  again\n\nbody";
	struct buf out = BUF_INIT;

	(void)state;
	assert_true(mail_header_get(h, strlen(h), "SUBJECT", 0, &out));
	assert_string_equal(out.data, "one two");
	assert_true(mail_header_get(h, strlen(h), "subject", 1, &out));
	assert_string_equal(out.data, "again");
	assert_false(mail_header_get(h, strlen(h), "subject", 2, &out));
	assert_false(mail_header_get(h, strlen(h), "body", 0, &out));
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2047_b_and_q),
		cmocka_unit_test(test_rfc2047_adjacent_words_join),
		cmocka_unit_test(test_rfc2047_broken_kept),
		cmocka_unit_test(test_rfc2047_invalid_bytes_replaced),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_quoted_printable),
		cmocka_unit_test(test_decode_body_by_encoding),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_message_id),
		cmocka_unit_test(test_header_get_unfolded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
