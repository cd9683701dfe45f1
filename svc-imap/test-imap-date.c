/* Unit tests for IMAP date-time parsing and formatting (run with TZ=UTC). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "imap-date.h"

static void test_datetime_parse_zone(void **state)
{
	(void)state;
	time_t t;
	assert_true(imap_datetime_parse("17-Jul-1996 02:44:25 -0700", &t));
	assert_int_equal(t, 837596665);
	assert_true(imap_datetime_parse(" 7-Jul-1996 02:44:25 +0000", &t));
	assert_int_equal(t, 836707465);
}

static void test_datetime_parse_rejects(void **state)
{
	(void)state;
	time_t t;
	assert_false(imap_datetime_parse("17-Jul-1996 02:44:25", &t));
	assert_false(imap_datetime_parse("17-Foo-1996 02:44:25 +0000", &t));
	assert_false(imap_datetime_parse("17-Jul-1996 25:44:25 +0000", &t));
	assert_false(imap_datetime_parse("", &t));
	assert_false(imap_datetime_parse("17-Jul-1996 02:44:25 +0000x", &t));
}

static void test_date_parse(void **state)
{
	(void)state;
	time_t t;
	assert_true(imap_date_parse("1-Feb-1994", &t));
	assert_int_equal(t, 760060800);
	assert_true(imap_date_parse("01-feb-1994", &t));
	assert_false(imap_date_parse("1-Feb-94", &t));
}

static void test_datetime_format(void **state)
{
	(void)state;
	char out[32];
	imap_datetime_format(837596665, out);
	assert_string_equal(out, "17-Jul-1996 09:44:25 +0000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_datetime_parse_zone),
		cmocka_unit_test(test_datetime_parse_rejects),
		cmocka_unit_test(test_date_parse),
		cmocka_unit_test(test_datetime_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
