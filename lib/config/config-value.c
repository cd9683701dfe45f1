/* Typed value parsers (size, time, bool, octal, uint) with Dovecot's unit
 * spellings, and the per-type check run on every value at load time. All
 * arithmetic is overflow-checked; a value that does not fit is invalid. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: POSIX and GNU interfaces */
#endif
#include "config-private.h"
#include "buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

/* Leading decimal digits; *end_r points after them. -1 if none or if the
 * number overflows. */
static int parse_digits(const char *s, uint64_t *n_r, const char **end_r)
{
	uint64_t n = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (uint64_t)(*s - '0'), &n))
			return -1;
	}
	*n_r = n;
	*end_r = s;
	return 0;
}

int config_parse_uint(const char *value, uint64_t *r)
{
	const char *end;
	if (parse_digits(value, r, &end) < 0 || *end != '\0')
		return -1;
	return 0;
}

int config_parse_octal(const char *value, uint64_t *r)
{
	uint64_t n = 0;

	if (*value == '\0')
		return -1;
	for (const char *s = value; *s != '\0'; s++) {
		if (*s < '0' || *s > '7')
			return -1;
		n = n * 8 + (uint64_t)(*s - '0');
		if (n > 07777)
			return -1;
	}
	*r = n;
	return 0;
}

int config_parse_bool(const char *value, bool *bool_r)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "y") == 0 ||
	    strcmp(value, "1") == 0) {
		*bool_r = true;
		return 0;
	}
	if (strcasecmp(value, "no") == 0 || strcasecmp(value, "n") == 0 ||
	    strcmp(value, "0") == 0) {
		*bool_r = false;
		return 0;
	}
	return -1;
}

int config_parse_size(const char *value, uint64_t *bytes_r)
{
	uint64_t n, mult = 1;
	const char *p;

	if (parse_digits(value, &n, &p) < 0)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	switch (toupper((unsigned char)*p)) {
	case '\0':
		break;
	case 'B':
		p++;
		break;
	case 'K':
		mult = 1024ULL;
		p++;
		break;
	case 'M':
		mult = 1024ULL * 1024;
		p++;
		break;
	case 'G':
		mult = 1024ULL * 1024 * 1024;
		p++;
		break;
	case 'T':
		mult = 1024ULL * 1024 * 1024 * 1024;
		p++;
		break;
	default:
		return -1;
	}
	if (mult > 1) {
		/* k, kb, kib (any case) */
		if (toupper((unsigned char)*p) == 'I')
			p++;
		if (toupper((unsigned char)*p) == 'B')
			p++;
	}
	if (*p != '\0' || __builtin_mul_overflow(n, mult, &n))
		return -1;
	*bytes_r = n;
	return 0;
}

struct time_unit {
	const char *name;
	uint64_t msecs;
};

static const struct time_unit time_units[] = {
	{ "ms", 1 }, { "msec", 1 }, { "msecs", 1 },
	{ "millisecond", 1 }, { "milliseconds", 1 },
	{ "s", 1000 }, { "sec", 1000 }, { "secs", 1000 },
	{ "second", 1000 }, { "seconds", 1000 },
	{ "m", 60000 }, { "min", 60000 }, { "mins", 60000 },
	{ "minute", 60000 }, { "minutes", 60000 },
	{ "h", 3600000 }, { "hour", 3600000 }, { "hours", 3600000 },
	{ "d", 86400000 }, { "day", 86400000 }, { "days", 86400000 },
	{ "w", 604800000 }, { "week", 604800000 }, { "weeks", 604800000 },
	{ NULL, 0 }
};

int config_parse_msecs(const char *value, uint64_t *msecs_r)
{
	uint64_t n, mult = 0;
	const char *p;

	if (parse_digits(value, &n, &p) < 0)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		mult = 1000;	/* a bare number is seconds */
	} else {
		for (const struct time_unit *u = time_units; u->name != NULL;
		     u++) {
			if (strcasecmp(p, u->name) == 0) {
				mult = u->msecs;
				break;
			}
		}
	}
	if (mult == 0 || __builtin_mul_overflow(n, mult, &n))
		return -1;
	*msecs_r = n;
	return 0;
}

static int check_enum(const char *const *values, const char *value,
		      char **error_r)
{
	struct buf b = BUF_INIT;

	for (unsigned int i = 0; values[i] != NULL; i++) {
		if (strcmp(values[i], value) == 0)
			return 0;
	}
	if (buf_printf(&b, "invalid value '%s' (allowed:", value) < 0)
		abort();
	for (unsigned int i = 0; values[i] != NULL; i++) {
		if (buf_printf(&b, " %s", values[i]) < 0)
			abort();
	}
	if (buf_append_c(&b, ')') < 0)
		abort();
	*error_r = buf_steal(&b);
	return -1;
}

int config_value_check(const struct config_setting_def *schema,
		       const struct config_setting_def *def,
		       const char *value, char **error_r)
{
	uint64_t n;
	bool b;
	const char *what = NULL;

	switch (def->type) {
	case CONFIG_TYPE_STR: {
		const char *const *values = config_enum_values(schema,
							       def->name);
		if (values != NULL)
			return check_enum(values, value, error_r);
		return 0;
	}
	case CONFIG_TYPE_BOOL:
		if (config_parse_bool(value, &b) < 0)
			what = "invalid boolean (use yes or no)";
		break;
	case CONFIG_TYPE_UINT:
		if (config_parse_uint(value, &n) < 0)
			what = "invalid number";
		break;
	case CONFIG_TYPE_SIZE:
		if (config_parse_size(value, &n) < 0)
			what = "invalid size (use e.g. 100M, 1G, 4k)";
		break;
	case CONFIG_TYPE_TIME:
		if (config_parse_msecs(value, &n) < 0)
			what = "invalid time (use e.g. 2s, 5min, 100ms)";
		break;
	case CONFIG_TYPE_OCTAL:
		if (config_parse_octal(value, &n) < 0)
			what = "invalid octal mode";
		break;
	}
	if (what == NULL)
		return 0;
	*error_r = xasprintf("%s '%s'", what, value);
	return -1;
}
