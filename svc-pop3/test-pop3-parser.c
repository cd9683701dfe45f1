/* Unit tests for the POP3 parsers and the RETR/TOP transform. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pop3-parser.h"
#include "sasl-client.h"

static void test_command_parse(void **state)
{
	(void)state;
	char l1[] = "retr 1";
	struct pop3_command cmd;
	assert_int_equal(pop3_command_parse(l1, strlen(l1), &cmd), 0);
	assert_int_equal(cmd.verb, POP3_CMD_RETR);
	assert_string_equal(cmd.args, "1");
	char l2[] = "CAPA";
	assert_int_equal(pop3_command_parse(l2, 4, &cmd), 0);
	assert_int_equal(cmd.verb, POP3_CMD_CAPA);
	char l3[] = "US\0R x";
	assert_int_equal(pop3_command_parse(l3, 6, &cmd), -1);
}

static void test_msgnum(void **state)
{
	(void)state;
	unsigned int n;
	assert_int_equal(pop3_parse_msgnum("3", 3, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pop3_parse_msgnum("4", 3, &n), -1);
	assert_int_equal(pop3_parse_msgnum("0", 3, &n), -1);
	assert_int_equal(pop3_parse_msgnum("-1", 3, &n), -1);
	assert_int_equal(pop3_parse_msgnum("1x", 3, &n), -1);
	assert_int_equal(pop3_parse_msgnum("99999999999999999999999", 3, &n),
			 -1);
}

static void test_base64(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 100);
	assert_int_equal(sasl_base64_decode("AHVzZXIxAHBhc3Mx", 16, &b), 0);
	assert_int_equal(b.len, 12);
	assert_memory_equal(b.data, "\0user1\0pass1", 12);
	buf_reset(&b);
	assert_int_equal(sasl_base64_decode("YQ==", 4, &b), 0);
	assert_string_equal(b.data, "a");
	buf_reset(&b);
	assert_int_equal(sasl_base64_decode("YQ=a", 4, &b), -1);
	buf_reset(&b);
	assert_int_equal(sasl_base64_decode("Y!==", 4, &b), -1);
	buf_reset(&b);
	assert_int_equal(sasl_base64_decode("YQ", 2, &b), -1);
	buf_reset(&b);
	sasl_base64_encode("Username:", 9, &b);
	assert_string_equal(b.data, "VXNlcm5hbWU6");
	buf_free(&b);
}

static char *xfer_all(const char *msg, size_t len, bool top, uint64_t lines,
		      bool nul, bool eoh, size_t step)
{
	struct pop3_xfer x = { .top = top, .max_body_lines = lines,
			       .nul_to_0x80 = nul, .add_eoh = eoh };
	pop3_xfer_init(&x);
	struct buf out;
	buf_init(&out, 0);
	for (size_t i = 0; i < len; i += step)
		pop3_xfer_feed(&x, msg + i, len - i < step ? len - i : step,
			       &out);
	pop3_xfer_finish(&x, &out);
	return buf_steal(&out);
}

static void test_xfer_crlf_and_dots_every_chunking(void **state)
{
	(void)state;
	const char *msg = "A: b\nC: d\r\n\n.line\nx\rlast";
	const char *expect = "A: b\r\nC: d\r\n\r\n..line\r\nx\r\nlast\r\n";
	for (size_t step = 1; step <= strlen(msg); step++) {
		char *o = xfer_all(msg, strlen(msg), false, 0, false, false,
				   step);
		assert_string_equal(o, expect);
		free(o);
	}
	assert_int_equal(pop3_wire_size(msg, strlen(msg)),
			 strlen(expect) - 1 /* dot-stuffing */ - 2 /* no
			 final newline in the stored message */);
}

/* CRLF messages take the whole-lines path (pop3_xfer_clean_lines); it
 * must give what the byte path gives at every chunk boundary. */
static void test_xfer_clean_lines_every_chunking(void **state)
{
	(void)state;
	const char *msg = "A: b\r\nB: c\r\n\r\nline\r\n.dot\r\nbare\nx\ry\r\n"
			  "\r\n..two\r\nend\r\n";
	const char *expect = "A: b\r\nB: c\r\n\r\nline\r\n..dot\r\nbare\r\n"
			     "x\r\ny\r\n\r\n...two\r\nend\r\n";
	for (size_t step = 1; step <= strlen(msg); step++) {
		char *o = xfer_all(msg, strlen(msg), false, 0, false, true,
				   step);
		assert_string_equal(o, expect);
		free(o);
	}
	/* add_eoh still sees whether the header ended */
	const char *hdr = "A: b\r\nB: c\r\n";
	for (size_t step = 1; step <= strlen(hdr); step++) {
		char *o = xfer_all(hdr, strlen(hdr), false, 0, false, true,
				   step);
		assert_string_equal(o, "A: b\r\nB: c\r\n\r\n");
		free(o);
	}
}

static void test_xfer_top(void **state)
{
	(void)state;
	const char *msg = "S: 1\r\n\r\nl1\r\nl2\r\nl3\r\n";
	char *o = xfer_all(msg, strlen(msg), true, 2, false, false, 3);
	assert_string_equal(o, "S: 1\r\n\r\nl1\r\nl2\r\n");
	free(o);
	o = xfer_all(msg, strlen(msg), true, 0, false, false, 1);
	assert_string_equal(o, "S: 1\r\n\r\n");
	free(o);
}

static void test_xfer_workarounds(void **state)
{
	(void)state;
	const char msg[] = "S: a\0b\r\nT: c";
	char *o = xfer_all(msg, sizeof(msg) - 1, false, 0, true, true, 2);
	assert_memory_equal(o, "S: a\x80" "b\r\nT: c\r\n\r\n", 16);
	free(o);
	o = xfer_all(msg, sizeof(msg) - 1, false, 0, false, false, 2);
	assert_memory_equal(o, "S: a\0b\r\nT: c\r\n", 14);
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_parse),
		cmocka_unit_test(test_msgnum),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_xfer_crlf_and_dots_every_chunking),
		cmocka_unit_test(test_xfer_clean_lines_every_chunking),
		cmocka_unit_test(test_xfer_top),
		cmocka_unit_test(test_xfer_workarounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
