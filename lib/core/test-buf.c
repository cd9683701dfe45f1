/* lib/core/buf: bounded appends, printf growth, consume, steal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void test_append_grows_and_terminates(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_append_str(&b, "ab"), 0);
	assert_int_equal(b.len, 2000);
	assert_int_equal(b.data[2000], '\0');
	assert_int_equal(strncmp(b.data + 1998, "ab", 2), 0);
	buf_free(&b);
}

static void test_max_is_enforced_and_buffer_unchanged(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 5);
	assert_int_equal(buf_append_str(&b, "abcd"), 0);
	assert_int_equal(buf_append_str(&b, "ef"), -1);
	assert_string_equal(b.data, "abcd");
	assert_int_equal(buf_append_c(&b, 'e'), 0);
	assert_int_equal(buf_append_c(&b, 'f'), -1);
	assert_int_equal(buf_printf(&b, "%d", 1), -1);
	assert_null(buf_append_space(&b, 1));
	assert_string_equal(b.data, "abcde");
	buf_free(&b);
}

static void test_printf_and_consume(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	assert_int_equal(buf_printf(&b, "%s=%d;", "x", 42), 0);
	assert_int_equal(buf_printf(&b, "%0300d", 7), 0);
	assert_int_equal(b.len, 5 + 300);
	buf_consume(&b, 5);
	assert_int_equal(b.len, 300);
	assert_int_equal(b.data[299], '7');
	buf_consume(&b, 1000);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_free(&b);
}

static void test_steal_and_overflowing_sizes(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	char *s = buf_steal(&b);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(buf_append(&b, "xyz", 3), 0);
	s = buf_steal(&b);
	assert_string_equal(s, "xyz");
	assert_null(b.data);
	free(s);
	/* len + extra overflowing size_t is refused, not wrapped. */
	assert_int_equal(buf_append(&b, "a", 1), 0);
	assert_null(buf_append_space(&b, SIZE_MAX));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_grows_and_terminates),
		cmocka_unit_test(test_max_is_enforced_and_buffer_unchanged),
		cmocka_unit_test(test_printf_and_consume),
		cmocka_unit_test(test_steal_and_overflowing_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
