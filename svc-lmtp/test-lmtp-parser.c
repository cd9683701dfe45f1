/* Unit tests for the LMTP parsers: command lines, paths and parameters,
 * XCLIENT xtext, BDAT arguments, and DATA unstuffing in every chunking. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lmtp-parser.h"

static void test_command_verbs(void **state)
{
	(void)state;
	char line[] = "mail FROM:<a@b>";
	struct lmtp_command cmd;
	const char *error;
	assert_int_equal(lmtp_command_parse(line, strlen(line), &cmd, &error),
			 0);
	assert_int_equal(cmd.verb, LMTP_CMD_MAIL);
	assert_string_equal(cmd.args, "FROM:<a@b>");
	char line2[] = "QUIT";
	assert_int_equal(lmtp_command_parse(line2, 4, &cmd, &error), 0);
	assert_int_equal(cmd.verb, LMTP_CMD_QUIT);
	assert_string_equal(cmd.args, "");
	char line3[] = "FOO bar";
	assert_int_equal(lmtp_command_parse(line3, 7, &cmd, &error), 0);
	assert_int_equal(cmd.verb, LMTP_CMD_UNKNOWN);
}

static void test_command_nul_refused(void **state)
{
	(void)state;
	char line[] = "NOOP\0x";
	struct lmtp_command cmd;
	const char *error;
	assert_int_equal(lmtp_command_parse(line, 6, &cmd, &error), -1);
	assert_string_equal(error, "500 5.5.2 Invalid character in command");
}

static void test_path_simple_and_params(void **state)
{
	(void)state;
	char args[] = "FROM:<a@example.org> SIZE=100 body=8BITMIME SMTPUTF8";
	struct lmtp_path_cmd p;
	const char *error;
	assert_int_equal(lmtp_path_parse(args, "FROM", &p, &error), 0);
	assert_string_equal(p.addr, "a@example.org");
	assert_int_equal(p.n_params, 3);
	assert_string_equal(p.params[0].key, "SIZE");
	assert_string_equal(p.params[0].value, "100");
	assert_string_equal(p.params[1].key, "BODY");
	assert_null(p.params[2].value);
}

static void test_path_null_sender_and_space(void **state)
{
	(void)state;
	char args[] = "FROM: <>";
	struct lmtp_path_cmd p;
	const char *error;
	assert_int_equal(lmtp_path_parse(args, "FROM", &p, &error), 0);
	assert_string_equal(p.addr, "");
}

static void test_path_source_route_and_quotes(void **state)
{
	(void)state;
	char args[] = "TO:<@relay.example,@b.example:\"a b>\"@example.com>";
	struct lmtp_path_cmd p;
	const char *error;
	assert_int_equal(lmtp_path_parse(args, "TO", &p, &error), 0);
	assert_string_equal(p.addr, "\"a b>\"@example.com");
}

static void test_path_bad(void **state)
{
	(void)state;
	const char *bad[] = { "TO:a@b", "TO:<a@b", "TO:<@b>", "TO:<a@>",
			      "TO:<a b@c>", "TO:<a@b>x", "FROM:<a@b>",
			      "TO:<a@b> =x", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		char *s = strdup(bad[i]);
		struct lmtp_path_cmd p;
		const char *error;
		assert_int_equal(lmtp_path_parse(s, "TO", &p, &error), -1);
		assert_true(error[0] == '5');
		free(s);
	}
}

static void test_address_split_detail(void **state)
{
	(void)state;
	char *user, *detail, *domain;
	lmtp_address_split("user1+box@example.com", "+", &user, &detail,
			   &domain);
	assert_string_equal(user, "user1@example.com");
	assert_string_equal(detail, "box");
	assert_string_equal(domain, "example.com");
	free(user);
	free(detail);
	free(domain);
	lmtp_address_split("plain", "", &user, &detail, &domain);
	assert_string_equal(user, "plain");
	assert_string_equal(detail, "");
	assert_string_equal(domain, "");
	free(user);
	free(detail);
	free(domain);
}

static void test_xtext(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 100);
	assert_int_equal(lmtp_xtext_decode("a+2Bb+3D", &b), 0);
	assert_string_equal(b.data, "a+b=");
	buf_reset(&b);
	assert_int_equal(lmtp_xtext_decode("a+2", &b), -1);
	buf_reset(&b);
	assert_int_equal(lmtp_xtext_decode("a+zz", &b), -1);
	buf_free(&b);
}

static void test_bdat_args(void **state)
{
	(void)state;
	uint64_t size;
	bool last;
	const char *error;
	assert_int_equal(lmtp_bdat_parse("100 LAST", &size, &last, &error), 0);
	assert_int_equal(size, 100);
	assert_true(last);
	assert_int_equal(lmtp_bdat_parse("0", &size, &last, &error), 0);
	assert_false(last);
	assert_int_equal(lmtp_bdat_parse("", &size, &last, &error), -1);
	assert_int_equal(lmtp_bdat_parse("12 FIRST", &size, &last, &error),
			 -1);
	assert_int_equal(lmtp_bdat_parse("99999999999999999999999", &size,
					 &last, &error), -1);
}

/* Feeds `in` to a fresh DATA parser in chunks of `step` bytes. */
static void data_parse_chunked(const char *in, size_t step, struct buf *out,
			       size_t *consumed_r, bool *end_r)
{
	struct lmtp_data_parser p = { 0 };
	size_t len = strlen(in), pos = 0;
	bool end = false;
	while (pos < len && !end) {
		size_t n = len - pos < step ? len - pos : step;
		pos += lmtp_data_parse(&p, in + pos, n, out, &end);
	}
	*consumed_r = pos;
	*end_r = end;
}

static void test_data_unstuffing_every_chunking(void **state)
{
	(void)state;
	const char *in = "Subject: x\r\n\r\n..dot\r\n.\r\r\nbare\nlf\n"
			 "\r\n.\r\nAFTER";
	const char *expect = "Subject: x\r\n\r\n.dot\r\n\r\r\nbare\nlf\n\r\n";
	for (size_t step = 1; step <= strlen(in); step++) {
		struct buf out;
		buf_init(&out, 0);
		size_t consumed;
		bool end;
		data_parse_chunked(in, step, &out, &consumed, &end);
		assert_true(end);
		assert_int_equal(consumed, strlen(in) - strlen("AFTER"));
		assert_string_equal(out.data, expect);
		buf_free(&out);
	}
}

static void test_data_lf_dot_lf_ends(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 0);
	size_t consumed;
	bool end;
	data_parse_chunked("a\n.\nrest", 1, &out, &consumed, &end);
	assert_true(end);
	assert_string_equal(out.data, "a\n");
	buf_free(&out);
}

static void test_data_empty_and_unterminated(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 0);
	size_t consumed;
	bool end;
	data_parse_chunked(".\r\n", 2, &out, &consumed, &end);
	assert_true(end);
	assert_int_equal(out.len, 0);
	buf_reset(&out);
	data_parse_chunked("no end\r\n.x", 3, &out, &consumed, &end);
	assert_false(end);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_verbs),
		cmocka_unit_test(test_command_nul_refused),
		cmocka_unit_test(test_path_simple_and_params),
		cmocka_unit_test(test_path_null_sender_and_space),
		cmocka_unit_test(test_path_source_route_and_quotes),
		cmocka_unit_test(test_path_bad),
		cmocka_unit_test(test_address_split_detail),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_bdat_args),
		cmocka_unit_test(test_data_unstuffing_every_chunking),
		cmocka_unit_test(test_data_lf_dot_lf_ends),
		cmocka_unit_test(test_data_empty_and_unterminated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
