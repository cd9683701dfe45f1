/* SMTP reply lines: single and multi-line replies, enhanced codes, the
 * EHLO 8BITMIME keyword, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp-reply.h"

static int feed(struct smtp_reply *r, const char *line)
{
	return smtp_reply_line(r, line, strlen(line));
}

static void test_single_line_with_enhanced_code(void **state)
{
	(void)state;
	struct smtp_reply r;
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "550 5.1.1 <x@y>: user unknown"), 1);
	assert_int_equal(r.code, 550);
	assert_string_equal(r.enhanced, "5.1.1");
	assert_string_equal(r.text.data, "<x@y>: user unknown");
	char *d = smtp_reply_describe(&r);
	assert_string_equal(d, "550 5.1.1 <x@y>: user unknown");
	free(d);
	smtp_reply_free(&r);
}

static void test_multi_line_ehlo(void **state)
{
	(void)state;
	struct smtp_reply r;
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "250-smtp-sink"), 0);
	assert_int_equal(feed(&r, "250-PIPELINING"), 0);
	assert_int_equal(feed(&r, "250-8BITMIME"), 0);
	assert_int_equal(feed(&r, "250 ENHANCEDSTATUSCODES"), 1);
	assert_int_equal(r.code, 250);
	assert_true(r.ehlo_8bitmime);
	assert_string_equal(r.text.data, "smtp-sink");
	assert_int_equal(r.n_lines, 4);
	smtp_reply_reset(&r);
	assert_int_equal(feed(&r, "354"), 1);	/* bare code */
	assert_int_equal(r.code, 354);
	assert_string_equal(r.enhanced, "");
	smtp_reply_free(&r);
}

static void test_enhanced_code_class_must_match(void **state)
{
	(void)state;
	struct smtp_reply r;
	smtp_reply_init(&r);
	/* "2.0.0" does not belong to a 4xx reply: kept as text */
	assert_int_equal(feed(&r, "451 2.0.0 odd"), 1);
	assert_string_equal(r.enhanced, "");
	assert_string_equal(r.text.data, "2.0.0 odd");
	smtp_reply_free(&r);
}

static void test_malformed_lines(void **state)
{
	(void)state;
	struct smtp_reply r;
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "25"), -1);
	assert_int_equal(feed(&r, "abc hello"), -1);
	assert_int_equal(feed(&r, "650 six"), -1);
	assert_int_equal(feed(&r, "250xhello"), -1);
	smtp_reply_reset(&r);
	assert_int_equal(feed(&r, "250-first"), 0);
	assert_int_equal(feed(&r, "251 changed code"), -1);
	smtp_reply_reset(&r);
	int ret = 0;
	for (int i = 0; i <= SMTP_REPLY_MAX_LINES && ret == 0; i++)
		ret = feed(&r, "250-again");
	assert_int_equal(ret, -1);
	smtp_reply_free(&r);
}

static void test_long_text_is_bounded(void **state)
{
	(void)state;
	struct smtp_reply r;
	char line[4000];
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "554 ", 4);
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, line), 1);
	assert_int_equal(r.text.len, SMTP_REPLY_MAX_TEXT);
	smtp_reply_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line_with_enhanced_code),
		cmocka_unit_test(test_multi_line_ehlo),
		cmocka_unit_test(test_enhanced_code_class_must_match),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_long_text_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
