/* lib/mail FETCH sections: every BODY[...]<...> item of the Dovecot
 * golden files byte for byte, section syntax, CRLF normalisation and
 * partial ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail-parser.h"
#include "mail-section.h"
#include "test-mail-golden.h"

/* Decodes an IMAP string as Dovecot sent it: literal, quoted or NIL. */
static void imap_value(const char *v, size_t len, struct buf *out)
{
	buf_reset(out);
	(void)buf_append(out, "", 0);
	if (len > 0 && v[0] == '{') {
		char *e;
		unsigned long n = strtoul(v + 1, &e, 10);
		(void)buf_append(out, e + 3, n);
	} else if (len >= 2 && v[0] == '"') {
		for (size_t i = 1; i + 1 < len; i++) {
			if (v[i] == '\\')
				i++;
			(void)buf_append_c(out, v[i]);
		}
	}
}

/* "BODY[spec]<o.n>" -> spec, offset, count (count 0 = no partial). */
static char *split_item(const char *item, uint64_t *off, uint64_t *count)
{
	const char *open = strchr(item, '['), *close = strrchr(item, ']');

	*off = 0;
	*count = 0;
	if (close[1] == '<')
		sscanf(close + 2, "%llu.%llu", (unsigned long long *)off,
		       (unsigned long long *)count);
	return xstrndup(open + 1, (size_t)(close - open - 1));
}

static void test_golden_sections(void **state)
{
	char **names;
	unsigned int n = list_messages(&names), checked = 0, failures = 0;

	(void)state;
	for (unsigned int i = 0; i < n; i++) {
		char *rel = xasprintf("msg/%s.eml", names[i]);
		char *path = testdata_path(rel);
		char *grel = xasprintf("golden/%s.golden", names[i]);
		char *gpath = testdata_path(grel);
		size_t len, glen;
		char *msg = read_file(path, &len);
		char *golden = read_file(gpath, &glen);
		struct mail_part *root = mail_parse(msg, len);
		struct buf out = BUF_INIT, expect = BUF_INIT;
		const char *p = golden, *end = golden + glen;

		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			char *item = xstrndup(p, (size_t)(nl - p)), *e;
			unsigned long vlen = strtoul(nl + 1, &e, 10);
			const char *v = e + 1;

			p = v + vlen + 1;
			if (strncmp(item, "BODY[", 5) != 0) {
				free(item);
				continue;
			}
			uint64_t off, count;
			char *spec = split_item(item, &off, &count);
			struct mail_section sect;
			const char *error;

			assert_int_equal(mail_section_parse(spec, &sect,
							    &error), 0);
			buf_reset(&out);
			mail_section_fetch(msg, len, root, &sect, &out);
			if (count > 0)
				mail_section_partial(&out, off, count);
			imap_value(v, vlen, &expect);
			if (out.len != expect.len ||
			    memcmp(out.data, expect.data, out.len) != 0) {
				fprintf(stderr, "%s %s:\nexpected [%s]\n"
					"     got [%s]\n", names[i], item,
					expect.data, out.data);
				failures++;
			}
			checked++;
			mail_section_free(&sect);
			free(spec);
			free(item);
		}
		buf_free(&out);
		buf_free(&expect);
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
	assert_int_equal(failures, 0);
	assert_true(checked > 400);
}

static void check_bad(const char *spec)
{
	struct mail_section s;
	const char *error;

	assert_int_equal(mail_section_parse(spec, &s, &error), -1);
	assert_non_null(error);
	mail_section_free(&s);
}

static void test_section_syntax(void **state)
{
	struct mail_section s;
	const char *error;

	(void)state;
	assert_int_equal(mail_section_parse("1.2.3.MIME", &s, &error), 0);
	assert_int_equal(s.path_len, 3);
	assert_int_equal(s.kind, MAIL_SECTION_MIME);
	mail_section_free(&s);
	assert_int_equal(mail_section_parse(
		"header.fields.not (From \"X-A b\")", &s, &error), 0);
	assert_int_equal(s.kind, MAIL_SECTION_HEADER_FIELDS_NOT);
	assert_int_equal(s.field_count, 2);
	assert_string_equal(s.fields[1], "X-A b");
	mail_section_free(&s);
	check_bad("0");
	check_bad("1.");
	check_bad("MIME");
	check_bad("1.FOO");
	check_bad("HEADER.FIELDS");
	check_bad("HEADER.FIELDS ()");
	check_bad("HEADER.FIELDS (From");
	check_bad("TEXT.x");
	check_bad("99999999999");
}

static void test_crlf_normalised(void **state)
{
	const char *m = "A: 1\nB: 2\n\nx\ny\r\n";
	struct mail_part *root = mail_parse(m, strlen(m));
	struct mail_section s;
	struct buf out = BUF_INIT;
	const char *error;

	(void)state;
	assert_int_equal(mail_section_parse("", &s, &error), 0);
	mail_section_fetch(m, strlen(m), root, &s, &out);
	assert_string_equal(out.data, "A: 1\r\nB: 2\r\n\r\nx\r\ny\r\n");
	assert_int_equal(out.len, root->header.virtual + root->body.virtual);
	mail_section_free(&s);
	buf_reset(&out);
	assert_int_equal(mail_section_parse("HEADER.FIELDS (b)", &s, &error),
			 0);
	mail_section_fetch(m, strlen(m), root, &s, &out);
	assert_string_equal(out.data, "B: 2\r\n\r\n");
	mail_section_free(&s);
	buf_free(&out);
	mail_part_free(&root);
}

static void test_partial_bounds(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	(void)buf_append_str(&b, "0123456789");
	mail_section_partial(&b, 8, 100);
	assert_string_equal(b.data, "89");
	mail_section_partial(&b, 5, 1);
	assert_string_equal(b.data, "");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_sections),
		cmocka_unit_test(test_section_syntax),
		cmocka_unit_test(test_crlf_normalised),
		cmocka_unit_test(test_partial_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
