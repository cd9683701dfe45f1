/* Thread ids: the root is References' first msg-id, else In-Reply-To's,
 * else Message-ID's; a thread's messages share the id whatever their
 * order; folding, comments and junk around msg-ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "mail-threadid.h"

static void check_root(const char *hdr, const char *expect)
{
	struct buf root = BUF_INIT;
	bool found = mail_thread_root(hdr, strlen(hdr), &root);
	if (expect == NULL) {
		assert_false(found);
		assert_int_equal(root.len, 0);
	} else {
		assert_true(found);
		assert_string_equal(root.data, expect);
	}
	buf_free(&root);
}

static void test_root_order(void **state)
{
	(void)state;
	check_root("Message-ID: <a@x>\r\n\r\nbody <b@y>\r\n", "a@x");
	check_root("Message-ID: <c@x>\r\nIn-Reply-To: <b@x>\r\n\r\n", "b@x");
	check_root("Message-ID: <d@x>\r\nIn-Reply-To: <c@x>\r\n"
		   "References: <a@x> <b@x>\r\n <c@x>\r\n\r\n", "a@x");
	check_root("Subject: none\r\n\r\n", NULL);
	/* no valid msg-id in References: In-Reply-To decides */
	check_root("References: junk\r\nIn-Reply-To: <p@x>\r\n"
		   "Message-ID: <q@x>\r\n\r\n", "p@x");
	check_root("In-Reply-To: <>\r\nMessage-ID: <q@x>\r\n\r\n", "q@x");
}

static void test_root_forms(void **state)
{
	(void)state;
	/* a long msg-id folded inside the brackets */
	check_root("References: <very-long-\r\n id@example.com>\r\n\r\n",
		   "very-long-id@example.com");
	/* a comment before it, and a "<" inside the comment */
	check_root("References: (see <not@this>) <root@x>\r\n\r\n",
		   "root@x");
	/* an unclosed bracket, then a good one */
	check_root("References: <broken <good@x>\r\n\r\n", "good@x");
	check_root("Message-ID: <unclosed@x\r\n\r\n", NULL);
}

static void test_same_thread(void **state)
{
	(void)state;
	const char *root = "Message-ID: <r@x>\r\n\r\n";
	const char *reply = "Message-ID: <s@x>\r\nIn-Reply-To: <r@x>\r\n"
		"References: <r@x>\r\n\r\n";
	const char *deep = "Message-ID: <t@x>\r\nReferences: <r@x> <s@x>"
		"\r\n\r\n";
	const char *other = "Message-ID: <u@x>\r\n\r\n";
	char a[MAIL_THREADID_LEN + 1], b[MAIL_THREADID_LEN + 1];
	char c[MAIL_THREADID_LEN + 1], d[MAIL_THREADID_LEN + 1];
	assert_true(mail_threadid(root, strlen(root), a));
	assert_true(mail_threadid(reply, strlen(reply), b));
	assert_true(mail_threadid(deep, strlen(deep), c));
	assert_true(mail_threadid(other, strlen(other), d));
	assert_int_equal(strlen(a), MAIL_THREADID_LEN);
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	assert_string_not_equal(a, d);
	char e[MAIL_THREADID_LEN + 1];
	mail_threadid_of_root("r@x", 3, e);
	assert_string_equal(a, e);
	assert_false(mail_threadid("X: y\r\n\r\n", 8, e));
	assert_string_equal(e, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_order),
		cmocka_unit_test(test_root_forms),
		cmocka_unit_test(test_same_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
