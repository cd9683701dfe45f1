/* Unit tests of lib/sieve beyond the corpus: error positions, the hard
 * bounds (nesting, string size, script size), run-time limits, the binary
 * format, vacation tracking and pathological patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "test-sieve-msg.h"

static const char *const basic_msg =
	"From: Alice <alice@example.org>\r\n"
	"To: user1@example.com\r\n"
	"Subject: hello there\r\n"
	"Message-ID: <m1@example.org>\r\n"
	"\r\n"
	"body text\r\n";

static char *compile_error(const char *src)
{
	struct sieve_script *s = NULL;
	char *err = NULL;

	if (sieve_script_compile(src, strlen(src), 0, &s, &err) == 0) {
		sieve_script_free(&s);
		return NULL;
	}
	return err;
}

static struct sieve_script *compile_ok(const char *src)
{
	struct sieve_script *s = NULL;
	char *err = NULL;

	if (sieve_script_compile(src, strlen(src), 0, &s, &err) < 0) {
		fprintf(stderr, "compile failed: %s\n", err);
		free(err);
		fail();
	}
	return s;
}

/* Runs src against msg with env (NULL = defaults); returns the formatted
 * result (malloc'd). */
static char *run_with(const char *src, const char *msg,
		      struct sieve_env *env_in, struct test_msg *m_in)
{
	struct sieve_script *s = compile_ok(src);
	struct sieve_env env = { 0 };
	struct test_msg m;
	struct sieve_result *r;
	char *out;

	if (env_in != NULL)
		env = *env_in;
	if (m_in == NULL)
		test_msg_init(&m, msg, strlen(msg));
	env.tracking = &test_tracking_ops;
	env.tracking_ctx = m_in != NULL ? m_in : &m;
	sieve_script_run(s, &test_msg_ops, m_in != NULL ? (void *)m_in : &m,
			 &env, &r);
	out = test_result_format(r);
	sieve_result_commit_tracking(r, &env, 0);
	sieve_result_free(&r);
	sieve_script_free(&s);
	if (m_in == NULL)
		test_msg_deinit(&m);
	return out;
}

static void test_error_position_unknown_command(void **state)
{
	char *err = compile_error("keep;\n  frobnicate \"x\";\n");

	(void)state;
	assert_non_null(err);
	assert_non_null(strstr(err, "line 2, column 3: unknown command "
				    "'frobnicate'"));
	free(err);
}

static void test_error_unknown_require(void **state)
{
	char *err = compile_error("require [\"fileinto\", \"nosuchext\"];");

	(void)state;
	assert_non_null(err);
	assert_non_null(strstr(err, "line 1, column 9: unknown Sieve "
				    "extension 'nosuchext'"));
	free(err);
}

static void test_error_missing_require(void **state)
{
	char *err = compile_error("fileinto \"Junk\";");

	(void)state;
	assert_non_null(err);
	assert_non_null(strstr(err, "line 1, column 1: unknown command "
				    "'fileinto' (require \"fileinto\""));
	free(err);
}

static void test_error_unterminated_string(void **state)
{
	char *err = compile_error("if header :is \"subject\" \"abc\n{ keep; }");

	(void)state;
	assert_non_null(err);
	assert_non_null(strstr(err, "line 1, column 25: unterminated string"));
	free(err);
}

static void test_error_invalid_utf8(void **state)
{
	char *err = compile_error("redirect \"a\xff@example.com\";");

	(void)state;
	assert_non_null(err);
	assert_non_null(strstr(err, "line 1, column 10: string is not valid "
				    "UTF-8"));
	free(err);
}

static void test_error_elsif_without_if(void **state)
{
	char *err = compile_error("keep;\nelsif true { stop; }");

	(void)state;
	assert_non_null(err);
	assert_non_null(strstr(err, "line 2, column 1: 'elsif' must follow"));
	free(err);
}

