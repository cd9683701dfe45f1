/* Unit tests for CATENATE URLs: the forms taken and the ones refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "imap-catenate.h"

static void test_forms(void **state)
{
	(void)state;
	struct imap_cat_url u;
	assert_int_equal(imap_cat_url_parse(
		"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME", &u), 0);
	assert_string_equal(u.mailbox.data, "Drafts");
	assert_int_equal(u.uidvalidity, 385759045);
	assert_int_equal(u.uid, 20);
	assert_string_equal(u.section.data, "1.MIME");
	assert_false(u.relative);
	imap_cat_url_free(&u);
	assert_int_equal(imap_cat_url_parse("/a/b%20c/;UID=7", &u), 0);
	assert_string_equal(u.mailbox.data, "a/b c");
	assert_int_equal(u.uidvalidity, 0);
	assert_int_equal(u.section.len, 0);
	imap_cat_url_free(&u);
	assert_int_equal(imap_cat_url_parse(";uid=3/;SECTION=HEADER.FIELDS%20(From)",
					    &u), 0);
	assert_true(u.relative);
	assert_string_equal(u.section.data, "HEADER.FIELDS (From)");
	imap_cat_url_free(&u);
}

static void test_refused(void **state)
{
	(void)state;
	static const char *bad[] = {
		"", "/", "/Drafts", "/Drafts/;UID=", "/Drafts/;UID=0",
		"/Drafts/;UID=x", "/Drafts/;UID=99999999999",
		"/Drafts;UIDVALIDITY=/;UID=1", "/Drafts;FOO=1/;UID=1",
		"/Drafts/;UID=1/;PARTIAL=0.10", "/Drafts/;UID=1/;SECTION=",
		"/Drafts/;UID=1/;SECTION=1/x", "imap://host/Drafts/;UID=1",
		"/Dr%0/;UID=1", "/Dr%00/;UID=1", ";UID=1;URLAUTH=x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct imap_cat_url u;
		assert_int_equal(imap_cat_url_parse(bad[i], &u), -1);
		imap_cat_url_free(&u);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
