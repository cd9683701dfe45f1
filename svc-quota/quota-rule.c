/* Quota rule and warning parsing and evaluation (see quota-rule.h). */
#include "quota-rule.h"
#include "buf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses "[+|-]N[unit|%]" where the unit is b/k/M/G/T (storage: a bare
 * number is KiB, as Dovecot reads it; bytes: a bare number, no unit). */
static int quota_value_parse(const char *s, bool size, uint64_t bare_mult,
			     struct quota_value *v, char **error_r)
{
	const char *p = s;
	memset(v, 0, sizeof(*v));
	v->set = true;
	v->kind = QUOTA_ABS;
	if (*p == '+' || *p == '-') {
		v->kind = QUOTA_REL;
		p++;
	}
	if (!isdigit((unsigned char)*p))
		goto bad;
	errno = 0;
	char *end;
	unsigned long long n = strtoull(p, &end, 10);
	if (errno != 0 || n > INT64_MAX / 1024 / 1024 / 1024 / 1024)
		goto bad;
	uint64_t mult = bare_mult;
	if (*end == '%') {
		if (v->kind == QUOTA_REL || end[1] != '\0')
			goto bad;
		v->kind = QUOTA_PCT;
		mult = 1;
		end++;
	} else if (*end != '\0') {
		if (!size || bare_mult == 1 || end[1] != '\0')
			goto bad;
		switch (*end) {
		case 'b': case 'B': mult = 1; break;
		case 'k': case 'K': mult = 1024ULL; break;
		case 'm': case 'M': mult = 1024ULL * 1024; break;
		case 'g': case 'G': mult = 1024ULL * 1024 * 1024; break;
		case 't': case 'T': mult = 1024ULL * 1024 * 1024 * 1024; break;
		default: goto bad;
		}
		end++;
	}
	if (*end != '\0')
		goto bad;
	v->value = (int64_t)(n * mult);
	if (s[0] == '-')
		v->value = -v->value;
	return 0;
bad:
	*error_r = xasprintf("invalid quota value '%s'", s);
	return -1;
}

/* One "key=value" of a rule or warning limit. */
static int quota_limit_parse(const char *kv, struct quota_value *bytes,
			     struct quota_value *messages, char **error_r)
{
	const char *eq = strchr(kv, '=');
	if (eq == NULL) {
		*error_r = xasprintf("invalid quota limit '%s'", kv);
		return -1;
	}
	size_t klen = (size_t)(eq - kv);
	const char *val = eq + 1;
	if (klen == 7 && strncasecmp(kv, "storage", 7) == 0)
		return quota_value_parse(val, true, 1024, bytes, error_r);
	if (klen == 5 && strncasecmp(kv, "bytes", 5) == 0)
		return quota_value_parse(val, true, 1, bytes, error_r);
	if (klen == 8 && strncasecmp(kv, "messages", 8) == 0)
		return quota_value_parse(val, false, 1, messages, error_r);
	*error_r = xasprintf("unknown quota limit '%.*s'", (int)klen, kv);
	return -1;
}

static struct quota_rule *quota_rule_get(struct quota_rules *rules,
					 const char *mailbox)
{
	for (size_t i = 0; i < rules->n_rules; i++) {
		if (strcmp(rules->rules[i].mailbox, mailbox) == 0) {
			struct quota_rule *r = &rules->rules[i];
			char *name = r->mailbox;
			memset(r, 0, sizeof(*r));
			r->mailbox = name;
			return r;
		}
	}
	rules->rules = xreallocarray(rules->rules, rules->n_rules + 1,
				     sizeof(*rules->rules));
	struct quota_rule *r = &rules->rules[rules->n_rules++];
	memset(r, 0, sizeof(*r));
	r->mailbox = xstrdup(mailbox);
	return r;
}

int quota_rule_parse(struct quota_rules *rules, const char *value,
		     char **error_r)
{
	const char *colon = strchr(value, ':');
	if (colon == NULL || colon == value) {
		*error_r = xasprintf("invalid quota rule '%s': "
				     "expected MAILBOX:LIMIT", value);
		return -1;
	}
	char *mailbox = xstrndup(value, (size_t)(colon - value));
	struct quota_rule parsed = { 0 };
	char *rest = xstrdup(colon + 1), *save = NULL;
	int ret = 0;
	for (char *kv = strtok_r(rest, ":", &save); kv != NULL && ret == 0;
	     kv = strtok_r(NULL, ":", &save)) {
		if (strcasecmp(kv, "ignore") == 0)
			parsed.ignore = true;
		else if (strncasecmp(kv, "backend=", 8) == 0)
			continue;	/* backend-specific; count has none */
		else
			ret = quota_limit_parse(kv, &parsed.bytes,
						&parsed.messages, error_r);
	}
	if (ret == 0 && strcmp(mailbox, "*") == 0 &&
	    ((parsed.bytes.set && parsed.bytes.kind != QUOTA_ABS) ||
	     (parsed.messages.set && parsed.messages.kind != QUOTA_ABS))) {
		*error_r = xasprintf("invalid quota rule '%s': the default "
				     "rule cannot be relative", value);
		ret = -1;
	}
	if (ret == 0 && ((parsed.bytes.set && parsed.bytes.value < 0 &&
			  parsed.bytes.kind != QUOTA_REL) ||
			 (parsed.messages.set && parsed.messages.value < 0 &&
			  parsed.messages.kind != QUOTA_REL))) {
		*error_r = xasprintf("invalid quota rule '%s'", value);
		ret = -1;
	}
	if (ret == 0) {
		struct quota_rule *r = quota_rule_get(rules, mailbox);
		r->ignore = parsed.ignore;
		r->bytes = parsed.bytes;
		r->messages = parsed.messages;
	}
	free(rest);
	free(mailbox);
	return ret;
}