static void test_limit_nesting_10000(void **state)
{
	struct buf b;
	char *err;

	(void)state;
	buf_init(&b, 0);
	for (int i = 0; i < 10000; i++)
		buf_append_str(&b, "if true {\n");
	buf_append_str(&b, "keep;\n");
	for (int i = 0; i < 10000; i++)
		buf_append_str(&b, "}\n");
	err = compile_error(b.data);
	assert_non_null(err);
	assert_non_null(strstr(err, "line 32, column 4: blocks and tests are "
				    "nested too deeply"));
	free(err);
	buf_free(&b);
}

static void test_limit_nested_tests(void **state)
{
	struct buf b;
	char *err;

	(void)state;
	buf_init(&b, 0);
	buf_append_str(&b, "if ");
	for (int i = 0; i < 5000; i++)
		buf_append_str(&b, "not ");
	buf_append_str(&b, "true { keep; }");
	err = compile_error(b.data);
	assert_non_null(err);
	assert_non_null(strstr(err, "nested too deeply"));
	free(err);
	buf_free(&b);
}

static void test_limit_string_1mb(void **state)
{
	struct buf b;
	char *err, *out;

	(void)state;
	/* Just under the bound compiles, and :contains on it is fine. */
	buf_init(&b, 0);
	buf_append_str(&b, "if header :contains \"subject\" \"");
	for (int i = 0; i < 1024 * 1000; i++)
		buf_append_c(&b, 'a');
	buf_append_str(&b, "\" { discard; }");
	out = run_with(b.data, basic_msg, NULL, NULL);
	assert_string_equal(out, "keep (implicit)\n");
	free(out);
	buf_reset(&b);
	/* One byte over the string bound is an error at the string. */
	buf_append_str(&b, "redirect \"");
	for (int i = 0; i < 1024 * 1024 + 1; i++)
		buf_append_c(&b, 'a');
	buf_append_str(&b, "\";");
	{
		struct sieve_script *s = NULL;

		err = NULL;
		assert_int_equal(sieve_script_compile(b.data, b.len,
						      4 * 1024 * 1024, &s,
						      &err), -1);
	}
	assert_non_null(err);
	assert_non_null(strstr(err, "line 1, column 10: string is longer"));
	free(err);
	buf_free(&b);
}

static void test_limit_script_size(void **state)
{
	struct sieve_script *s = NULL;
	char *err = NULL;

	(void)state;
	assert_int_equal(sieve_script_compile("keep;  ", 7, 5, &s, &err), -1);
	assert_non_null(strstr(err, "script is too large"));
	free(err);
}

static void test_limit_pathological_matches(void **state)
{
	struct test_msg m;
	struct buf subj, script;
	struct sieve_env env = { 0 };
	char *out;

	(void)state;
	/* A 200 kB value of 'a's against "*a*a*a*...b" needs O(n*m)
	 * comparisons: the step budget ends it, the message is kept. */
	buf_init(&subj, 0);
	buf_append_str(&subj, "Subject: ");
	for (int i = 0; i < 200000; i++)
		buf_append_c(&subj, 'a');
	buf_append_str(&subj, "\r\n\r\nx\r\n");
	buf_init(&script, 0);
	buf_append_str(&script, "if header :matches \"subject\" \"");
	for (int i = 0; i < 200; i++)
		buf_append_str(&script, "*a");
	buf_append_str(&script, "*b\" { discard; }");
	test_msg_init(&m, subj.data, subj.len);
	env.max_steps = 2000000;
	/* Many stars cost nothing: only the last one ever backtracks. */
	out = run_with(script.data, NULL, &env, &m);
	assert_string_equal(out, "keep (implicit)\n");
	free(out);
	/* A long literal after a star re-scans at every position:
	 * 200000 * 400 comparisons, over the budget. */
	buf_reset(&script);
	buf_append_str(&script, "if header :matches \"subject\" \"*");
	for (int i = 0; i < 400; i++)
		buf_append_str(&script, "a");
	buf_append_str(&script, "b\" { discard; }");
	out = run_with(script.data, NULL, &env, &m);
	assert_string_equal(out, "error\nkeep (implicit)\n");
	free(out);
	test_msg_deinit(&m);
	buf_free(&subj);
	buf_free(&script);
}

