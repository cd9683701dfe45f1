/* Unit tests of the modified UTF-7 codec (RFC 3501 5.1.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "imap-utf7.h"

static void roundtrip(const char *utf8, const char *utf7)
{
	struct buf b = BUF_INIT;
	assert_int_equal(imap_utf8_to_utf7(utf8, &b), 0);
	assert_string_equal(b.data != NULL ? b.data : "", utf7);
	buf_free(&b);
	assert_int_equal(imap_utf7_to_utf8(utf7, &b), 0);
	assert_string_equal(b.data != NULL ? b.data : "", utf8);
	buf_free(&b);
}

static void test_utf7_roundtrip(void **state)
{
	(void)state;
	roundtrip("", "");
	roundtrip("INBOX", "INBOX");
	roundtrip("a&b", "a&-b");
	roundtrip("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac"
		  "\xe8\xaa\x9e", "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	roundtrip("\xe2\x98\xba", "&Jjo-");
	roundtrip("Entw\xc3\xbc" "rfe", "Entw&APw-rfe");
	/* outside the BMP: a surrogate pair */
	roundtrip("\xf0\x9f\x98\x80", "&2D3eAA-");
}

static void test_utf7_invalid(void **state)
{
	(void)state;
	const char *bad[] = {
		"&", "&Jjo", "&Jj-", "&AGE-",	/* "a" encoded */
		"&2D0-",			/* lone high surrogate */
		"&3gA-",			/* lone low surrogate */
		"&Jjo-&Jjo-",			/* two adjacent runs */
		"a\x80", "&Jj*-", "&Jjp-",	/* nonzero padding bits */
		"&AAA-",			/* NUL (fuzz-imap-parser) */
		("&JjAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		 "AAAAAAjk-"),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf b = BUF_INIT;
		assert_int_equal(imap_utf7_to_utf8(bad[i], &b), -1);
		assert_false(imap_utf7_is_valid(bad[i]));
		buf_free(&b);
	}
	struct buf b = BUF_INIT;
	assert_int_equal(imap_utf8_to_utf7("a\xff", &b), -1);
	assert_int_equal(imap_utf8_to_utf7("\xc0\xaf", &b), -1);	/* overlong */
	assert_int_equal(imap_utf8_to_utf7("\xed\xa0\x80", &b), -1);	/* surrogate */
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf7_roundtrip),
		cmocka_unit_test(test_utf7_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
