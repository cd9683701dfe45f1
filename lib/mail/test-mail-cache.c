/* lib/mail cached fields: the mime.parts string round-trips for every
 * golden message and section fetches from the rebuilt tree are the same;
 * hostile mime.parts strings are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail-cache.h"
#include "mail-imap.h"
#include "mail-section.h"
#include "test-mail-golden.h"

static const char *const specs[] = {
	"", "HEADER", "TEXT", "1", "1.MIME", "2", "2.1", "2.HEADER", "1.1",
	"HEADER.FIELDS (Subject)", "3.TEXT",
};

static void test_roundtrip_golden(void **state)
{
	char **names;
	unsigned int n = list_messages(&names);

	(void)state;
	for (unsigned int i = 0; i < n; i++) {
		char *rel = xasprintf("msg/%s.eml", names[i]);
		char *path = testdata_path(rel);
		size_t len;
		char *msg = read_file(path, &len);
		struct mail_part *root = mail_parse(msg, len), *back;
		struct mail_cached_fields f;
		const char *error;
		char *again;

		mail_cached_fields_get(msg, len, root, &f);
		assert_int_equal(mail_parts_deserialize(
			f.value[MAIL_CACHED_MIME_PARTS],
			f.len[MAIL_CACHED_MIME_PARTS], NULL, &back, &error), 0);
		again = mail_parts_serialize(back);
		assert_string_equal(again, f.value[MAIL_CACHED_MIME_PARTS]);
		for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
			struct mail_section s;
			struct buf a = BUF_INIT, b = BUF_INIT;

			assert_int_equal(mail_section_parse(specs[k], &s,
							    &error), 0);
			mail_section_fetch(msg, len, root, &s, &a);
			mail_section_fetch(msg, len, back, &s, &b);
			assert_int_equal(a.len, b.len);
			assert_memory_equal(a.data, b.data, a.len);
			buf_free(&a);
			buf_free(&b);
			mail_section_free(&s);
		}
		struct buf bs = BUF_INIT;
		mail_imap_bodystructure(msg, len, back, true, &bs);
		assert_string_equal(bs.data,
				    f.value[MAIL_CACHED_BODYSTRUCTURE]);
		buf_free(&bs);
		free(again);
		mail_cached_fields_free(&f);
		mail_part_free(&back);
		mail_part_free(&root);
		free(msg);
		free(path);
		free(rel);
		free(names[i]);
	}
	free(names);
}

static void test_field_names(void **state)
{
	(void)state;
	assert_string_equal(mail_cached_field_names[MAIL_CACHED_ENVELOPE],
			    "envelope");
	assert_string_equal(mail_cached_field_names[MAIL_CACHED_MIME_PARTS],
			    "mime.parts");
}

static void check_refused(const char *text)
{
	struct mail_part *root = (struct mail_part *)1;
	const char *error;

	assert_int_equal(mail_parts_deserialize(text, strlen(text), NULL,
						&root, &error), -1);
	assert_null(root);
	assert_non_null(error);
}

static void test_hostile_mime_parts_refused(void **state)
{
	struct buf deep = BUF_INIT;

	(void)state;
	check_refused("");
	check_refused("2;4,0,1,1,1,0,0,0,0;");
	check_refused("1;4,0,1,1,1,0,0,0,0");		/* truncated */
	check_refused("1;4,0,1,1,1,0,0,0,0;x");		/* trailing */
	check_refused("1;4,0,1,1,1,0,0,0,1;");		/* missing child */
	check_refused("1;4,5,1,1,1,0,0,0,0;");		/* root not at 0 */
	check_refused("1;4,0,2,1,1,0,0,0,0;");		/* virtual < phys */
	check_refused("1;4,0,1,3,1,0,0,0,0;");		/* vsize vs lines */
	check_refused("1;4,0,99999999999999999999,1,1,0,0,0,0;");
	check_refused("1;1,0,1,1,1,10,10,0,1;4,5,1,1,1,10,10,0,0;");
	check_refused("1;1,0,1,1,1,10,10,0,2;4,1,1,1,1,2,2,0,0;"
		      "4,2,1,1,1,2,2,0,0;");		/* overlap */
	check_refused("1;ff,0,1,1,1,0,0,0,0;");		/* unknown flags */
	(void)buf_append_str(&deep, "1;");
	for (int i = 0; i < 200; i++)
		(void)buf_append_str(&deep, "2,0,0,0,0,0,0,0,1;");
	check_refused(deep.data);
	buf_free(&deep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_golden),
		cmocka_unit_test(test_field_names),
		cmocka_unit_test(test_hostile_mime_parts_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
