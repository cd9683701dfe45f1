/* Unit tests for var_expand(): variables, modifiers, offset/width, caller
 * functions, errors and the output bound. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: POSIX and GNU interfaces */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "var-expand.h"

/* printf %s user1@example.com | md5sum */
#define USER1 "user1@example.com"
#define USER1_MD5 "111d68d06e2d317b5a59c2c6c5bad808"

static const struct var_expand_entry test_table[] = {
	{ 'u', "user", USER1 },
	{ 'n', "username", "user1" },
	{ 'd', "domain", "example.com" },
	{ 's', "service", "imap" },
	{ 'p', "pid", "4242" },
	{ 'r', "rip", "192.0.2.10" },
	{ 'l', "lip", "198.51.100.1" },
	{ 'g', "guid", "0123456789abcdef" },
	{ 'e', "empty", NULL },
	{ '\0', "session", "Ab12Cd34" },
	{ '\0', NULL, NULL }
};

static const char *ldap_func(const char *data, void *ctx)
{
	int *calls = ctx;
	(*calls)++;
	if (strcmp(data, "mailRoutingAddress") == 0)
		return "Routed@Example.COM";
	return NULL;
}

static const struct var_expand_func test_funcs[] = {
	{ "ldap", ldap_func },
	{ NULL, NULL }
};

/* Expands tmpl and checks the result; returns nothing, asserts. */
static void check(const char *tmpl, const char *expected)
{
	struct buf out = BUF_INIT;
	const char *error = NULL;
	int calls = 0;

	if (var_expand(&out, tmpl, test_table, test_funcs, &calls,
		       &error) < 0)
		fail_msg("%s: %s", tmpl, error);
	assert_string_equal(out.data != NULL ? out.data : "", expected);
	buf_free(&out);
}

static void check_error(const char *tmpl, const char *expected_error)
{
	struct buf out = BUF_INIT;
	const char *error = NULL;
	int calls = 0;

	assert_true(buf_append_str(&out, "keep") == 0);
	assert_int_equal(var_expand(&out, tmpl, test_table, test_funcs,
				    &calls, &error), -1);
	assert_non_null(error);
	assert_string_equal(error, expected_error);
	/* the buffer is left as it was */
	assert_string_equal(out.data, "keep");
	assert_int_equal(out.len, 4);
	buf_free(&out);
}

static void test_plain_text(void **state)
{
	(void)state;
	check("", "");
	check("no variables here", "no variables here");
}

static void test_short_variables(void **state)
{
	(void)state;
	check("%u", USER1);
	check("%n@%d", "user1@example.com");
	check("%s(%u)<%p>", "imap(user1@example.com)<4242>");
	check("%r %l %g", "192.0.2.10 198.51.100.1 0123456789abcdef");
	check("[%e]", "[]");
}

static void test_long_variables(void **state)
{
	(void)state;
	check("%{user}", USER1);
	check("%s(%u)<%{session}>: ", "imap(user1@example.com)<Ab12Cd34>: ");
	check("%{username}/%{domain}", "user1/example.com");
}

static void test_percent_escape(void **state)
{
	(void)state;
	check("100%%", "100%");
	check("storage=95%% quota-warning 95 %u",
	      "storage=95% quota-warning 95 user1@example.com");
	check("%%u", "%u");
}

static void test_md5_modifier(void **state)
{
	(void)state;
	check("%Mu", USER1_MD5);
	check("%{user}", USER1);
	check("%M{user}", USER1_MD5);
}

static void test_md5_width_offset(void **state)
{
	(void)state;
	/* %2Mu = first 2 chars of the MD5 hex; %2.3Mu = 3 chars from
	   offset 2 (Dovecot's [offset.]width) */
	check("%2Mu", "11");
	check("%2.3Mu", "1d6");
	check("obox:%2Mu/%2.3Mu/%u", "obox:11/1d6/" USER1);
	check("/var/vmail/%2Mu/%u", "/var/vmail/11/" USER1);
}

static void test_offset_width(void **state)
{
	(void)state;
	check("%3u", "use");
	check("%1.2u", "se");
	check("%-3.3u", "com");
	check("%0.-4u", "user1@example");
	check("%100u", USER1);
	check("%50.3u", "");
	check("%05p", "04242");
	check("%02p", "4242");
}

static void test_case_modifiers(void **state)
{
	(void)state;
	check("%Lu", USER1);
	check("%Uu", "USER1@EXAMPLE.COM");
	check("%Ld", "example.com");
	check("%L{ldap:mailRoutingAddress}", "routed@example.com");
	/* modifiers apply left to right */
	check("%MUu", "111D68D06E2D317B5A59C2C6C5BAD808");
	check("%2.3MUu", "1D6");
	check("%2.3UMu", "fa0");	/* MD5 of the uppercased name */
}

static void test_other_modifiers(void **state)
{
	(void)state;
	check("%Rn", "1resu");
	check("%Dd", "example,dc=com");
	check("%Xp", "1092");
}

