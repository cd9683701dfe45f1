/* Unit tests of the script storage layout (sieve-storage.c): names, keys,
 * which listed keys are scripts, the quota rule and the compile step that
 * PUTSCRIPT and `stratusctl sieve put` share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "sieve.h"
#include "sieve-storage.h"

static bool valid(const char *s)
{
	return sieve_storage_name_valid(s, strlen(s));
}

static void test_name_rules(void **state)
{
	char longname[SIEVE_STORAGE_MAX_NAME_LEN + 2];

	(void)state;
	assert_true(valid("vacation"));
	assert_true(valid("my rules (2)"));
	assert_true(valid("\xc3\xa9t\xc3\xa9"));
	assert_false(valid(""));
	assert_false(valid(".active"));
	assert_false(valid("a/b"));
	assert_false(valid("x.svbin"));
	assert_false(valid("tab\there"));
	assert_false(valid("del\x7f"));
	assert_false(sieve_storage_name_valid("a\0b", 3));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(valid(longname));
	longname[SIEVE_STORAGE_MAX_NAME_LEN] = '\0';
	assert_true(valid(longname));
}

static void test_keys(void **state)
{
	char *k = sieve_storage_script_key("rules");
	char *b = sieve_storage_binary_key("rules");

	(void)state;
	assert_string_equal(k, "sieve/rules");
	assert_string_equal(b, "sieve/rules.svbin");
	assert_string_equal(sieve_storage_key_script_name(k), "rules");
	assert_null(sieve_storage_key_script_name(b));
	assert_null(sieve_storage_key_script_name(SIEVE_STORAGE_ACTIVE_KEY));
	assert_null(sieve_storage_key_script_name("sieve/"));
	assert_null(sieve_storage_key_script_name("sieve/a/b"));
	assert_null(sieve_storage_key_script_name("mail/x"));
	free(k);
	free(b);
}

static void test_quota(void **state)
{
	struct sieve_storage_entry e[] = {
		{ (char *)"a", 100 }, { (char *)"b", 200 },
	};
	struct sieve_storage_limits lim = { 1000, 2, 400 };
	const char *text = NULL;

	(void)state;
	assert_null(sieve_storage_quota_check(&lim, "a", 150, e, 2, &text));
	assert_string_equal(sieve_storage_quota_check(&lim, "c", 10, e, 2,
						      &text),
			    "QUOTA/MAXSCRIPTS");
	assert_string_equal(sieve_storage_quota_check(&lim, "a", 300, e, 2,
						      &text),
			    "QUOTA/MAXSTORAGE");
	assert_string_equal(sieve_storage_quota_check(&lim, "a", 2000, e, 2,
						      &text),
			    "QUOTA/MAXSIZE");
	assert_non_null(text);
	lim.max_scripts = 0;
	lim.max_storage = 0;
	assert_null(sieve_storage_quota_check(&lim, "c", 10, e, 2, &text));
}

static void test_compile(void **state)
{
	const char *good = "require \"fileinto\";\nfileinto \"X\";\n";
	const char *bad = "keep;\n  frobnicate;\n";
	const char *two = "fileinto \"a\";\n  fileinto \"b\";\n";
	void *bin = NULL;
	size_t len = 0;
	char *err = NULL;
	struct sieve_script *s = NULL;

	(void)state;
	assert_int_equal(sieve_storage_compile(good, strlen(good), 0, 5, &bin,
					       &len, &err), 0);
	assert_non_null(bin);
	assert_int_equal(sieve_binary_load(bin, len, &s), SIEVE_BINARY_OK);
	sieve_script_free(&s);
	free(bin);
	assert_int_equal(sieve_storage_compile(bad, strlen(bad), 0, 1, NULL,
					       NULL, &err), -1);
	assert_string_equal(err, "line 2, column 3: unknown command "
			    "'frobnicate'");
	free(err);
	/* The compiler stops at its first error today; whatever the
	 * count, a single error carries no newline. */
	assert_int_equal(sieve_storage_compile(two, strlen(two), 0, 5, NULL,
					       NULL, &err), -1);
	assert_non_null(strstr(err, "line 1, column 1"));
	assert_null(strchr(err, '\n'));
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_rules),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_compile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