int quota_warning_parse(struct quota_rules *rules, const char *value,
			char **error_r)
{
	struct quota_warning w = { 0 };
	const char *p = value;
	if (*p == '-') {
		w.below = true;
		p++;
	}
	size_t n = strcspn(p, " \t");
	char *limits = xstrndup(p, n), *save = NULL;
	int ret = 0;
	for (char *kv = strtok_r(limits, ":", &save); kv != NULL && ret == 0;
	     kv = strtok_r(NULL, ":", &save))
		ret = quota_limit_parse(kv, &w.bytes, &w.messages, error_r);
	free(limits);
	p += n;
	p += strspn(p, " \t");
	if (ret == 0 && (*p == '\0' || (!w.bytes.set && !w.messages.set) ||
			 w.bytes.kind == QUOTA_REL ||
			 w.messages.kind == QUOTA_REL)) {
		*error_r = xasprintf("invalid quota warning '%s': expected "
				     "[-]LIMIT=VALUE COMMAND...", value);
		ret = -1;
	}
	if (ret < 0)
		return -1;
	w.command = xstrdup(p);
	rules->warnings = xreallocarray(rules->warnings, rules->n_warnings + 1,
					sizeof(*rules->warnings));
	rules->warnings[rules->n_warnings++] = w;
	return 0;
}

void quota_rules_free(struct quota_rules *rules)
{
	for (size_t i = 0; i < rules->n_rules; i++)
		free(rules->rules[i].mailbox);
	for (size_t i = 0; i < rules->n_warnings; i++)
		free(rules->warnings[i].command);
	free(rules->rules);
	free(rules->warnings);
	memset(rules, 0, sizeof(*rules));
}

void quota_rules_copy(struct quota_rules *dst, const struct quota_rules *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->n_rules = src->n_rules;
	dst->rules = xcalloc(src->n_rules, sizeof(*dst->rules));
	for (size_t i = 0; i < src->n_rules; i++) {
		dst->rules[i] = src->rules[i];
		dst->rules[i].mailbox = xstrdup(src->rules[i].mailbox);
	}
	dst->n_warnings = src->n_warnings;
	dst->warnings = xcalloc(src->n_warnings, sizeof(*dst->warnings));
	for (size_t i = 0; i < src->n_warnings; i++) {
		dst->warnings[i] = src->warnings[i];
		dst->warnings[i].command = xstrdup(src->warnings[i].command);
	}
}

static const struct quota_rule *quota_rule_find(const struct quota_rules *r,
						const char *mailbox)
{
	for (size_t i = 0; i < r->n_rules; i++) {
		if (strcmp(r->rules[i].mailbox, mailbox) == 0)
			return &r->rules[i];
	}
	return NULL;
}

void quota_rules_root_limits(const struct quota_rules *rules,
			     uint64_t *bytes_r, uint64_t *messages_r)
{
	const struct quota_rule *def = quota_rule_find(rules, "*");
	*bytes_r = def != NULL && def->bytes.set ? (uint64_t)def->bytes.value : 0;
	*messages_r = def != NULL && def->messages.set ?
		      (uint64_t)def->messages.value : 0;
}

static uint64_t quota_apply(uint64_t base, const struct quota_value *v)
{
	if (!v->set || base == 0)
		return base;	/* unlimited stays unlimited */
	switch (v->kind) {
	case QUOTA_ABS:
		return (uint64_t)v->value;
	case QUOTA_REL:
		return v->value < 0 && (uint64_t)-v->value >= base ? 1 :
		       (uint64_t)((int64_t)base + v->value);
	case QUOTA_PCT:
		return base * (uint64_t)v->value / 100;
	}
	return base;
}

bool quota_rules_mailbox_ignored(const struct quota_rules *rules,
				 const char *mailbox)
{
	const struct quota_rule *r = quota_rule_find(rules, mailbox);
	return r != NULL && r->ignore;
}

void quota_rules_mailbox_limits(const struct quota_rules *rules,
				const char *mailbox, uint64_t *bytes_r,
				uint64_t *messages_r, bool *ignored_r)
{
	quota_rules_root_limits(rules, bytes_r, messages_r);
	const struct quota_rule *r = quota_rule_find(rules, mailbox);
	*ignored_r = r != NULL && r->ignore;
	if (r == NULL || strcmp(mailbox, "*") == 0)
		return;
	*bytes_r = quota_apply(*bytes_r, &r->bytes);
	*messages_r = quota_apply(*messages_r, &r->messages);
}

static bool quota_crossed(const struct quota_value *v, uint64_t limit,
			  bool below, uint64_t before, uint64_t after)
{
	if (!v->set)
		return false;
	uint64_t threshold = v->kind == QUOTA_PCT ?
			     limit * (uint64_t)v->value / 100 :
			     (uint64_t)v->value;
	if (v->kind == QUOTA_PCT && limit == 0)
		return false;	/* a percentage of unlimited never fires */
	return below ? before >= threshold && after < threshold :
		       before < threshold && after >= threshold;
}

const struct quota_warning *
quota_warning_crossed(const struct quota_rules *rules,
		      uint64_t bytes_before, uint64_t msgs_before,
		      uint64_t bytes_after, uint64_t msgs_after)
{
	uint64_t bytes_limit, msgs_limit;
	quota_rules_root_limits(rules, &bytes_limit, &msgs_limit);
	for (size_t i = 0; i < rules->n_warnings; i++) {
		const struct quota_warning *w = &rules->warnings[i];
		if (quota_crossed(&w->bytes, bytes_limit, w->below,
				  bytes_before, bytes_after) ||
		    quota_crossed(&w->messages, msgs_limit, w->below,
				  msgs_before, msgs_after))
			return w;
	}
	return NULL;
}
