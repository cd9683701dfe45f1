/* lib/mail ENVELOPE/BODY/BODYSTRUCTURE: byte-exact against Dovecot 2.3
 * answers in testdata/golden (made by testdata/gen-golden.py), and the
 * IMAP string quoting rules one by one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail-imap.h"
#include "mail-parser.h"
#include "test-mail-golden.h"

static void check_item(const char *name, const char *golden, size_t glen,
		       const char *item, const struct buf *got)
{
	size_t elen = 0;
	char *expect = golden_item(golden, glen, item, &elen);

	assert_non_null(expect);
	if (elen != got->len || memcmp(expect, got->data, elen) != 0) {
		fprintf(stderr, "%s %s:\n expected %.*s\n      got %.*s\n",
			name, item, (int)elen, expect, (int)got->len,
			got->data);
		fail();
	}
	free(expect);
}

static void test_golden_dovecot(void **state)
{
	char **names;
	unsigned int n = list_messages(&names);

	(void)state;
	assert_true(n >= 20);
	for (unsigned int i = 0; i < n; i++) {
		char *rel = xasprintf("msg/%s.eml", names[i]);
		char *path = testdata_path(rel);
		char *grel = xasprintf("golden/%s.golden", names[i]);
		char *gpath = testdata_path(grel);
		size_t len, glen;
		char *msg = read_file(path, &len);
		char *golden = read_file(gpath, &glen);
		struct mail_part *root = mail_parse(msg, len);
		struct buf out = BUF_INIT;

		mail_imap_envelope(msg, len, root, &out);
		check_item(names[i], golden, glen, "ENVELOPE", &out);
		buf_reset(&out);
		mail_imap_bodystructure(msg, len, root, true, &out);
		check_item(names[i], golden, glen, "BODYSTRUCTURE", &out);
		buf_reset(&out);
		mail_imap_bodystructure(msg, len, root, false, &out);
		check_item(names[i], golden, glen, "BODY", &out);
		buf_reset(&out);
		(void)buf_printf(&out, "%llu", (unsigned long long)
				 (root->header.virtual + root->body.virtual));
		check_item(names[i], golden, glen, "RFC822.SIZE", &out);

		buf_free(&out);
		mail_part_free(&root);
		free(msg);
		free(golden);
		free(rel);
		free(path);
		free(grel);
		free(gpath);
		free(names[i]);
	}
	free(names);
}

static void check_nstring(const char *in, const char *expect)
{
	struct buf out = BUF_INIT;

	imap_append_nstring(&out, in);
	assert_string_equal(out.data, expect);
	buf_free(&out);
}

static void test_nstring_quoting(void **state)
{
	(void)state;
	check_nstring(NULL, "NIL");
	check_nstring("", "\"\"");
	check_nstring("plain", "\"plain\"");
	check_nstring("a \"b\" c", "\"a \\\"b\\\" c\"");
	check_nstring("\\\\\\\\", "\"\\\\\\\\\\\\\\\\\"");
	check_nstring("\\\\\\\\\\", "{5}\r\n\\\\\\\\\\");
	check_nstring("caf\xc3\xa9", "{5}\r\ncaf\xc3\xa9");
	check_nstring("a\r\nb", "{4}\r\na\r\nb");
}

static void check_humans(const char *in, const char *expect)
{
	struct buf out = BUF_INIT;

	imap_append_string_for_humans(&out, in);
	assert_string_equal(out.data, expect);
	buf_free(&out);
}

static void test_string_for_humans(void **state)
{
	(void)state;
	check_humans("", "\"\"");
	check_humans("Hello there", "\"Hello there\"");
	check_humans("  ", "\"\"");
	check_humans(" lead", "{4}\r\nlead");
	check_humans("trail ", "{5}\r\ntrail");
	check_humans("a\r\n\tb  c", "{5}\r\na b c");
	check_humans("say \"x\"", "{7}\r\nsay \"x\"");
}

static void check_nolf(const char *in, const char *expect)
{
	struct buf out = BUF_INIT;

	imap_append_nstring_nolf(&out, in);
	assert_string_equal(out.data, expect);
	buf_free(&out);
}

static void test_nstring_nolf(void **state)
{
	(void)state;
	check_nolf("a\r\n b", "\"a b\"");
	check_nolf("\r\n <id@x>", "\" <id@x>\"");
	check_nolf("a\nb", "\"a b\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_dovecot),
		cmocka_unit_test(test_nstring_quoting),
		cmocka_unit_test(test_string_for_humans),
		cmocka_unit_test(test_nstring_nolf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
