/* lib/mail parser: part tree offsets, sizes and line counts; every byte
 * split of the input gives the same tree; limits degrade to text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail-parser.h"
#include "test-mail-golden.h"

/* Compact dump of a tree for comparisons. */
static void dump(const struct mail_part *p, struct buf *out)
{
	for (; p != NULL; p = p->next) {
		(void)buf_printf(out, "[%x %llu h%llu/%llu/%llu b%llu/%llu/%llu",
				 p->flags, (unsigned long long)p->offset,
				 (unsigned long long)p->header.physical,
				 (unsigned long long)p->header.virtual,
				 (unsigned long long)p->header.lines,
				 (unsigned long long)p->body.physical,
				 (unsigned long long)p->body.virtual,
				 (unsigned long long)p->body.lines);
		dump(p->children, out);
		(void)buf_append_c(out, ']');
	}
}

static char *tree_str(const char *msg, size_t len)
{
	struct mail_part *root = mail_parse(msg, len);
	struct buf out = BUF_INIT;

	dump(root, &out);
	mail_part_free(&root);
	return buf_steal(&out);
}

static void test_simple_sizes(void **state)
{
	const char *m = "Subject: x\r\n\r\nline1\r\nline2";
	struct mail_part *root = mail_parse(m, strlen(m));

	(void)state;
	assert_int_equal(root->header.physical, 14);
	assert_int_equal(root->header.lines, 2);
	assert_int_equal(root->body.physical, 12);
	assert_int_equal(root->body.lines, 1);
	assert_null(root->children);
	assert_true(root->flags & MAIL_PART_TEXT);
	mail_part_free(&root);
}

static void test_bare_lf_virtual_size(void **state)
{
	const char *m = "A: b\n\nx\ny\r\n";
	struct mail_part *root = mail_parse(m, strlen(m));

	(void)state;
	assert_int_equal(root->header.physical, 6);
	assert_int_equal(root->header.virtual, 8);
	assert_int_equal(root->body.physical, 5);
	assert_int_equal(root->body.virtual, 6);
	assert_int_equal(root->body.lines, 2);
	mail_part_free(&root);
}

static void test_multipart_offsets(void **state)
{
	const char *m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"pre\r\n--b\r\nA: 1\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n"
		"epi\r\n";
	struct mail_part *root = mail_parse(m, strlen(m));
	const struct mail_part *c1, *c2;

	(void)state;
	assert_true(root->flags & MAIL_PART_MULTIPART);
	assert_int_equal(root->children_count, 2);
	c1 = root->children;
	c2 = c1->next;
	assert_memory_equal(m + c1->offset, "A: 1\r\n\r\none", 11);
	assert_int_equal(c1->header.physical, 8);
	assert_int_equal(c1->body.physical, 3);
	assert_int_equal(c1->body.lines, 0);
	assert_memory_equal(m + mail_part_body_offset(c2), "two", 3);
	assert_int_equal(c2->header.physical, 2);
	assert_int_equal(c2->body.physical, 3);
	assert_int_equal(root->body.physical, strlen(m) - 45);
	mail_part_free(&root);
}

static void test_message_rfc822_child(void **state)
{
	const char *m = "Content-Type: message/rfc822\r\n\r\n"
		"Subject: in\r\n\r\nbody\r\n";
	struct mail_part *root = mail_parse(m, strlen(m));

	(void)state;
	assert_true(root->flags & MAIL_PART_MESSAGE_RFC822);
	assert_non_null(root->children);
	assert_int_equal(root->children->offset, 32);
	assert_int_equal(root->children->header.physical, 15);
	assert_int_equal(root->children->body.physical, 6);
	mail_part_free(&root);
}

static void test_missing_final_boundary(void **state)
{
	const char *m = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n"
		"unterminated\n";
	struct mail_part *root = mail_parse(m, strlen(m));

	(void)state;
	assert_int_equal(root->children_count, 1);
	assert_int_equal(root->children->body.physical, 13);
	mail_part_free(&root);
}

static void test_header_without_body(void **state)
{
	const char *m = "Subject: x\r\nFrom: y";
	struct mail_part *root = mail_parse(m, strlen(m));

	(void)state;
	assert_int_equal(root->header.physical, strlen(m));
	assert_int_equal(root->body.physical, 0);
	mail_part_free(&root);
}