static void test_regex_catastrophic_refused(void **state)
{
	char *err;

	(void)state;
	err = compile_error("require \"regex\";\n"
			    "if header :regex \"subject\" \"(a*)*\\\\1b\" "
			    "{ discard; }");
	assert_non_null(err);
	assert_non_null(strstr(err, "back-references are not allowed"));
	free(err);
	err = compile_error("require \"regex\";\n"
			    "if header :regex \"subject\" \"((a{100}){100}){100}"
			    "{100}\" { discard; }");
	assert_non_null(err);
	assert_non_null(strstr(err, "line 2, column 28: invalid regular "
				    "expression"));
	free(err);
}

static void test_regex_nested_star_runs_fast(void **state)
{
	struct test_msg m;
	struct buf subj;
	char *out;

	(void)state;
	buf_init(&subj, 0);
	buf_append_str(&subj, "Subject: ");
	for (int i = 0; i < 5000; i++)
		buf_append_c(&subj, 'a');
	buf_append_str(&subj, "\r\n\r\nx\r\n");
	test_msg_init(&m, subj.data, subj.len);
	out = run_with("require [\"regex\", \"fileinto\"];\n"
		       "if header :regex \"subject\" \"^(a+)+$\" "
		       "{ fileinto \"A\"; }", NULL, NULL, &m);
	assert_string_equal(out, "fileinto A\n");
	free(out);
	test_msg_deinit(&m);
	buf_free(&subj);
}

/* PCRE2's match limit ends catastrophic backtracking on a long value:
 * the run fails (the message is kept) instead of the delivery hanging. */
static void test_regex_backtracking_bounded(void **state)
{
	struct test_msg m;
	struct buf msg;
	char *out;

	(void)state;
	buf_init(&msg, 0);
	buf_append_str(&msg, "Subject: x\r\n\r\n");
	for (int i = 0; i < 200000; i++)
		buf_append_c(&msg, 'a');
	buf_append_str(&msg, "!\r\n");
	test_msg_init(&m, msg.data, msg.len);
	out = run_with("require [\"regex\", \"body\", \"variables\"];\n"
		       "if body :raw :regex \"^(a|aa)+$\" { discard; }",
		       NULL, NULL, &m);
	assert_string_equal(out, "error\nkeep (implicit)\n");
	free(out);
	/* the same pattern on a short value matches normally */
	out = run_with("require [\"regex\", \"variables\", \"fileinto\"];\n"
		       "if header :regex \"subject\" \"^(x|xx)+$\" "
		       "{ fileinto \"${1}\"; }", NULL, NULL, &m);
	assert_string_equal(out, "fileinto x\n");
	free(out);
	test_msg_deinit(&m);
	buf_free(&msg);
}

static const struct sieve_script *chain_include(void *ctx, bool global,
						const char *name)
{
	struct sieve_script **chain = ctx;
	int i = atoi(name + 1);

	(void)global;
	return i >= 0 && i < 12 ? chain[i] : NULL;
}

/* include s0 -> s1 -> ... -> s11: over max_include_depth (10) the run
 * stops with an error and the message is kept. */
static void test_include_depth_limit(void **state)
{
	struct sieve_script *chain[12];
	struct sieve_env env = { 0 };
	struct test_msg m;
	struct sieve_result *r;

	(void)state;
	for (int i = 0; i < 12; i++) {
		char src[96];

		snprintf(src, sizeof(src), i < 11 ?
			 "require \"include\"; include \"s%d\";" :
			 "require \"fileinto\"; fileinto \"deep\";", i + 1);
		chain[i] = compile_ok(src);
	}
	env.include = chain_include;
	env.include_ctx = chain;
	test_msg_init(&m, basic_msg, strlen(basic_msg));
	sieve_script_run(chain[0], &test_msg_ops, &m, &env, &r);
	assert_int_equal(r->status, SIEVE_EXEC_FAILED);
	assert_non_null(strstr(r->error, "nested deeper than 10"));
	sieve_result_free(&r);
	env.max_include_depth = 12;
	sieve_script_run(chain[0], &test_msg_ops, &m, &env, &r);
	assert_int_equal(r->status, SIEVE_EXEC_OK);
	assert_string_equal(r->actions[0].mailbox, "deep");
	sieve_result_free(&r);
	test_msg_deinit(&m);
	for (int i = 0; i < 12; i++)
		sieve_script_free(&chain[i]);
}

