/* Unit tests for svc-auth's pure parts: SASL decoding, password schemes,
 * passwd-file lines, LDAP escaping and attribute maps, networks, the
 * cache, the penalty and userip counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-anvil.h"
#include "auth-cache.h"
#include "auth-penalty.h"
#include "ldap-filter.h"
#include "net-match.h"
#include "passwd-file.h"
#include "password-scheme.h"
#include "sasl-mech.h"

static enum sasl_step_result plain(struct sasl_exchange *ex, const char *d,
				   size_t n)
{
	const char *ch, *err;
	sasl_exchange_init(ex, SASL_MECH_PLAIN);
	return sasl_exchange_step(ex, true, (const unsigned char *)d, n, &ch,
				  &err);
}

static void test_sasl_plain_good_and_authzid(void **state)
{
	(void)state;
	struct sasl_exchange ex;
	assert_int_equal(plain(&ex, "\0u\0p", 4), SASL_STEP_DONE);
	assert_string_equal(ex.authcid, "u");
	assert_string_equal(ex.password, "p");
	assert_string_equal(ex.authzid, "");
	sasl_exchange_clear(&ex);
	assert_int_equal(plain(&ex, "z\0u\0p", 5), SASL_STEP_DONE);
	assert_string_equal(ex.authzid, "z");
	sasl_exchange_clear(&ex);
}

static void test_sasl_plain_bad_nul_counts_utf8(void **state)
{
	(void)state;
	struct sasl_exchange ex;
	assert_int_equal(plain(&ex, "up", 2), SASL_STEP_FAIL);
	assert_int_equal(plain(&ex, "\0up", 3), SASL_STEP_FAIL);
	assert_int_equal(plain(&ex, "\0u\0p\0", 5), SASL_STEP_FAIL);
	assert_int_equal(plain(&ex, "\0\0p", 3), SASL_STEP_FAIL);
	assert_int_equal(plain(&ex, "\0\xff\xfe\0p", 5), SASL_STEP_FAIL);
	assert_int_equal(plain(&ex, "\0\xc0\x80\0p", 5), SASL_STEP_FAIL);
	assert_int_equal(plain(&ex, "", 0), SASL_STEP_FAIL);
	sasl_exchange_clear(&ex);
}

static void test_sasl_login_steps(void **state)
{
	(void)state;
	struct sasl_exchange ex;
	const char *ch, *err;
	sasl_exchange_init(&ex, SASL_MECH_LOGIN);
	assert_int_equal(sasl_exchange_step(&ex, false, NULL, 0, &ch, &err),
			 SASL_STEP_CONTINUE);
	assert_string_equal(ch, "Username:");
	assert_int_equal(sasl_exchange_step(&ex, true,
			 (const unsigned char *)"bob", 3, &ch, &err),
			 SASL_STEP_CONTINUE);
	assert_string_equal(ch, "Password:");
	assert_int_equal(sasl_exchange_step(&ex, true,
			 (const unsigned char *)"pw", 2, &ch, &err),
			 SASL_STEP_DONE);
	assert_string_equal(ex.authcid, "bob");
	assert_int_equal(sasl_exchange_step(&ex, true,
			 (const unsigned char *)"x", 1, &ch, &err),
			 SASL_STEP_FAIL);
	sasl_exchange_clear(&ex);
}

static void test_password_schemes(void **state)
{
	(void)state;
	const char *err;
	/* {SSHA} of "secret" with salt "salt" */
	assert_int_equal(password_verify("secret",
		"{PLAIN}secret", "CRYPT", &err), PASSWORD_MATCH);
	assert_int_equal(password_verify("nope", "secret", "PLAIN", &err),
			 PASSWORD_MISMATCH);
	assert_int_equal(password_verify("x", "{FOO}x", "PLAIN", &err),
			 PASSWORD_ERROR);
	assert_int_equal(password_verify("x", "{SSHA}!!!", "PLAIN", &err),
			 PASSWORD_ERROR);
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *prefixes[] = { "$2b$", "$6$", "$5$", "$1$" };
	for (size_t i = 0; i < 4; i++) {
		assert_non_null(crypt_gensalt_rn(prefixes[i], i == 0 ? 4 : 0,
						 NULL, 0, setting,
						 sizeof(setting)));
		struct crypt_data cd;
		memset(&cd, 0, sizeof(cd));
		char stored[256];
		snprintf(stored, sizeof(stored), "{CRYPT}%s",
			 crypt_r("pw", setting, &cd));
		assert_int_equal(password_verify("pw", stored, "PLAIN", &err),
				 PASSWORD_MATCH);
		assert_int_equal(password_verify("pX", stored, "PLAIN", &err),
				 PASSWORD_MISMATCH);
	}
}