static void test_depth_limit_degrades(void **state)
{
	struct mail_parser_limits lim = mail_parser_default_limits;
	struct buf m = BUF_INIT;
	struct mail_parser *p;
	struct mail_part *root;

	(void)state;
	for (int i = 0; i < 50; i++)
		(void)buf_append_str(&m, "Content-Type: message/rfc822\n\n");
	(void)buf_append_str(&m, "end\n");
	lim.max_depth = 10;
	p = mail_parser_init(&lim);
	mail_parser_feed(p, m.data, m.len);
	root = mail_parser_finish(&p);
	assert_int_equal(mail_part_count(root), 10);
	mail_part_free(&root);
	buf_free(&m);
}

static void test_parts_limit_degrades(void **state)
{
	struct mail_parser_limits lim = mail_parser_default_limits;
	struct buf m = BUF_INIT;
	struct mail_parser *p;
	struct mail_part *root;

	(void)state;
	(void)buf_append_str(&m, "Content-Type: multipart/mixed; "
			     "boundary=x\n\n");
	for (int i = 0; i < 100; i++)
		(void)buf_append_str(&m, "--x\n\npart\n");
	lim.max_parts = 20;
	p = mail_parser_init(&lim);
	mail_parser_feed(p, m.data, m.len);
	root = mail_parser_finish(&p);
	assert_int_equal(mail_part_count(root), 20);
	assert_int_equal(root->body.physical, m.len - 43);
	mail_part_free(&root);
	buf_free(&m);
}

/* Every golden message, fed split at every byte and one byte at a time,
 * gives the same tree as in one piece. */
static void test_every_split_same_tree(void **state)
{
	char **names;
	unsigned int n = list_messages(&names);

	(void)state;
	for (unsigned int i = 0; i < n; i++) {
		char *rel = xasprintf("msg/%s.eml", names[i]);
		char *path = testdata_path(rel);
		size_t len;
		char *msg = read_file(path, &len);
		char *whole = tree_str(msg, len);

		for (size_t split = 0; split <= len; split++) {
			struct mail_parser *p = mail_parser_init(NULL);
			struct mail_part *root;
			struct buf out = BUF_INIT;

			mail_parser_feed(p, msg, split);
			mail_parser_feed(p, msg + split, len - split);
			root = mail_parser_finish(&p);
			dump(root, &out);
			assert_string_equal(out.data, whole);
			buf_free(&out);
			mail_part_free(&root);
		}
		struct mail_parser *p = mail_parser_init(NULL);
		struct mail_part *root;
		struct buf out = BUF_INIT;
		for (size_t k = 0; k < len; k++)
			mail_parser_feed(p, msg + k, 1);
		root = mail_parser_finish(&p);
		dump(root, &out);
		assert_string_equal(out.data, whole);
		buf_free(&out);
		mail_part_free(&root);

		free(whole);
		free(msg);
		free(path);
		free(rel);
		free(names[i]);
	}
	free(names);
}

/* fuzz find: an empty message/rfc822 right before a boundary gives its
 * blank line to the boundary; its child must stay inside it. */
static void test_empty_rfc822_child_inside_parent(void **state)
{
	const char *m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: message/rfc822\r\n\r\n--b--\r\n";
	struct mail_part *root = mail_parse(m, strlen(m));
	const struct mail_part *rfc = root->children;

	(void)state;
	assert_non_null(rfc->children);
	assert_int_equal(rfc->header.physical, 30);
	assert_int_equal(rfc->body.physical, 0);
	assert_int_equal(rfc->children->offset, mail_part_body_offset(rfc));
	mail_part_free(&root);
}

static void test_abort_frees(void **state)
{
	struct mail_parser *p = mail_parser_init(NULL);

	(void)state;
	mail_parser_feed(p, "Content-Type: multipart/mixed; boundary=q\n\n--q\n",
			 48);
	mail_parser_abort(&p);
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_sizes),
		cmocka_unit_test(test_bare_lf_virtual_size),
		cmocka_unit_test(test_multipart_offsets),
		cmocka_unit_test(test_message_rfc822_child),
		cmocka_unit_test(test_missing_final_boundary),
		cmocka_unit_test(test_header_without_body),
		cmocka_unit_test(test_depth_limit_degrades),
		cmocka_unit_test(test_parts_limit_degrades),
		cmocka_unit_test(test_every_split_same_tree),
		cmocka_unit_test(test_empty_rfc822_child_inside_parent),
		cmocka_unit_test(test_abort_frees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