/* Scripts a..c by name, for the include count and walker tests. */
static const struct sieve_script *named_include(void *ctx, bool global,
						const char *name)
{
	struct sieve_script **abc = ctx;

	(void)global;
	return name[0] >= 'a' && name[0] <= 'c' && name[1] == '\0' ?
	       abc[name[0] - 'a'] : NULL;
}

static void collect_include(void *ctx, bool global, const char *name)
{
	buf_printf(ctx, "%s%s;", global ? "global:" : "", name);
}

/* sieve_include_max_includes counts distinct scripts (one included twice
 * counts once); over it the run fails and the message is kept. The
 * walker lists every include, also in blocks that do not run. */
static void test_include_count_limit(void **state)
{
	struct sieve_script *abc[3], *main_s;
	struct sieve_env env = { 0 };
	struct test_msg m;
	struct sieve_result *r;
	struct buf names = BUF_INIT;

	(void)state;
	abc[0] = compile_ok("require \"fileinto\"; fileinto \"A\";");
	abc[1] = compile_ok("require \"fileinto\"; fileinto \"B\";");
	abc[2] = compile_ok("require \"fileinto\"; fileinto \"C\";");
	main_s = compile_ok("require \"include\"; include \"a\"; "
			    "include \"a\"; include \"b\"; "
			    "if false { include :global \"c\"; }");
	sieve_script_includes(main_s, collect_include, &names);
	buf_append(&names, "", 1);
	assert_string_equal(names.data, "a;a;b;global:c;");
	buf_free(&names);
	env.include = named_include;
	env.include_ctx = abc;
	env.max_includes = 2;
	test_msg_init(&m, basic_msg, strlen(basic_msg));
	sieve_script_run(main_s, &test_msg_ops, &m, &env, &r);
	assert_int_equal(r->status, SIEVE_EXEC_OK);
	sieve_result_free(&r);
	sieve_script_free(&main_s);
	main_s = compile_ok("require \"include\"; include \"a\"; "
			    "include \"b\"; include \"c\";");
	sieve_script_run(main_s, &test_msg_ops, &m, &env, &r);
	assert_int_equal(r->status, SIEVE_EXEC_FAILED);
	assert_non_null(strstr(r->error, "limit of 2 included scripts"));
	sieve_result_free(&r);
	env.max_includes = 0;	/* the default, 255 */
	sieve_script_run(main_s, &test_msg_ops, &m, &env, &r);
	assert_int_equal(r->status, SIEVE_EXEC_OK);
	assert_int_equal(r->n_actions, 3);
	sieve_result_free(&r);
	sieve_script_free(&main_s);
	test_msg_deinit(&m);
	for (int i = 0; i < 3; i++)
		sieve_script_free(&abc[i]);
}

/* RFC 6609 3.2: the included name is a constant. */
static void test_include_name_constant(void **state)
{
	char *err = compile_error("require [\"include\", \"variables\"];\n"
				  "set \"n\" \"x\"; include \"${n}\";\n");

	(void)state;
	assert_non_null(err);
	assert_non_null(strstr(err, "must be a constant"));
	free(err);
}

static void test_body_content_types(void **state)
{
	(void)state;
	assert_true(sieve_body_type_matches("", "image", "png"));
	assert_true(sieve_body_type_matches("text", "TEXT", "html"));
	assert_true(sieve_body_type_matches("text/plain", "text", "PLAIN"));
	assert_false(sieve_body_type_matches("text/plain", "text", "html"));
	assert_false(sieve_body_type_matches("tex", "text", "plain"));
	assert_false(sieve_body_type_matches("text/", "text", "plain"));
	assert_false(sieve_body_type_matches("/plain", "text", "plain"));
	assert_false(sieve_body_type_matches("text/plain/x", "text",
					     "plain"));
}