static void test_passwd_file_line(void **state)
{
	(void)state;
	struct passwd_entry e;
	const char *err;
	const char *l = "u@x:{PLAIN}p:1:2::/home/u::userdb_quota_rule=*:"
			"storage=1M nodelay\n";
	assert_int_equal(passwd_file_parse_line(l, strlen(l), &e, &err), 1);
	assert_string_equal(e.user, "u@x");
	assert_string_equal(e.home, "/home/u");
	assert_string_equal(auth_fields_get(&e.extra, "userdb_quota_rule"),
			    "*:storage=1M");
	assert_string_equal(auth_fields_get(&e.extra, "nodelay"), "yes");
	passwd_entry_clear(&e);
	assert_int_equal(passwd_file_parse_line("# c", 3, &e, &err), 0);
	assert_int_equal(passwd_file_parse_line(":x", 2, &e, &err), -1);
	assert_int_equal(passwd_file_parse_line("a\0b:x", 5, &e, &err), -1);
}

static void test_ldap_escape_and_filter(void **state)
{
	(void)state;
	struct buf b;
	const char *err;
	buf_init(&b, 0);
	assert_int_equal(ldap_filter_expand("(mail=%u)", "*)(uid=*\\", NULL,
					    &b, &err), 0);
	assert_string_equal(b.data, "(mail=\\2a\\29\\28uid=\\2a\\5c)");
	buf_reset(&b);
	assert_int_equal(ldap_filter_expand("(&(uid=%n)(dc=%d))", "a*@b(c",
					    NULL, &b, &err), 0);
	assert_string_equal(b.data, "(&(uid=a\\2a)(dc=b\\28c))");
	buf_free(&b);
}

static void test_ldap_attr_map(void **state)
{
	(void)state;
	struct ldap_attr_list l;
	char *error = NULL;
	assert_int_equal(ldap_attr_list_parse(
		"=user=%{ldap:mailRoutingAddress}, =password=%{ldap:userPassword}"
		", =userdb_quota_rule=*:storage=%{ldap:messageQuotaHard}k, "
		"uid=uidf", &l, &error), 0);
	assert_int_equal(l.n_request, 4);
	struct auth_fields entry = { 0 }, out = { 0 };
	auth_fields_set(&entry, "mailroutingaddress", "u@x");
	auth_fields_set(&entry, "messageQuotaHard", "2048");
	struct auth_request req = { .user = (char *)"u",
				    .service = (char *)"imap" };
	ldap_attr_list_apply(&l, &entry, &req, &out);
	assert_string_equal(auth_fields_get(&out, "user"), "u@x");
	assert_string_equal(auth_fields_get(&out, "userdb_quota_rule"),
			    "*:storage=2048k");
	assert_null(auth_fields_get(&out, "password"));
	assert_null(auth_fields_get(&out, "uidf"));
	auth_fields_clear(&entry);
	auth_fields_clear(&out);
	ldap_attr_list_free(&l);
}

static void test_net_match(void **state)
{
	(void)state;
	char *error = NULL;
	struct net_list *l = net_list_parse("10.0.0.0/24 ::1 fe80::/10",
					    &error);
	assert_non_null(l);
	assert_true(net_list_match(l, "10.0.0.77"));
	assert_true(net_list_match(l, "::ffff:10.0.0.1"));
	assert_false(net_list_match(l, "10.0.1.1"));
	assert_true(net_list_match(l, "fe80::1"));
	assert_false(net_list_match(l, "garbage"));
	net_list_free(&l);
	assert_null(net_list_parse("10.0.0.0/33", &error));
	free(error);
	assert_true(net_is_loopback("127.0.0.2"));
	assert_false(net_is_loopback("10.0.0.1"));
}

