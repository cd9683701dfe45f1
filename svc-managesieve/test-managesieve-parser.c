/* Unit tests of the ManageSieve command reader: every argument form, the
 * bounds, and input fed in every split (a command must parse the same
 * however the bytes arrive). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "managesieve-parser.h"

static enum ms_parse_result parse(const char *s, struct ms_command *cmd,
				  size_t *consumed)
{
	const char *err;

	return ms_parse_command(s, strlen(s), 1024, 4096, cmd, consumed, &err);
}

static void test_simple_command(void **state)
{
	struct ms_command cmd;
	size_t c;

	(void)state;
	assert_int_equal(parse("capability\r\n", &cmd, &c), MS_PARSE_OK);
	assert_string_equal(cmd.name, "CAPABILITY");
	assert_int_equal(cmd.n_args, 0);
	assert_int_equal(c, 12);
	ms_command_free(&cmd);
}

static void test_quoted_and_literal(void **state)
{
	const char *in = "PUTSCRIPT \"my \\\"s\\\"\" {12+}\r\nkeep;\r\nstop;\r\n";
	struct ms_command cmd;
	size_t c;

	(void)state;
	assert_int_equal(parse(in, &cmd, &c), MS_PARSE_OK);
	assert_int_equal(c, strlen(in));
	assert_int_equal(cmd.n_args, 2);
	assert_string_equal(cmd.args[0].str, "my \"s\"");
	assert_int_equal(cmd.args[1].len, 12);
	assert_memory_equal(cmd.args[1].str, "keep;\r\nstop;", 12);
	ms_command_free(&cmd);
}

static void test_every_split(void **state)
{
	const char *in = "HAVESPACE \"a\" 100\r\nPUTSCRIPT \"x\" {5}\r\nkeep;\r\n";
	size_t len = strlen(in);

	(void)state;
	for (size_t split = 0; split <= len; split++) {
		struct ms_command cmd;
		size_t c;
		const char *err;
		enum ms_parse_result r = ms_parse_command(in, split, 1024, 4096,
							  &cmd, &c, &err);

		if (split < 19) {
			assert_int_equal(r, MS_PARSE_NEED_MORE);
			continue;
		}
		assert_int_equal(r, MS_PARSE_OK);
		assert_string_equal(cmd.name, "HAVESPACE");
		assert_int_equal(c, 19);
		ms_command_free(&cmd);
		r = ms_parse_command(in + 19, split - 19, 1024, 4096, &cmd, &c,
				     &err);
		if (split < len) {
			assert_int_equal(r, MS_PARSE_NEED_MORE);
		} else {
			assert_int_equal(r, MS_PARSE_OK);
			assert_string_equal(cmd.args[1].str, "keep;");
			ms_command_free(&cmd);
		}
	}
}

static void test_bounds(void **state)
{
	struct ms_command cmd;
	size_t c;
	char *big = malloc(3000);

	(void)state;
	memset(big, 'a', 2999);
	big[2999] = '\0';
	assert_int_equal(parse(big, &cmd, &c), MS_PARSE_TOO_LONG);
	assert_int_equal(parse("PUTSCRIPT \"a\" {999999+}\r\n", &cmd, &c),
			 MS_PARSE_TOO_LONG);
	assert_int_equal(parse("PUTSCRIPT \"a\" {99999999999999999999999+}\r\n",
			       &cmd, &c), MS_PARSE_TOO_LONG);
	free(big);
}

static void test_errors_skip_line(void **state)
{
	struct ms_command cmd;
	size_t c;

	(void)state;
	assert_int_equal(parse("\"quoted\" first\r\nNOOP\r\n", &cmd, &c),
			 MS_PARSE_ERROR);
	assert_int_equal(c, 16);
	assert_int_equal(parse("\r\n", &cmd, &c), MS_PARSE_ERROR);
	assert_int_equal(parse("NOOP {x}\r\n", &cmd, &c), MS_PARSE_ERROR);
	assert_int_equal(parse("NOOP \"a\nb\"\r\n", &cmd, &c), MS_PARSE_ERROR);
}

/* SASL continuation responses: quoted, literal (in every split), empty,
 * and a literal over the line bound. */
static void test_sasl_response(void **state)
{
	const char *lit = "{8+}\r\ndXNlcjE=\r\nNOOP\r\n";
	struct ms_command cmd;
	const char *err;
	size_t c;

	(void)state;
	assert_int_equal(ms_parse_response("\"YWJj\"\r\n", 8, 64, &cmd, &c,
					   &err), MS_PARSE_OK);
	assert_int_equal(cmd.n_args, 1);
	assert_string_equal(cmd.args[0].str, "YWJj");
	ms_command_free(&cmd);
	for (size_t i = 0; i < strlen(lit) - 6; i++) {
		enum ms_parse_result r = ms_parse_response(lit, i, 64, &cmd,
							   &c, &err);

		assert_int_equal(r, MS_PARSE_NEED_MORE);
	}
	assert_int_equal(ms_parse_response(lit, strlen(lit), 64, &cmd, &c,
					   &err), MS_PARSE_OK);
	assert_int_equal(c, strlen(lit) - 6);
	assert_int_equal(cmd.args[0].type, MS_ARG_STRING);
	assert_string_equal(cmd.args[0].str, "dXNlcjE=");
	ms_command_free(&cmd);
	assert_int_equal(ms_parse_response("\r\n", 2, 64, &cmd, &c, &err),
			 MS_PARSE_OK);
	assert_int_equal(cmd.n_args, 0);
	ms_command_free(&cmd);
	assert_int_equal(ms_parse_response("{100+}\r\n", 8, 64, &cmd, &c,
					   &err), MS_PARSE_TOO_LONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_command),
		cmocka_unit_test(test_quoted_and_literal),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_errors_skip_line),
		cmocka_unit_test(test_sasl_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