static void test_body_html_to_text(void **state)
{
	static const char html[] =
		"<html><head><title>T</title><style>a{}</style></head>"
		"<body><p>One &amp; <b>two</b></p><!-- no --><br>"
		"&lt;3 &#233;&#x263a; &bogus; &amp<script>x<y</script>end"
		"<unterminated";
	struct buf out = BUF_INIT;

	(void)state;
	sieve_body_html_to_text(html, strlen(html), &out);
	assert_string_equal(out.data, "T\nOne & two\n\n<3 \xc3\xa9\xe2\x98\xba"
			    " &bogus; &amp" "end");
	buf_free(&out);
}

static void test_max_redirects(void **state)
{
	struct sieve_env env = { .max_redirects = 2 };
	char *out;

	(void)state;
	out = run_with("redirect \"a@x.org\"; redirect \"b@x.org\"; "
		       "redirect \"c@x.org\";", basic_msg, &env, NULL);
	assert_string_equal(out, "error\nkeep (implicit)\n");
	free(out);
	out = run_with("redirect \"a@x.org\"; redirect \"b@x.org\"; "
		       "redirect \"A@x.org\";", basic_msg, &env, NULL);
	assert_string_equal(out, "redirect a@x.org\nredirect b@x.org\n");
	free(out);
}

static void test_max_actions(void **state)
{
	struct sieve_env env = { .max_actions = 3 };
	char *out;

	(void)state;
	out = run_with("require \"fileinto\"; fileinto \"a\"; fileinto \"b\"; "
		       "fileinto \"c\"; fileinto \"d\";", basic_msg, &env,
		       NULL);
	assert_string_equal(out, "error\nkeep (implicit)\n");
	free(out);
}

static void test_redirect_loop_tracked(void **state)
{
	struct test_msg m;
	char *out;

	(void)state;
	test_msg_init(&m, basic_msg, strlen(basic_msg));
	out = run_with("redirect \"a@x.org\";", NULL, NULL, &m);
	assert_string_equal(out, "redirect a@x.org\n");
	free(out);
	/* The same message again (a loop back to us): not redirected
	 * twice, and not kept either. */
	out = run_with("redirect \"a@x.org\";", NULL, NULL, &m);
	assert_string_equal(out, "");
	free(out);
	test_msg_deinit(&m);
}

static void test_vacation_once_per_period(void **state)
{
	const char *script = "require \"vacation\";\n"
			     "vacation :days 7 \"I am away\";";
	struct test_msg m;
	char *out;

	(void)state;
	test_msg_init(&m, basic_msg, strlen(basic_msg));
	out = run_with(script, NULL, NULL, &m);
	assert_string_equal(out, "vacation to=sender@example.org "
				 "subject=Auto: hello there\n"
				 "keep (implicit)\n");
	free(out);
	out = run_with(script, NULL, NULL, &m);
	assert_string_equal(out, "keep (implicit)\n");
	free(out);
	/* Eight days later the sender gets a reply again. */
	m.now += 8 * 24 * 3600;
	out = run_with(script, NULL, NULL, &m);
	assert_string_equal(out, "vacation to=sender@example.org "
				 "subject=Auto: hello there\n"
				 "keep (implicit)\n");
	free(out);
	/* Another sender on the same day gets one too. */
	m.env_from = "bob@example.org";
	out = run_with(script, NULL, NULL, &m);
	assert_non_null(strstr(out, "vacation to=bob@example.org"));
	free(out);
	test_msg_deinit(&m);
}