static void test_cache(void **state)
{
	(void)state;
	struct auth_cache *c = auth_cache_new(4096, 1000, 500);
	struct auth_fields pf = { 0 }, uf = { 0 }, p2 = { 0 }, u2 = { 0 };
	char *user = NULL;
	auth_fields_set(&uf, "home", "/h");
	auth_cache_passdb_store(c, 0, "k", "pw", PASSDB_RESULT_OK, "norm",
				&pf, &uf);
	assert_int_equal(auth_cache_passdb_lookup(c, 10, "k", "pw", false,
			 &user, &p2, &u2), AUTH_CACHE_HIT_OK);
	assert_string_equal(user, "norm");
	assert_string_equal(auth_fields_get(&u2, "home"), "/h");
	free(user);
	assert_int_equal(auth_cache_passdb_lookup(c, 10, "k", "new", false,
			 &user, &p2, &u2), AUTH_CACHE_MISS);
	assert_int_equal(auth_cache_passdb_lookup(c, 2000, "k", "pw", false,
			 &user, &p2, &u2), AUTH_CACHE_MISS);
	auth_cache_passdb_store(c, 0, "g", "x", PASSDB_RESULT_USER_UNKNOWN,
				"g", &pf, &pf);
	assert_int_equal(auth_cache_passdb_lookup(c, 10, "g", "y", false,
			 &user, &p2, &u2), AUTH_CACHE_HIT_UNKNOWN);
	for (int i = 0; i < 200; i++) {
		char k[16];
		snprintf(k, sizeof(k), "u%d", i);
		auth_cache_passdb_store(c, 0, k, "pw", PASSDB_RESULT_OK, k,
					&pf, &uf);
	}
	assert_true(auth_cache_used(c) <= 4096);
	assert_true(auth_cache_flush(c, NULL) > 0);
	assert_int_equal(auth_cache_count(c), 0);
	auth_fields_clear(&uf);
	auth_fields_clear(&p2);
	auth_fields_clear(&u2);
	auth_cache_free(&c);
}

static void test_penalty(void **state)
{
	(void)state;
	struct auth_penalty *p = auth_penalty_new();
	assert_int_equal(auth_penalty_delay_ms(p, "1.2.3.4", 0), 0);
	auth_penalty_failure(p, "1.2.3.4", "u", "a", 0);
	assert_int_equal(auth_penalty_delay_ms(p, "1.2.3.4", 0), 2000);
	auth_penalty_failure(p, "1.2.3.4", "u", "a", 0);	/* same pw */
	assert_int_equal(auth_penalty_delay_ms(p, "1.2.3.4", 0), 2000);
	auth_penalty_failure(p, "1.2.3.4", "u", "b", 0);
	auth_penalty_failure(p, "1.2.3.4", "u", "c", 0);
	assert_int_equal(auth_penalty_delay_ms(p, "1.2.3.4", 0), 8000);
	for (char c = 'd'; c < 'k'; c++) {
		char pw[2] = { c, 0 };
		auth_penalty_failure(p, "1.2.3.4", "u", pw, 0);
	}
	assert_int_equal(auth_penalty_delay_ms(p, "1.2.3.4", 0), 15000);
	assert_int_equal(auth_penalty_delay_ms(p, "1.2.3.4",
			 AUTH_PENALTY_TIMEOUT_MS + 1), 0);
	auth_penalty_failure(p, "2001:db8:1::1", "u", "a", 0);
	assert_int_equal(auth_penalty_delay_ms(p, "2001:db8:1::99", 0), 2000);
	auth_penalty_success(p, "2001:db8:1::5");
	assert_int_equal(auth_penalty_delay_ms(p, "2001:db8:1::1", 0), 0);
	auth_penalty_free(&p);
}

static void test_anvil(void **state)
{
	(void)state;
	struct auth_anvil *a = auth_anvil_new();
	unsigned int n;
	for (int i = 0; i < 10; i++)
		assert_true(auth_anvil_connect(a, 1, "imap", "ip", "u", 10, &n));
	assert_false(auth_anvil_connect(a, 2, "imap", "ip", "u", 10, &n));
	assert_true(auth_anvil_connect(a, 2, "pop3", "ip", "u", 10, &n));
	auth_anvil_release(a, 2, "imap", "ip", "u", &n);	/* not held */
	assert_int_equal(n, 10);
	auth_anvil_release(a, 1, "imap", "ip", "u", &n);
	assert_int_equal(n, 9);
	auth_anvil_conn_closed(a, 1);
	assert_int_equal(auth_anvil_total(a), 1);
	auth_anvil_conn_closed(a, 2);
	assert_int_equal(auth_anvil_total(a), 0);
	auth_anvil_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sasl_plain_good_and_authzid),
		cmocka_unit_test(test_sasl_plain_bad_nul_counts_utf8),
		cmocka_unit_test(test_sasl_login_steps),
		cmocka_unit_test(test_password_schemes),
		cmocka_unit_test(test_passwd_file_line),
		cmocka_unit_test(test_ldap_escape_and_filter),
		cmocka_unit_test(test_ldap_attr_map),
		cmocka_unit_test(test_net_match),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_penalty),
		cmocka_unit_test(test_anvil),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
