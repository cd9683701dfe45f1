/* lib/mail header-field cache: for every test message and for header
 * shapes chosen to break it (LF and CRLF, folding, no blank line, no
 * final LF, empty header, NUL bytes, repeated fields), FETCH
 * HEADER.FIELDS answered from the cached value is byte for byte what the
 * same FETCH gives from the message; names outside the cache are not
 * claimed; an oversized header is not cached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail-header-cache.h"
#include "mail-parser.h"
#include "mail-section.h"
#include "test-mail-golden.h"

static const char *const field_lists[] = {
	"HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID CONTENT-TYPE)",
	"HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority "
	"X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)",
	"HEADER.FIELDS (SUBJECT)",
	"HEADER.FIELDS (x-tuid)",
	"HEADER.FIELDS (\"Date\" References)",
};

/* Compares the two answers for every field list; returns mismatches. */
static unsigned int compare_message(const char *msg, size_t len,
				    const char *label)
{
	struct mail_part *root = mail_parse(msg, len);
	struct buf value = BUF_INIT, want = BUF_INIT, got = BUF_INIT;
	unsigned int bad = 0;

	uint64_t hsize = root->header.physical;
	assert_true(mail_header_cache_build(msg, (size_t)hsize, &value));
	for (size_t i = 0; i < sizeof(field_lists) / sizeof(*field_lists);
	     i++) {
		struct mail_section s;
		const char *error;
		assert_int_equal(mail_section_parse(field_lists[i], &s, &error),
				 0);
		assert_true(mail_header_cache_covers(&s));
		buf_reset(&want);
		buf_reset(&got);
		mail_section_fetch(msg, len, root, &s, &want);
		assert_true(mail_header_cache_fetch(value.data, value.len, &s,
						    &got));
		if (want.len != got.len ||
		    memcmp(want.data, got.data, want.len) != 0) {
			fprintf(stderr, "%s: %s differs:\n[%.*s]\n[%.*s]\n",
				label, field_lists[i], (int)want.len,
				want.data, (int)got.len, got.data);
			bad++;
		}
		mail_section_free(&s);
	}
	buf_free(&value);
	buf_free(&want);
	buf_free(&got);
	mail_part_free(&root);
	return bad;
}

static void test_every_test_message(void **state)
{
	char **names;
	unsigned int n = list_messages(&names), bad = 0;

	(void)state;
	assert_true(n > 10);
	for (unsigned int i = 0; i < n; i++) {
		char *rel = xasprintf("msg/%s.eml", names[i]);
		char *path = testdata_path(rel);
		size_t len;
		char *msg = read_file(path, &len);
		bad += compare_message(msg, len, names[i]);
		free(msg);
		free(path);
		free(rel);
		free(names[i]);
	}
	free(names);
	assert_int_equal(bad, 0);
}

static void test_header_shapes(void **state)
{
	static const struct {
		const char *msg;
		size_t len;
	} shapes[] = {
#define M(s) { s, sizeof(s) - 1 }
		M("From: a@b\r\nSubject: x\r\n\r\nbody\r\n"),
		M("From: a@b\nSubject: folded\n\tsecond line\n\nbody\n"),
		M("Subject: no blank line\r\nFrom: a@b\r\n"),
		M("Subject: no final LF"),
		M("X-Other: 1\nSubject: last without LF"),
		M(""),
		M("\r\nbody only\r\n"),
		M("Subject: a\0b\r\nTo: c\r\n\r\n"),
		M("Subject: one\r\nSubject: two\r\nX-A: 1\r\nDate: d\r\n\r\n"),
		M("not a field line\r\nSubject: s\r\n\r\nb"),
		M(" leading blank\r\nSubject: s\r\n\r\nb"),
		M("Subject:\r\nTo:   \r\n\r\n"),
		M("X-Only: uncached\r\n\r\nbody"),
		M("X-Only: uncached"),
		M("References: <a@b>\r\n <c@d>\r\n\t<e@f>\r\nSubject: s\r\n\r\n"),
#undef M
	};
	unsigned int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(*shapes); i++) {
		char label[32];
		snprintf(label, sizeof(label), "shape %zu", i);
		bad += compare_message(shapes[i].msg, shapes[i].len, label);
	}
	assert_int_equal(bad, 0);
}

static void test_coverage_and_limits(void **state)
{
	struct mail_section s;
	const char *error;
	struct buf value = BUF_INIT, out = BUF_INIT;

	(void)state;
	assert_int_equal(mail_section_parse("HEADER.FIELDS (SUBJECT X-NOT-CACHED)",
					    &s, &error), 0);
	assert_false(mail_header_cache_covers(&s));
	mail_section_free(&s);
	assert_int_equal(mail_section_parse("HEADER.FIELDS.NOT (SUBJECT)", &s,
					    &error), 0);
	assert_false(mail_header_cache_covers(&s));
	mail_section_free(&s);
	assert_int_equal(mail_section_parse("1.HEADER.FIELDS (SUBJECT)", &s,
					    &error), 0);
	assert_false(mail_header_cache_covers(&s));
	mail_section_free(&s);
	assert_int_equal(mail_section_parse("HEADER", &s, &error), 0);
	assert_false(mail_header_cache_covers(&s));
	mail_section_free(&s);

	/* a References flood is not cached */
	struct buf big = BUF_INIT;
	(void)buf_append_str(&big, "References: <x@y>\r\n");
	while (big.len < MAIL_HEADER_CACHE_MAX + 100)
		(void)buf_append_str(&big, " <0123456789@example.org>\r\n");
	(void)buf_append_str(&big, "\r\n");
	assert_false(mail_header_cache_build(big.data, big.len, &value));
	assert_int_equal(value.len, 0);

	/* malformed values are refused, not read */
	assert_int_equal(mail_section_parse("HEADER.FIELDS (SUBJECT)", &s,
					    &error), 0);
	assert_false(mail_header_cache_fetch("", 0, &s, &out));
	assert_false(mail_header_cache_fetch("9Subject: x\r\n", 13, &s, &out));
	assert_int_equal(out.len, 0);
	mail_section_free(&s);
	buf_free(&big);
	buf_free(&value);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_test_message),
		cmocka_unit_test(test_header_shapes),
		cmocka_unit_test(test_coverage_and_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
