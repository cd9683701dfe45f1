/* Quota roots, rules and warnings as Dovecot writes them:
 *   quota = count:User quota
 *   quota_rule = *:storage=10G        quota_rule2 = Trash:storage=+100M
 *   quota_rule3 = Spam:ignore         quota_rule4 = *:messages=10000
 *   quota_warning = storage=95%% quota-warning 95 %u
 *   quota_warning2 = -storage=100%% quota-warning below %u
 * Parsing is pure: no I/O, so rules from the config and from userdb
 * (quota_rule=... fields) go through the same code. */
#ifndef QUOTA_RULE_H
#define QUOTA_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A limit value: absolute, relative to the "*" rule (+N/-N) or a
 * percentage of the "*" rule. 0 absolute = unlimited. */
struct quota_value {
	bool set;
	enum { QUOTA_ABS, QUOTA_REL, QUOTA_PCT } kind;
	int64_t value;		/* bytes or messages; percent for PCT */
};

struct quota_rule {
	char *mailbox;		/* "*" for the default rule */
	bool ignore;		/* the mailbox does not count */
	struct quota_value bytes;
	struct quota_value messages;
};

struct quota_warning {
	bool below;		/* "-storage=..." fires when dropping below */
	struct quota_value bytes;	/* ABS or PCT of the root limit */
	struct quota_value messages;
	char *command;		/* "quota-warning 95 %u": service + args */
};

struct quota_rules {
	struct quota_rule *rules;
	size_t n_rules;
	struct quota_warning *warnings;
	size_t n_warnings;
};

/* Parses one quota_rule value into rules (a rule for the same mailbox
 * replaces the earlier one, as a userdb rule overrides the config's).
 * Returns 0, or -1 with *error_r (malloc'd). */
int quota_rule_parse(struct quota_rules *rules, const char *value,
		     char **error_r);
/* Parses one quota_warning value (after %% became %). */
int quota_warning_parse(struct quota_rules *rules, const char *value,
			char **error_r);
void quota_rules_free(struct quota_rules *rules);
/* Deep copy (per-user rules start from the config's). */
void quota_rules_copy(struct quota_rules *dst, const struct quota_rules *src);

/* Effective limits (0 = unlimited) for the whole root. */
void quota_rules_root_limits(const struct quota_rules *rules,
			     uint64_t *bytes_r, uint64_t *messages_r);
/* Effective limits when saving into `mailbox`: the "*" limits adjusted by
 * the mailbox's own rule. *ignored_r is true for an ignored mailbox. */
void quota_rules_mailbox_limits(const struct quota_rules *rules,
				const char *mailbox, uint64_t *bytes_r,
				uint64_t *messages_r, bool *ignored_r);
bool quota_rules_mailbox_ignored(const struct quota_rules *rules,
				 const char *mailbox);

/* The first warning whose threshold usage crossed between before and
 * after (upward, or downward for "-" warnings), or NULL. Only the first
 * match fires, so the highest limit is written first, as in Dovecot. */
const struct quota_warning *
quota_warning_crossed(const struct quota_rules *rules,
		      uint64_t bytes_before, uint64_t msgs_before,
		      uint64_t bytes_after, uint64_t msgs_after);

#endif
