/* Unit tests for the RFC 5256 2.1 base subject: each step, and inputs
 * where a step must not apply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "imap-base-subject.h"

static void check(const char *in, const char *want, bool want_reply)
{
	struct buf out = BUF_INIT;
	bool reply;
	imap_base_subject(in, strlen(in), &out, &reply);
	assert_string_equal(out.data != NULL ? out.data : "", want);
	assert_int_equal(reply, want_reply);
	buf_free(&out);
}

static void test_leaders_and_trailers(void **state)
{
	(void)state;
	check("Hello", "Hello", false);
	check("Re: Hello", "Hello", true);
	check("RE:Fwd: FW: re[2]: Hello", "Hello", true);
	check("Hello (fwd) (FWD)", "Hello", true);
	check("  Hello \t\r\n world  ", "Hello world", false);
	check("[list] Re: [other] Hello", "Hello", true);
	check("Reply", "Reply", false);
	check("Re Hello", "Re Hello", false);
}

static void test_blob_kept_when_alone(void **state)
{
	(void)state;
	check("[list]", "[list]", false);
	check("Re: [list]", "[list]", true);
	check("[a] [b]", "[b]", false);
}

static void test_fwd_wrapper(void **state)
{
	(void)state;
	check("[fwd: Hello]", "Hello", true);
	check("Re: [Fwd: Re: Hello] (fwd)", "Hello", true);
	check("[fwd: [fwd: x]]", "x", true);
	check("[fwd: x", "[fwd: x", false);
}

static void test_encoded_words(void **state)
{
	(void)state;
	check("=?utf-8?q?Re=3A_caf=C3=A9?=", "caf\xc3\xa9", true);
	check("", "", false);
	check("Re:", "", true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaders_and_trailers),
		cmocka_unit_test(test_blob_kept_when_alone),
		cmocka_unit_test(test_fwd_wrapper),
		cmocka_unit_test(test_encoded_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
