/* Unit tests: the S3 answer scanner (s3-xml.c) on a hostile 100,000-key
 * listing (bounded output, linear time, never a silent skip), every
 * truncation of real answers, and huge or truncated error bodies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "buf.h"
#include "s3-xml.h"

static const char list_page[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>mails</Name><Prefix>ab/</Prefix><KeyCount>2</KeyCount>"
	"<MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
	"<Contents><Key>ab/c&amp;d</Key><Size>12</Size></Contents>"
	"<Contents><Key>ab/e</Key><Size>7</Size></Contents>"
	"<NextContinuationToken>tok+/=</NextContinuationToken>"
	"</ListBucketResult>";

static void result_free(struct fs_result *r)
{
	fs_result_free_contents(r);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

static char *big_listing(unsigned int n, bool truncated, size_t *len_r)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, "<ListBucketResult><Name>mails</Name>");
	for (unsigned int i = 0; i < n; i++)
		buf_printf(&b, "<Contents><Key>ab/cde/u/box/msg-%06u</Key>"
			   "<Size>%u</Size><StorageClass>STANDARD</StorageClass>"
			   "</Contents>", i, i);
	buf_printf(&b, "<IsTruncated>%s</IsTruncated>%s</ListBucketResult>",
		   truncated ? "true" : "false",
		   truncated ? "<NextContinuationToken>t</NextContinuationToken>" : "");
	*len_r = b.len;
	return buf_steal(&b);
}

static void test_list_page(void **state)
{
	struct fs_result r = { .fd = -1 };
	(void)state;
	assert_int_equal(s3_xml_parse_list(list_page, strlen(list_page), 1000, &r), 0);
	assert_int_equal(r.n_entries, 2);
	assert_string_equal(r.entries[0].key, "ab/c&d");
	assert_int_equal(r.entries[0].size, 12);
	assert_string_equal(r.next, "tok+/=");
	result_free(&r);
}

/* A server answering 100,000 keys to a max-keys=1000 request: the parse
 * keeps at most 1000, refuses the page (no silent skip), and stays
 * linear (a quadratic scan would take minutes here). */
static void test_100000_keys_bounded(void **state)
{
	size_t len;
	char *xml = big_listing(100000, true, &len);
	struct fs_result r = { .fd = -1 };
	struct timespec t0, t1;
	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(s3_xml_parse_list(xml, len, 1000, &r), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(r.n_entries <= 1000);
	result_free(&r);
	assert_true(t1.tv_sec - t0.tv_sec < 5);

	/* the same 100,000 keys in 1000-key pages all come through */
	size_t total = 0;
	for (unsigned int page = 0; page < 100; page++) {
		struct buf b = BUF_INIT;
		buf_append_str(&b, "<ListBucketResult>");
		for (unsigned int i = 0; i < 1000; i++)
			buf_printf(&b, "<Contents><Key>k%06u</Key><Size>1</Size></Contents>",
				   page * 1000 + i);
		buf_printf(&b, "<IsTruncated>%s</IsTruncated>"
			   "<NextContinuationToken>p%u</NextContinuationToken>"
			   "</ListBucketResult>", page < 99 ? "true" : "false", page);
		assert_int_equal(s3_xml_parse_list(b.data, b.len, 1000, &r), 0);
		assert_int_equal(r.n_entries, 1000);
		total += r.n_entries;
		if (page < 99)
			assert_non_null(r.next);
		else
			assert_null(r.next);
		result_free(&r);
		buf_free(&b);
	}
	assert_int_equal(total, 100000);
	free(xml);
}

static void test_list_every_truncation(void **state)
{
	size_t len = strlen(list_page);
	(void)state;
	for (size_t i = 0; i < len; i++) {
		struct fs_result r = { .fd = -1 };
		char *copy = malloc(i + 1);	/* exact size: ASan sees overreads */
		memcpy(copy, list_page, i);
		int ret = s3_xml_parse_list(copy, i, 1000, &r);
		/* a cut answer is refused, never half-listed as complete */
		if (ret == 0)
			assert_non_null(r.next);
		assert_true(r.n_entries <= 2);
		result_free(&r);
		free(copy);
	}
}

static void test_error_bodies(void **state)
{
	static const char err[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error>"
		"<Code>SlowDown</Code><Message>Please reduce &lt;rate&gt;</Message>"
		"<RequestId>1</RequestId></Error>";
	char *code, *msg;
	(void)state;
	s3_xml_parse_error(err, strlen(err), &code, &msg);
	assert_string_equal(code, "SlowDown");
	assert_string_equal(msg, "Please reduce <rate>");
	free(code);
	free(msg);

	for (size_t i = 0; i < strlen(err); i++) {
		char *copy = malloc(i + 1);
		memcpy(copy, err, i);
		s3_xml_parse_error(copy, i, &code, &msg);
		if (code != NULL)
			assert_true(strcmp(code, "SlowDown") == 0);
		free(code);
		free(msg);
		free(copy);
	}
}

static void test_huge_error_body(void **state)
{
	struct buf b = BUF_INIT;
	char *code, *msg;
	(void)state;
	/* 8 MB: a message far over its cap, then junk and no close tag */
	buf_append_str(&b, "<Error><Code>InternalError</Code><Message>");
	for (int i = 0; i < 4 * 1024 * 1024; i++)
		buf_append_c(&b, 'm');
	buf_append_str(&b, "</Message>");
	for (int i = 0; i < 4 * 1024 * 1024; i++)
		buf_append_c(&b, '<');
	s3_xml_parse_error(b.data, b.len, &code, &msg);
	assert_string_equal(code, "InternalError");
	assert_null(msg);	/* over 512 bytes: dropped, not truncated */
	free(code);

	/* a code over its cap and a body that is not XML at all */
	buf_reset(&b);
	buf_append_str(&b, "<Error><Code>");
	for (int i = 0; i < 1000; i++)
		buf_append_c(&b, 'C');
	buf_append_str(&b, "</Code></Error>");
	s3_xml_parse_error(b.data, b.len, &code, &msg);
	assert_null(code);
	assert_null(msg);
	s3_xml_parse_error("\0\0\0<html>502 Bad Gateway", 25, &code, &msg);
	assert_null(code);
	assert_null(msg);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_page),
		cmocka_unit_test(test_100000_keys_bounded),
		cmocka_unit_test(test_list_every_truncation),
		cmocka_unit_test(test_error_bodies),
		cmocka_unit_test(test_huge_error_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
