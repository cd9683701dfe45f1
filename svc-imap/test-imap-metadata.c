/* Unit tests for METADATA entries: the stored form round trip, damaged
 * stored forms (read from svc-blob, so untrusted), entry name rules and
 * the DEPTH test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "imap-metadata.h"

static void test_round_trip(void **state)
{
	(void)state;
	struct imap_md md = { 0 };
	imap_md_set(&md, "", "/shared/comment", "Shared comment", 14);
	imap_md_set(&md, "0123abcd", "/private/bin", "a\0b\n", 4);
	imap_md_set(&md, "0123abcd", "/private/gone", "x", 1);
	imap_md_set(&md, "0123abcd", "/private/gone", NULL, 0);
	struct buf out = BUF_INIT;
	imap_md_serialize(&md, &out);
	struct imap_md back = { 0 };
	assert_int_equal(imap_md_parse(&back, out.data, out.len), 0);
	assert_int_equal(back.n, 2);
	struct imap_md_entry *e = imap_md_find(&back, "0123abcd", "/private/bin");
	assert_non_null(e);
	assert_int_equal(e->value_len, 4);
	assert_memory_equal(e->value, "a\0b\n", 4);
	assert_null(imap_md_find(&back, "", "/private/bin"));
	assert_null(imap_md_find(&back, "0123abcd", "/private/gone"));
	size_t n, bytes;
	imap_md_usage(&back, &n, &bytes);
	assert_int_equal(n, 2);
	assert_int_equal(bytes, strlen("/shared/comment") + 14 +
			 strlen("/private/bin") + 4);
	buf_free(&out);
	imap_md_free(&md);
	imap_md_free(&back);
}

static void test_damaged(void **state)
{
	(void)state;
	static const char *bad[] = {
		"garbage",
		"STRATUS-METADATA 1\n0 5 1\n/a/b",	/* short */
		"STRATUS-METADATA 1\n0 4 1\n/a/bxY",	/* no final \n */
		"STRATUS-METADATA 1\n0 0 1\nx\n",	/* empty name */
		"STRATUS-METADATA 1\n0 4\n/a/b\n",	/* two lengths */
		"STRATUS-METADATA 1\n0 99999999999999999999 1\n",
		"STRATUS-METADATA 1\n-1 4 1\n/a/bx\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct imap_md md = { 0 };
		assert_int_equal(imap_md_parse(&md, bad[i], strlen(bad[i])), -1);
		imap_md_free(&md);
	}
	/* a NUL in a scope or name (found by fuzz-imap-metadata) */
	static const char nul[] = "STRATUS-METADATA 1\n2 4 1\na\0/a/bx\n";
	struct imap_md md0 = { 0 };
	assert_int_equal(imap_md_parse(&md0, nul, sizeof(nul) - 1), -1);
	imap_md_free(&md0);
	struct imap_md md = { 0 };
	assert_int_equal(imap_md_parse(&md, "", 0), 0);
	assert_int_equal(md.n, 0);
}

static void test_entry_names(void **state)
{
	(void)state;
	char out[IMAP_METADATA_MAX_NAME + 1];
	static const char *good[] = { "/private/comment", "/SHARED/Vendor/x",
				      "/private/a/b/c" };
	for (size_t i = 0; i < 3; i++)
		assert_true(imap_md_entry_name(good[i], strlen(good[i]), out));
	assert_string_equal(out, "/private/a/b/c");
	assert_true(imap_md_entry_name("/SHARED/Vendor/x", 16, out));
	assert_string_equal(out, "/shared/vendor/x");
	static const char *bad[] = { "", "/private", "/private/", "/shared",
				     "/comment", "/private/a//b", "/private/a/",
				     "/private/*", "/shared/a%", "/private/a b",
				     "private/a" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(imap_md_entry_name(bad[i], strlen(bad[i]), out));
	assert_false(imap_md_entry_name("/private/\x01", 10, out));
	assert_true(imap_md_get_name("/PRIVATE", 8, out));
	assert_string_equal(out, "/private");
	assert_true(imap_md_get_name("/shared", 7, out));
	assert_false(imap_md_get_name("/shared/", 8, out));
	assert_false(imap_md_get_name("/other", 6, out));
}

static void test_depth(void **state)
{
	(void)state;
	assert_true(imap_md_is_child("/private/a/b", "/private/a", 1));
	assert_false(imap_md_is_child("/private/a/b/c", "/private/a", 1));
	assert_true(imap_md_is_child("/private/a/b/c", "/private/a", -1));
	assert_false(imap_md_is_child("/private/a/b", "/private/a", 0));
	assert_false(imap_md_is_child("/private/ab", "/private/a", -1));
	assert_false(imap_md_is_child("/private/a", "/private/a", -1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_entry_names),
		cmocka_unit_test(test_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