static void test_vacation_rules(void **state)
{
	static const struct {
		const char *headers;
		const char *from;
		const char *why;
	} cases[] = {
		{ "Auto-Submitted: auto-replied\r\n", "a@x.org",
		  "auto-submitted" },
		{ "Precedence: bulk\r\n", "a@x.org", "Precedence" },
		{ "List-Id: <l.x.org>\r\n", "a@x.org", "mailing list" },
		{ "", "", "null address" },
		{ "", "MAILER-DAEMON@x.org", "daemon" },
		{ "", "owner-list@x.org", "daemon" },
		{ "", "list-request@x.org", "daemon" },
		{ "", "user1@example.com", "the sender is the recipient" },
	};
	struct sieve_env env = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = xasprintf("%sTo: user1@example.com\r\n"
				       "Subject: s\r\n\r\nb\r\n",
				       cases[i].headers);
		struct test_msg m;
		const char *why = NULL;

		test_msg_init(&m, text, strlen(text));
		assert_false(sieve_vacation_should_reply(&test_msg_ops, &m,
			&env, cases[i].from, NULL, 0, NULL, m.now, &why));
		assert_non_null(strstr(why, cases[i].why));
		test_msg_deinit(&m);
		free(text);
	}
	{
		/* Not addressed to us (Bcc'd through a list). */
		const char *text = "To: someone@else.org\r\n\r\nb\r\n";
		struct test_msg m;
		const char *why;

		test_msg_init(&m, text, strlen(text));
		assert_false(sieve_vacation_should_reply(&test_msg_ops, &m,
			&env, "a@x.org", NULL, 0, NULL, m.now, &why));
		assert_non_null(strstr(why, "not among"));
		test_msg_deinit(&m);
	}
}

static void test_binary_roundtrip_and_corruption(void **state)
{
	struct sieve_script *s = compile_ok(
		"require [\"fileinto\", \"variables\"];\n"
		"if header :matches \"subject\" \"* there\" "
		"{ fileinto \"box-${1}\"; }");
	struct sieve_script *l = NULL;
	unsigned char *bin;
	size_t len;

	(void)state;
	sieve_binary_save(s, (void **)&bin, &len);
	assert_int_equal(sieve_binary_load(bin, len, &l), SIEVE_BINARY_OK);
	sieve_script_free(&l);
	/* Every truncation and every single-byte change either loads to a
	 * valid script or is refused; never a crash (ASan watches). */
	for (size_t i = 0; i < len; i++) {
		int ret = sieve_binary_load(bin, i, &l);

		assert_int_not_equal(ret, SIEVE_BINARY_OK);
		for (int v = 0; v < 256; v += 51) {
			unsigned char saved = bin[i];

			bin[i] = (unsigned char)(bin[i] ^ (v + 1));
			if (sieve_binary_load(bin, len, &l) == SIEVE_BINARY_OK)
				sieve_script_free(&l);
			bin[i] = saved;
		}
	}
	bin[4] = 99;
	assert_int_equal(sieve_binary_load(bin, len, &l), SIEVE_BINARY_STALE);
	free(bin);
	sieve_script_free(&s);
}

static void test_extensions_string(void **state)
{
	(void)state;
	assert_non_null(strstr(sieve_extensions_string(), "fileinto"));
	assert_non_null(strstr(sieve_extensions_string(), "vacation-seconds"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_position_unknown_command),
		cmocka_unit_test(test_error_unknown_require),
		cmocka_unit_test(test_error_missing_require),
		cmocka_unit_test(test_error_unterminated_string),
		cmocka_unit_test(test_error_invalid_utf8),
		cmocka_unit_test(test_error_elsif_without_if),
		cmocka_unit_test(test_limit_nesting_10000),
		cmocka_unit_test(test_limit_nested_tests),
		cmocka_unit_test(test_limit_string_1mb),
		cmocka_unit_test(test_limit_script_size),
		cmocka_unit_test(test_limit_pathological_matches),
		cmocka_unit_test(test_regex_catastrophic_refused),
		cmocka_unit_test(test_regex_nested_star_runs_fast),
		cmocka_unit_test(test_regex_backtracking_bounded),
		cmocka_unit_test(test_include_depth_limit),
		cmocka_unit_test(test_include_count_limit),
		cmocka_unit_test(test_include_name_constant),
		cmocka_unit_test(test_body_content_types),
		cmocka_unit_test(test_body_html_to_text),
		cmocka_unit_test(test_max_redirects),
		cmocka_unit_test(test_max_actions),
		cmocka_unit_test(test_redirect_loop_tracked),
		cmocka_unit_test(test_vacation_once_per_period),
		cmocka_unit_test(test_vacation_rules),
		cmocka_unit_test(test_binary_roundtrip_and_corruption),
		cmocka_unit_test(test_extensions_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
