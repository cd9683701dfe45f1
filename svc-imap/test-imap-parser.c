/* Unit tests of the IMAP command reader and parser, each input fed whole
 * and one byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "imap-parser.h"

/* Runs input through a reader in chunks of `chunk` bytes; records each
 * event as a line in `events` ("COMMAND", "CONTINUE", "ERROR tag resp
 * text", "FATAL ..."), parsing commands with parse_cb. */
struct run {
	char events[4096];
	struct imap_pool pool;
	struct imap_command cmds[8];
	size_t n_cmds;
	int fds[8];
	size_t n_fds;
};

static void run_reader(struct run *run, const char *input, size_t len,
		       size_t chunk, size_t max_line, uint64_t max_append,
		       bool literal_minus)
{
	struct imap_reader r;
	imap_reader_init(&r, max_line, max_append, literal_minus);
	memset(run, 0, sizeof(*run));
	size_t pos = 0;
	struct buf ev = BUF_INIT;
	while (pos < len) {
		size_t n = len - pos < chunk ? len - pos : chunk;
		size_t consumed;
		enum imap_read_result res = imap_reader_feed(&r, input + pos,
							     n, &consumed);
		assert_true(consumed <= n);
		pos += consumed;
		switch (res) {
		case IMAP_READ_MORE:
			assert_int_equal(consumed, n);
			break;
		case IMAP_READ_CONTINUE:
			buf_append_str(&ev, "CONTINUE\n");
			break;
		case IMAP_READ_ERROR:
		case IMAP_READ_FATAL:
			buf_printf(&ev, "%s %s %s %s\n", res == IMAP_READ_ERROR ?
				   "ERROR" : "FATAL", r.err_tag, r.err_resp,
				   r.err_text);
			if (res == IMAP_READ_FATAL)
				pos = len;
			break;
		case IMAP_READ_COMMAND: {
			size_t tlen;
			const char *text = imap_reader_text(&r, &tlen);
			const char *error;
			struct imap_command *cmd = &run->cmds[run->n_cmds];
			if (imap_parse_command(text, tlen, r.literals,
					       r.n_literals, &run->pool, cmd,
					       &error) < 0) {
				buf_printf(&ev, "PARSE-ERROR %s %s\n",
					   cmd->tag != NULL ? cmd->tag : "*",
					   error);
			} else {
				buf_printf(&ev, "COMMAND %s\n", cmd->name);
				for (size_t i = 0; i < r.n_literals; i++) {
					if (r.literals[i].fd >= 0 &&
					    run->n_fds < 8) {
						run->fds[run->n_fds++] =
							dup(r.literals[i].fd);
					}
				}
				if (run->n_cmds < 7)
					run->n_cmds++;
			}
			imap_reader_reset(&r);
			break;
		}
		}
	}
	snprintf(run->events, sizeof(run->events), "%s",
		 ev.data != NULL ? ev.data : "");
	buf_free(&ev);
	imap_reader_deinit(&r);
}

static void run_free(struct run *run)
{
	imap_pool_clear(&run->pool);
	for (size_t i = 0; i < run->n_fds; i++)
		close(run->fds[i]);
}

/* Same events whole and byte by byte. */
static void expect_events(const char *input, size_t max_line,
			  const char *expected)
{
	struct run run;
	run_reader(&run, input, strlen(input), strlen(input) + 1, max_line,
		   100000, false);
	assert_string_equal(run.events, expected);
	run_free(&run);
	run_reader(&run, input, strlen(input), 1, max_line, 100000, false);
	assert_string_equal(run.events, expected);
	run_free(&run);
}

static void test_simple_commands(void **state)
{
	(void)state;
	expect_events("a1 NOOP\r\nA2 capability\r\n",
		      1024, "COMMAND NOOP\nCOMMAND capability\n");
	/* A bare LF ends a line too; empty lines are ignored. */
	expect_events("\r\na NOOP\n\n", 1024, "COMMAND NOOP\n");
}

static void test_args_tree(void **state)
{
	(void)state;
	struct run run;
	const char *in = "t FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM "
			 "TO)]<0.100> \"q\\\"x\\\\\" NIL ())\r\n";
	run_reader(&run, in, strlen(in), 1, 1024, 100, false);
	assert_string_equal(run.events, "COMMAND FETCH\n");
	struct imap_command *c = &run.cmds[0];
	assert_string_equal(c->tag, "t");
	assert_int_equal(c->n_args, 2);
	assert_int_equal(c->args[0].type, IMAP_ARG_ATOM);
	assert_string_equal(c->args[0].str, "1:*");
	assert_int_equal(c->args[1].type, IMAP_ARG_LIST);
	assert_int_equal(c->args[1].list_count, 5);
	const struct imap_arg *l = c->args[1].list;
	assert_string_equal(l[1].str, "BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>");
	assert_int_equal(l[2].type, IMAP_ARG_STRING);
	assert_string_equal(l[2].str, "q\"x\\");
	assert_true(imap_arg_atom_equals(&l[3], "nil"));
	assert_int_equal(l[4].type, IMAP_ARG_LIST);
	assert_int_equal(l[4].list_count, 0);
	run_free(&run);
}

