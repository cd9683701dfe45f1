/* lib/mail tokenizer: address lists (groups, routes, comments as names,
 * Dovecot's MISSING_* fill-ins), Content-Type and RFC 2231 parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail-rfc822.h"

/* Renders a list as "name|route|mailbox|domain;" with "-" for NULL. */
static char *addrs(const char *value)
{
	struct mail_address_list l;
	struct buf out = BUF_INIT;

	mail_address_parse(value, strlen(value), 1000, &l);
	(void)buf_append(&out, "", 0);
	for (unsigned int i = 0; i < l.count; i++) {
		const struct mail_address *a = &l.v[i];
		(void)buf_printf(&out, "%s|%s|%s|%s;",
				 a->name ? a->name : "-",
				 a->route ? a->route : "-",
				 a->mailbox ? a->mailbox : "-",
				 a->domain ? a->domain : "-");
	}
	mail_address_list_free(&l);
	return buf_steal(&out);
}

static void check_addrs(const char *value, const char *expect)
{
	char *got = addrs(value);

	assert_string_equal(got, expect);
	free(got);
}

static void test_address_simple_forms(void **state)
{
	(void)state;
	check_addrs("a@b.c", "-|-|a|b.c;");
	check_addrs("\"Doe, J\" <j@d.o>", "Doe, J|-|j|d.o;");
	check_addrs("<c@d>", "-|-|c|d;");
	check_addrs("Folded\r\n Name <f@x>", "Folded Name|-|f|x;");
	check_addrs("", "");
	check_addrs("   ", "");
}

static void test_address_comment_becomes_name(void **state)
{
	(void)state;
	check_addrs("(ignored) r@e.o (Real Name)", "Real Name|-|r|e.o;");
}

static void test_address_groups(void **state)
{
	(void)state;
	check_addrs("undisclosed:;", "-|-|undisclosed|-;-|-|-|-;");
	check_addrs("g: a@b, c@d;, e@f",
		    "-|-|g|-;-|-|a|b;-|-|c|d;-|-|-|-;-|-|e|f;");
}

static void test_address_route(void **state)
{
	(void)state;
	check_addrs("<@r1,@r2:u@h>", "-|@r1,@r2|u|h;");
	check_addrs("<@r1 u@h>", "-|INVALID_ROUTE|u|h;");
}

static void test_address_missing_parts(void **state)
{
	(void)state;
	check_addrs("Empty <>", "Empty|-|MISSING_MAILBOX|MISSING_DOMAIN;");
	check_addrs("nodomain", "-|-|nodomain|MISSING_DOMAIN;");
	check_addrs("@only", "-|-|MISSING_MAILBOX|only;");
	check_addrs("just some words",
		    "just some words|-|MISSING_MAILBOX|MISSING_DOMAIN;");
}

static void test_address_max_count(void **state)
{
	struct mail_address_list l;
	const char *v = "a@b, c@d, e@f";

	(void)state;
	mail_address_parse(v, strlen(v), 2, &l);
	assert_int_equal(l.count, 2);
	mail_address_list_free(&l);
}

static char *ctype(const char *value, int *ret_r)
{
	struct mail_params params;
	char *type = NULL, *subtype = NULL;
	struct buf out = BUF_INIT;

	*ret_r = rfc822_parse_content_type(value, strlen(value), &type,
					   &subtype, &params);
	(void)buf_printf(&out, "%s/%s", type, subtype ? subtype : "-");
	for (unsigned int i = 0; i < params.count; i++)
		(void)buf_printf(&out, " %s=%s", params.v[i].name,
				 params.v[i].value);
	free(type);
	free(subtype);
	mail_params_free(&params);
	return buf_steal(&out);
}

static void check_ctype(const char *value, int ret, const char *expect)
{
	int r;
	char *got = ctype(value, &r);

	assert_string_equal(got, expect);
	assert_int_equal(r, ret);
	free(got);
}

static void test_content_type_forms(void **state)
{
	(void)state;
	check_ctype("text/plain", 0, "text/plain");
	check_ctype(" TEXT / Plain ; Charset = \"utf-8\"", 0,
		    "TEXT/Plain Charset=utf-8");
	check_ctype("text", -1, "text/-");
	check_ctype("", -1, "/-");
	check_ctype("/x", -1, "/-");
}

static void test_content_type_rfc2231_merge(void **state)
{
	(void)state;
	check_ctype("a/b; n*1=\"y\"; n*0=\"x\"", 0, "a/b n=xy");
	check_ctype("a/b; n*0*=utf-8''%41; n*1=\" b\"", 0,
		    "a/b n*=utf-8''%41 b");
	check_ctype("a/b; n*0=\"x \"; n*1*=%42", 0, "a/b n*=''x %42");
	check_ctype("a/b; n*0=x; n*2=z", 0, "a/b n=x");
	check_ctype("a/b; f*=utf-8''x", 0, "a/b f*=utf-8''x");
}

static void test_content_type_broken_params_skipped(void **state)
{
	(void)state;
	check_ctype("text/plain; ; charset=us-ascii; =bad", 0,
		    "text/plain =bad");
	check_ctype("text/plain; a=1; b", 0, "text/plain a=1");
	check_ctype("text/plain; a=", 0, "text/plain a=");
	check_ctype("text/plain; n==?utf-8?q?x?= ;c=d", 0,
		    "text/plain n==?utf-8?q?x?= c=d");
}

static void test_token_params(void **state)
{
	struct mail_params params;
	char *token;
	const char *v = "Attachment; filename=\"a b\"";

	(void)state;
	rfc822_parse_token_params(v, strlen(v), &token, &params);
	assert_string_equal(token, "Attachment");
	assert_int_equal(params.count, 1);
	assert_string_equal(params.v[0].value, "a b");
	free(token);
	mail_params_free(&params);
	rfc822_parse_token_params("  ", 2, &token, &params);
	assert_null(token);
	assert_int_equal(params.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_simple_forms),
		cmocka_unit_test(test_address_comment_becomes_name),
		cmocka_unit_test(test_address_groups),
		cmocka_unit_test(test_address_route),
		cmocka_unit_test(test_address_missing_parts),
		cmocka_unit_test(test_address_max_count),
		cmocka_unit_test(test_content_type_forms),
		cmocka_unit_test(test_content_type_rfc2231_merge),
		cmocka_unit_test(test_content_type_broken_params_skipped),
		cmocka_unit_test(test_token_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
