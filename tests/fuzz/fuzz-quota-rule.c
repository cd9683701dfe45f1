/* Fuzzes svc-quota's rule and warning parsers (quota_rule values also
 * come from userdb, i.e. from LDAP attributes) and the evaluation of what
 * they parse. Each input line is one value: a line starting with 'w' is a
 * quota_warning, any other a quota_rule. Afterwards the rules are copied,
 * their limits looked up and a warning crossing evaluated. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../svc-quota/quota-rule.h"

#define FUZZ_QUOTA_MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_quota_line(struct quota_rules *rules, const char *line)
{
	char *error = NULL;
	int r = line[0] == 'w' ? quota_warning_parse(rules, line + 1, &error) :
		quota_rule_parse(rules, line, &error);
	/* -1 always comes with an error text, 0 never does. */
	if ((r < 0) != (error != NULL))
		__builtin_trap();
	free(error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_QUOTA_MAX_INPUT)
		return 0;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct quota_rules rules = { 0 }, copy;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		fuzz_quota_line(&rules, line);
	quota_rules_copy(&copy, &rules);
	uint64_t bytes, messages;
	bool ignored;
	quota_rules_root_limits(&copy, &bytes, &messages);
	for (size_t i = 0; i < copy.n_rules; i++)
		quota_rules_mailbox_limits(&copy, copy.rules[i].mailbox, &bytes,
					   &messages, &ignored);
	(void)quota_warning_crossed(&copy, 0, 0, bytes, messages);
	(void)quota_warning_crossed(&copy, UINT64_MAX, UINT64_MAX, 1, 1);
	quota_rules_free(&copy);
	quota_rules_free(&rules);
	free(text);
	return 0;
}