static void test_sync_literal(void **state)
{
	(void)state;
	struct run run;
	const char *in = "a LOGIN {5}\r\nhe\0lo {3}\r\nabc\r\n";
	run_reader(&run, in, 30, 1, 1024, 100, false);
	/* the NUL inside a literal is refused by the parser */
	assert_string_equal(run.events, "CONTINUE\nCONTINUE\nPARSE-ERROR a "
			    "NUL characters not allowed\n");
	run_free(&run);
	in = "a LOGIN {5}\r\nhello {3}\r\nabc\r\n";
	run_reader(&run, in, strlen(in), 7, 1024, 100, false);
	assert_string_equal(run.events, "CONTINUE\nCONTINUE\nCOMMAND LOGIN\n");
	assert_int_equal(run.cmds[0].args[0].type, IMAP_ARG_LITERAL);
	assert_string_equal(run.cmds[0].args[0].str, "hello");
	assert_string_equal(run.cmds[0].args[1].str, "abc");
	run_free(&run);
}

static void test_literal_plus(void **state)
{
	(void)state;
	expect_events("a LOGIN {5+}\r\nhello {0+}\r\n\r\n", 1024,
		      "COMMAND LOGIN\n");
	/* LITERAL-: a non-synchronising literal over 4096 is fatal */
	struct run run;
	const char *in = "a APPEND INBOX {5000+}\r\n";
	run_reader(&run, in, strlen(in), 100, 1024, 100000, true);
	assert_string_equal(run.events, "FATAL a BAD [TOOBIG] "
			    "Non-synchronizing literal too large\n");
	run_free(&run);
}

static void test_literal_size_bounds(void **state)
{
	(void)state;
	/* 2^32 is not a literal size: the synchronising one gets BAD and
	 * the connection goes on; a LITERAL+ one is fatal. */
	expect_events("a LOGIN {4294967296}\r\nb NOOP\r\n", 1024,
		      "ERROR a BAD Invalid literal size\nCOMMAND NOOP\n");
	expect_events("a LOGIN {4294967296+}\r\nxx\r\n", 1024,
		      "FATAL a BAD Invalid literal size\n");
	/* Over the line length outside APPEND */
	expect_events("a LOGIN {2000}\r\nb NOOP\r\n", 1024,
		      "ERROR a BAD [TOOBIG] Literal too large\nCOMMAND NOOP\n");
	/* Over the append limit */
	expect_events("a APPEND INBOX {200000}\r\nb NOOP\r\n", 1024,
		      "ERROR a NO [TOOBIG] Mail size is larger than the "
		      "maximum size allowed by server configuration\n"
		      "COMMAND NOOP\n");
}

static void test_append_literal_goes_to_fd(void **state)
{
	(void)state;
	struct run run;
	struct buf in = BUF_INIT;
	buf_append_str(&in, "a APPEND INBOX (\\Seen) {20000+}\r\n");
	for (int i = 0; i < 2000; i++)
		buf_append_str(&in, "0123456789");
	buf_append_str(&in, "\r\n");
	run_reader(&run, in.data, in.len, 333, 1024, 100000, false);
	assert_string_equal(run.events, "COMMAND APPEND\n");
	assert_int_equal(run.cmds[0].n_args, 3);
	assert_int_equal(run.cmds[0].args[2].type, IMAP_ARG_LITERAL);
	assert_true(run.cmds[0].args[2].fd >= 0);
	assert_int_equal(run.cmds[0].args[2].len, 20000);
	assert_int_equal(run.n_fds, 1);
	assert_int_equal(lseek(run.fds[0], 0, SEEK_END), 20000);
	run_free(&run);
	buf_free(&in);
}

static void test_line_too_long(void **state)
{
	(void)state;
	struct buf in = BUF_INIT;
	buf_append_str(&in, "toolong NOOP ");
	for (int i = 0; i < 3000; i++)
		buf_append_c(&in, 'x');
	buf_append_str(&in, "\r\nb NOOP\r\n");
	struct run run;
	run_reader(&run, in.data, in.len, 1, 1024, 100, false);
	assert_string_equal(run.events, "ERROR toolong BAD Too long argument."
			    "\nCOMMAND NOOP\n");
	run_free(&run);
	run_reader(&run, in.data, in.len, 5000, 1024, 100, false);
	assert_string_equal(run.events, "ERROR toolong BAD Too long argument."
			    "\nCOMMAND NOOP\n");
	run_free(&run);
	buf_free(&in);
}

