/* Unit tests: the CDMI answer reader (cdmi-json.c) on the spec's answer
 * shapes, every truncation of one, hostile nesting and bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "cdmi-json.h"

static const char container_answer[] =
	"{\"objectType\": \"application/cdmi-container\", \"objectName\": \"lst/\",\n"
	" \"metadata\": {\"cdmi_size\": \"0\", \"nested\": {\"x\": [1, 2]}},\n"
	" \"childrenrange\": \"0-2\",\n"
	" \"children\": [\"a\", \"sub/\", \"\\u00fc\\ud83d\\ude00\"]}";

static void test_container_children(void **state)
{
	struct cdmi_answer a;
	(void)state;
	assert_int_equal(cdmi_json_parse(container_answer, strlen(container_answer), &a), 0);
	assert_int_equal(a.n_children, 3);
	assert_string_equal(a.children[0], "a");
	assert_string_equal(a.children[1], "sub/");
	assert_string_equal(a.children[2], "\xc3\xbc\xf0\x9f\x98\x80");
	assert_string_equal(a.childrenrange, "0-2");
	assert_string_equal(cdmi_answer_meta(&a, "cdmi_size"), "0");
	assert_null(cdmi_answer_meta(&a, "nested"));
	cdmi_answer_free(&a);
}

static void test_object_metadata(void **state)
{
	const char *j = "{\"metadata\":{\"cdmi_size\":1234,\"stratus_mailbox_guid\":\"g\\\"1\","
		"\"flag\":true,\"none\":null},\"children\":\"not an array\"}";
	struct cdmi_answer a;
	(void)state;
	assert_int_equal(cdmi_json_parse(j, strlen(j), &a), 0);
	assert_string_equal(cdmi_answer_meta(&a, "cdmi_size"), "1234");
	assert_string_equal(cdmi_answer_meta(&a, "stratus_mailbox_guid"), "g\"1");
	assert_string_equal(cdmi_answer_meta(&a, "flag"), "true");
	assert_int_equal(a.n_children, 0);
	cdmi_answer_free(&a);
}

static void test_every_truncation_fails_cleanly(void **state)
{
	size_t len = strlen(container_answer);
	(void)state;
	for (size_t i = 0; i < len; i++) {
		struct cdmi_answer a;
		char *copy = malloc(i + 1);	/* exact size: ASan sees overreads */
		memcpy(copy, container_answer, i);
		assert_int_equal(cdmi_json_parse(copy, i, &a), -1);
		cdmi_answer_free(&a);
		free(copy);
	}
}

static void test_hostile_input(void **state)
{
	static const char *const bad[] = {
		"", "[]", "{} x", "{\"a\":}", "{\"a\" 1}", "{\"a\":tru}",
		"{\"children\":[\"a\\u0000b\"]}", "{\"children\":[\"\\ud800\"]}",
		"{\"a\":\"\x01\"}", "{\"a\":\"\\x\"}", "{,}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cdmi_answer a;
		assert_int_equal(cdmi_json_parse(bad[i], strlen(bad[i]), &a), -1);
		cdmi_answer_free(&a);
	}
}

static void test_depth_and_count_bounds(void **state)
{
	struct buf b = BUF_INIT;
	struct cdmi_answer a;
	(void)state;
	buf_append_str(&b, "{\"x\":");
	for (int i = 0; i < 100000; i++)
		buf_append_c(&b, '[');
	assert_int_equal(cdmi_json_parse(b.data, b.len, &a), -1);
	cdmi_answer_free(&a);

	buf_reset(&b);
	buf_append_str(&b, "{\"children\":[");
	for (int i = 0; i <= CDMI_JSON_MAX_CHILDREN; i++)
		buf_printf(&b, "%s\"k%d\"", i ? "," : "", i);
	buf_append_str(&b, "]}");
	assert_int_equal(cdmi_json_parse(b.data, b.len, &a), -1);
	assert_true(a.n_children <= CDMI_JSON_MAX_CHILDREN);
	cdmi_answer_free(&a);

	buf_reset(&b);
	buf_append_str(&b, "{\"children\":[\"");
	for (int i = 0; i < 5000; i++)
		buf_append_c(&b, 'n');
	buf_append_str(&b, "\"]}");
	assert_int_equal(cdmi_json_parse(b.data, b.len, &a), -1);
	cdmi_answer_free(&a);
	buf_free(&b);
}

static void test_quote(void **state)
{
	struct buf b = BUF_INIT;
	struct cdmi_answer a;
	(void)state;
	buf_append_str(&b, "{\"metadata\":{\"k\":");
	cdmi_json_quote(&b, "a\"b\\c\n\x01/d");
	buf_append_str(&b, "}}");
	assert_int_equal(cdmi_json_parse(b.data, b.len, &a), 0);
	assert_string_equal(cdmi_answer_meta(&a, "k"), "a\"b\\c\n\x01/d");
	cdmi_answer_free(&a);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_children),
		cmocka_unit_test(test_object_metadata),
		cmocka_unit_test(test_every_truncation_fails_cleanly),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_depth_and_count_bounds),
		cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
