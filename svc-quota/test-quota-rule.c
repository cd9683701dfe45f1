/* svc-quota rules and warnings: Dovecot's syntax, relative and percent
 * limits, ignore, malformed rules, warning crossings up and down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "quota-rule.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024)
#define GiB (1024ULL * 1024 * 1024)

static void parse_ok(struct quota_rules *r, const char *rule)
{
	char *error = NULL;
	if (quota_rule_parse(r, rule, &error) < 0)
		fail_msg("%s: %s", rule, error);
}

static void test_default_rule_units(void **state)
{
	(void)state;
	struct quota_rules r = { 0 };
	uint64_t bytes, msgs;
	parse_ok(&r, "*:storage=10G");
	quota_rules_root_limits(&r, &bytes, &msgs);
	assert_int_equal(bytes, 10 * GiB);
	assert_int_equal(msgs, 0);
	/* A bare storage number is KiB: the spec's messageQuotaHard + "k". */
	parse_ok(&r, "*:storage=2048");
	quota_rules_root_limits(&r, &bytes, &msgs);
	assert_int_equal(bytes, 2048 * KiB);
	parse_ok(&r, "*:storage=2048k:messages=100");
	quota_rules_root_limits(&r, &bytes, &msgs);
	assert_int_equal(bytes, 2048 * KiB);
	assert_int_equal(msgs, 100);
	parse_ok(&r, "*:bytes=5000");
	quota_rules_root_limits(&r, &bytes, &msgs);
	assert_int_equal(bytes, 5000);
	quota_rules_free(&r);
}

static void test_mailbox_rules(void **state)
{
	(void)state;
	struct quota_rules r = { 0 };
	uint64_t bytes, msgs;
	bool ignored;
	parse_ok(&r, "*:storage=1G:messages=1000");
	parse_ok(&r, "Trash:storage=+100M");
	parse_ok(&r, "Archive:storage=50%:messages=-100");
	parse_ok(&r, "Spam:ignore");
	quota_rules_mailbox_limits(&r, "Trash", &bytes, &msgs, &ignored);
	assert_int_equal(bytes, GiB + 100 * MiB);
	assert_int_equal(msgs, 1000);
	assert_false(ignored);
	quota_rules_mailbox_limits(&r, "Archive", &bytes, &msgs, &ignored);
	assert_int_equal(bytes, GiB / 2);
	assert_int_equal(msgs, 900);
	quota_rules_mailbox_limits(&r, "Spam", &bytes, &msgs, &ignored);
	assert_true(ignored);
	quota_rules_mailbox_limits(&r, "INBOX", &bytes, &msgs, &ignored);
	assert_int_equal(bytes, GiB);
	assert_false(quota_rules_mailbox_ignored(&r, "INBOX"));
	quota_rules_free(&r);
}

static void test_later_rule_replaces(void **state)
{
	(void)state;
	struct quota_rules r = { 0 }, copy;
	uint64_t bytes, msgs;
	parse_ok(&r, "*:storage=1G");
	quota_rules_copy(&copy, &r);
	/* A userdb quota_rule overrides the config's default rule. */
	parse_ok(&copy, "*:storage=3072k");
	quota_rules_root_limits(&copy, &bytes, &msgs);
	assert_int_equal(bytes, 3072 * KiB);
	quota_rules_root_limits(&r, &bytes, &msgs);
	assert_int_equal(bytes, GiB);
	quota_rules_free(&copy);
	quota_rules_free(&r);
}

static void test_malformed_rules(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"*:storage=abc", "*:bytes=10G", "*:storage=-5", "*:storage=10Q",
		"*:storage=", "*:blocks=5", "storage=10G", ":storage=1",
		"*:storage=+10M", "*:messages=10k", "*:storage=99999999999999999999",
		"*:storage=10%%",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct quota_rules r = { 0 };
		char *error = NULL;
		if (quota_rule_parse(&r, bad[i], &error) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(error);
		free(error);
		quota_rules_free(&r);
	}
}

static void test_warnings_fire_on_crossing(void **state)
{
	(void)state;
	struct quota_rules r = { 0 };
	char *error = NULL;
	parse_ok(&r, "*:storage=1000k");
	assert_int_equal(quota_warning_parse(&r, "storage=100% quota-warning 100 %u", &error), 0);
	assert_int_equal(quota_warning_parse(&r, "storage=95% quota-warning 95 %u", &error), 0);
	assert_int_equal(quota_warning_parse(&r, "-storage=100% quota-warning below %u", &error), 0);
	const uint64_t limit = 1000 * KiB;
	/* Below 95% -> between 95% and 100%: the 95 warning. */
	const struct quota_warning *w =
		quota_warning_crossed(&r, limit * 90 / 100, 1, limit * 96 / 100, 2);
	assert_non_null(w);
	assert_string_equal(w->command, "quota-warning 95 %u");
	/* Staying above 95%: nothing. */
	assert_null(quota_warning_crossed(&r, limit * 96 / 100, 2, limit * 97 / 100, 3));
	/* Jumping over both: only the first (highest) fires. */
	w = quota_warning_crossed(&r, 0, 0, limit, 1);
	assert_string_equal(w->command, "quota-warning 100 %u");
	/* Dropping below 100%: the "-" warning. */
	w = quota_warning_crossed(&r, limit, 5, limit - 1, 4);
	assert_non_null(w);
	assert_true(w->below);
	assert_string_equal(w->command, "quota-warning below %u");
	quota_rules_free(&r);
}

static void test_malformed_warnings(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"storage=95%", "quota-warning 95", "storage=abc quota-warning",
		"storage=+5% quota-warning", "=5 x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct quota_rules r = { 0 };
		char *error = NULL;
		if (quota_warning_parse(&r, bad[i], &error) == 0)
			fail_msg("accepted %s", bad[i]);
		free(error);
		quota_rules_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_rule_units),
		cmocka_unit_test(test_mailbox_rules),
		cmocka_unit_test(test_later_rule_replaces),
		cmocka_unit_test(test_malformed_rules),
		cmocka_unit_test(test_warnings_fire_on_crossing),
		cmocka_unit_test(test_malformed_warnings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