static void test_bad_syntax(void **state)
{
	(void)state;
	expect_events("a NOOP (\r\n", 1024, "PARSE-ERROR a Missing ')'\n");
	expect_events("a NOOP )\r\n", 1024, "PARSE-ERROR a Unexpected ')'\n");
	expect_events("a NOOP \"abc\r\n", 1024, "PARSE-ERROR a Missing '\"'\n");
	expect_events("+ NOOP\r\n", 1024, "PARSE-ERROR * Error in IMAP "
		      "command received by server.\n");
	expect_events("a\r\n", 1024, "PARSE-ERROR a Error in IMAP command "
		      "received by server.\n");
	expect_events("a NOOP x  y\r\n", 1024, "PARSE-ERROR a Double space "
		      "in command\n");
	expect_events("a NOOP {3}x\r\n", 1024, "PARSE-ERROR a Invalid "
		      "literal\n");
	struct run run;
	run_reader(&run, "a NOOP a\0b\r\n", 12, 1, 1024, 100, false);
	assert_string_equal(run.events, "PARSE-ERROR a NUL characters not "
			    "allowed\n");
	run_free(&run);
}

static void test_deep_nesting(void **state)
{
	(void)state;
	struct buf in = BUF_INIT;
	buf_append_str(&in, "a SEARCH ");
	for (int i = 0; i < 10000; i++)
		buf_append_c(&in, '(');
	for (int i = 0; i < 10000; i++)
		buf_append_c(&in, ')');
	buf_append_str(&in, "\r\n");
	struct run run;
	run_reader(&run, in.data, in.len, 4096, 65536, 100, false);
	assert_string_equal(run.events, "PARSE-ERROR a Too deep parenthesis "
			    "nesting\n");
	run_free(&run);
	buf_free(&in);
	/* 64 levels are fine */
	buf_init(&in, 0);
	buf_append_str(&in, "a SEARCH ");
	for (int i = 0; i < IMAP_MAX_LIST_DEPTH; i++)
		buf_append_c(&in, '(');
	buf_append_c(&in, '1');
	for (int i = 0; i < IMAP_MAX_LIST_DEPTH; i++)
		buf_append_c(&in, ')');
	buf_append_str(&in, "\r\n");
	run_reader(&run, in.data, in.len, 4096, 65536, 100, false);
	assert_string_equal(run.events, "COMMAND SEARCH\n");
	run_free(&run);
	buf_free(&in);
}

static void test_seqset(void **state)
{
	(void)state;
	struct imap_pool pool = { NULL };
	struct imap_seq_range *r;
	size_t n;
	const char *error;
	assert_int_equal(imap_seqset_parse("1:3,5,*:7,9:*", &pool, &r, &n,
					   &error), 0);
	assert_int_equal(n, 4);
	assert_int_equal(r[0].lo, 1);
	assert_int_equal(r[0].hi, 3);
	assert_int_equal(r[1].lo, 5);
	assert_int_equal(r[2].lo, 7);
	assert_int_equal(r[2].hi, IMAP_SEQ_STAR);
	assert_int_equal(r[3].hi, IMAP_SEQ_STAR);
	/* 2^32-1 is a valid number (RFC 3501 nz-number); it is kept one
	 * below, as the '*' marker is 2^32-1. */
	assert_int_equal(imap_seqset_parse("1:4294967295", &pool, &r, &n,
					   &error), 0);
	assert_int_equal(r[0].hi, 4294967294u);
	const char *bad[] = { "", "0", "1:", ":1", "1,", "a", "1:2:3",
			      "4294967296", "99999999999", "1 2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(imap_seqset_parse(bad[i], &pool, &r, &n,
						   &error), -1);
	/* 1:*,*:1 repeated 100,000 times is refused by count */
	struct buf big = BUF_INIT;
	for (int i = 0; i < 100000; i++)
		buf_append_str(&big, i == 0 ? "1:*,*:1" : ",1:*,*:1");
	assert_int_equal(imap_seqset_parse(big.data, &pool, &r, &n, &error), -1);
	assert_string_equal(error, "Too many ranges in sequence set");
	buf_free(&big);
	imap_pool_clear(&pool);
}

static void test_literal_in_list(void **state)
{
	(void)state;
	struct run run;
	const char *in = "a ID (\"name\" {3}\r\nfoo)\r\n";
	run_reader(&run, in, strlen(in), 1, 1024, 100, false);
	assert_string_equal(run.events, "CONTINUE\nCOMMAND ID\n");
	assert_int_equal(run.cmds[0].args[0].list_count, 2);
	assert_string_equal(run.cmds[0].args[0].list[1].str, "foo");
	run_free(&run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_commands),
		cmocka_unit_test(test_args_tree),
		cmocka_unit_test(test_sync_literal),
		cmocka_unit_test(test_literal_plus),
		cmocka_unit_test(test_literal_size_bounds),
		cmocka_unit_test(test_append_literal_goes_to_fd),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_bad_syntax),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_seqset),
		cmocka_unit_test(test_literal_in_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