static void test_func_ldap(void **state)
{
	struct buf out = BUF_INIT;
	const char *error;
	int calls = 0;

	(void)state;
	assert_int_equal(var_expand(&out,
				    "=user=%{ldap:mailRoutingAddress}, x",
				    test_table, test_funcs, &calls, &error), 0);
	assert_string_equal(out.data, "=user=Routed@Example.COM, x");
	assert_int_equal(calls, 1);
	buf_free(&out);
	/* a function that does not know the attribute gives "" */
	check("[%{ldap:nosuchattr}]", "[]");
}

static void test_func_env(void **state)
{
	(void)state;
	assert_int_equal(setenv("STRATUS_VAR_TEST", "envvalue", 1), 0);
	check("%{env:STRATUS_VAR_TEST}", "envvalue");
	check("[%{env:STRATUS_VAR_UNSET_XYZ}]", "[]");
}

static void test_unknown_variable(void **state)
{
	(void)state;
	check_error("%z", "unknown variable");
	check_error("x %{nosuch} y", "unknown variable");
	check_error("%{sql:foo}", "unknown variable function");
}

static void test_malformed(void **state)
{
	(void)state;
	check_error("%{user", "missing '}' in %{");
	check_error("abc%", "'%' at end of template");
	check_error("%2.3M", "'%' at end of template");
	check_error("%{}", "empty %{}");
}

static void test_no_funcs_table(void **state)
{
	struct buf out = BUF_INIT;
	const char *error;

	(void)state;
	assert_int_equal(var_expand(&out, "%{ldap:x}", test_table, NULL, NULL,
				    &error), -1);
	assert_string_equal(error, "unknown variable function");
	assert_int_equal(var_expand(&out, "%u", NULL, NULL, NULL, &error), -1);
	assert_int_equal(var_expand(&out, "%%", NULL, NULL, NULL, &error), 0);
	assert_string_equal(out.data, "%");
	buf_free(&out);
}

static void test_output_bound(void **state)
{
	struct buf out;
	const char *error;

	(void)state;
	buf_init(&out, 20);
	assert_int_equal(var_expand(&out, "%u", test_table, NULL, NULL,
				    &error), 0);
	assert_int_equal(var_expand(&out, "%u", test_table, NULL, NULL,
				    &error), -1);
	assert_string_equal(error, "expansion result too long");
	assert_string_equal(out.data, USER1);
	assert_int_equal(var_expand(&out, "%Mu", test_table, NULL, NULL,
				    &error), -1);
	assert_int_equal(var_expand(&out, "123", test_table, NULL, NULL,
				    &error), 0);
	assert_int_equal(var_expand(&out, "x", test_table, NULL, NULL,
				    &error), -1);
	assert_string_equal(out.data, USER1 "123");
	buf_free(&out);
}

static void test_user_table(void **state)
{
	struct var_expand_user vu;
	struct buf out = BUF_INIT;
	const char *error;
	char pid[32];

	(void)state;
	var_expand_user_init(&vu, USER1, "lmtp", "sess1");
	assert_int_equal(var_expand(&out, "%n|%d|%s|%{session}|%2.3Mu|%p",
				    vu.table, NULL, NULL, &error), 0);
	(void)snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	char *expected = xasprintf("user1|example.com|lmtp|sess1|1d6|%s", pid);
	assert_string_equal(out.data, expected);
	free(expected);
	var_expand_user_deinit(&vu);

	/* no domain: %n is the whole name, %d empty; NULL service */
	buf_reset(&out);
	var_expand_user_init(&vu, "localonly", NULL, NULL);
	assert_int_equal(var_expand(&out, "%n[%d][%s][%{session}]", vu.table,
				    NULL, NULL, &error), 0);
	assert_string_equal(out.data, "localonly[][][]");
	var_expand_user_deinit(&vu);
	buf_free(&out);
}

static void test_many_modifiers(void **state)
{
	(void)state;
	/* more modifiers than the limit: the rest is read as the key */
	check_error("%LLLLLLLLLLLu", "unknown variable");
	check("%LLLLLLLLLLu", USER1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text),
		cmocka_unit_test(test_short_variables),
		cmocka_unit_test(test_long_variables),
		cmocka_unit_test(test_percent_escape),
		cmocka_unit_test(test_md5_modifier),
		cmocka_unit_test(test_md5_width_offset),
		cmocka_unit_test(test_offset_width),
		cmocka_unit_test(test_case_modifiers),
		cmocka_unit_test(test_other_modifiers),
		cmocka_unit_test(test_func_ldap),
		cmocka_unit_test(test_func_env),
		cmocka_unit_test(test_unknown_variable),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_no_funcs_table),
		cmocka_unit_test(test_output_bound),
		cmocka_unit_test(test_user_table),
		cmocka_unit_test(test_many_modifiers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
