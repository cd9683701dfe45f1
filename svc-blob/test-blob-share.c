/* Unit tests: the single-instance key form (blob-share.c) that decides
 * whether a Get reads another user's object and whether a Delete is a
 * release: only "<box>/<guid>.sis<N>.<owner>" with 1 <= N <= 100000 and
 * a non-empty owner is one; anything else stays an ordinary key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blob-share.h"

#define BOX "0123456789abcdef0123456789abcdef"
#define MSG "fedcba9876543210fedcba9876543210"

static void test_share_key_parsed(void **state)
{
	(void)state;
	char *owner = NULL;
	unsigned int n = 0;
	assert_true(blob_share_parse(BOX "/" MSG ".sis10.user1@example.com",
				     &owner, &n));
	assert_string_equal(owner, "user1@example.com");
	assert_int_equal(n, 10);
	free(owner);
	/* an owner may itself contain ".sis" and dots */
	assert_true(blob_share_parse(BOX "/" MSG ".sis2.a.sis3.b", &owner, &n));
	assert_string_equal(owner, "a.sis3.b");
	assert_int_equal(n, 2);
	free(owner);
}

static void test_ordinary_keys_are_not_shared(void **state)
{
	(void)state;
	static const char *const keys[] = {
		BOX "/" MSG,			/* an ordinary mail object */
		BOX "/" MSG ".sis10.",		/* no owner */
		BOX "/" MSG ".sis.u",		/* no count */
		BOX "/" MSG ".sis0.u",		/* zero users */
		BOX "/" MSG ".sis100001.u",	/* too many */
		BOX "/" MSG ".sis12345678.u",	/* too many digits */
		BOX "/" MSG ".sisx.u",
		BOX "/.sis2.u",			/* no message part */
		"/" MSG ".sis2.u",		/* no mailbox part */
		MSG ".sis2.u",			/* one part */
		BOX "/x/" MSG ".sis2.u",	/* three parts */
		"sis-released/" MSG ".sis2.u/abc",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *owner = NULL;
		unsigned int n = 0;
		if (blob_share_parse(keys[i], &owner, &n))
			fail_msg("%s parsed as shared", keys[i]);
	}
	char *plain[] = { (char *)BOX "/" MSG, (char *)"a/b" };
	assert_false(blob_share_any(plain, 2));
	char *mixed[] = { (char *)BOX "/" MSG, (char *)BOX "/" MSG ".sis3.u" };
	assert_true(blob_share_any(mixed, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_key_parsed),
		cmocka_unit_test(test_ordinary_keys_are_not_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
