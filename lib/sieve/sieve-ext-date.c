/* date and currentdate (RFC 5260): RFC 5322 date parsing (with obsolete
 * zone names and two-digit years), zone conversion and the date parts.
 * The zone used when a test has neither :zone nor :originalzone is the
 * server's local zone, as RFC 5260 section 4.1 says. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve-run.h"

static const char *const months[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec"
};
static const char *const wdays[] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};

bool sieve_zone_parse(const char *zone, int *zone_min_r)
{
	int h, m;

	if ((zone[0] != '+' && zone[0] != '-') || strlen(zone) != 5 ||
	    strspn(zone + 1, "0123456789") != 4)
		return false;
	h = (zone[1] - '0') * 10 + (zone[2] - '0');
	m = (zone[3] - '0') * 10 + (zone[4] - '0');
	if (h > 23 || m > 59)
		return false;
	*zone_min_r = (zone[0] == '-' ? -1 : 1) * (h * 60 + m);
	return true;
}

static bool obs_zone(const char *z, int *zone_min_r)
{
	static const struct { const char *n; int off; } zones[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 }, { "EST", -300 },
		{ "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
		{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 },
		{ "PDT", -420 },
	};

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		if (strcasecmp(z, zones[i].n) == 0) {
			*zone_min_r = zones[i].off;
			return true;
		}
	}
	return false;
}

bool sieve_date_parse(const char *value, time_t *t_r, int *zone_min_r)
{
	char wd[16], mon[16], zone[16] = "";
	int day, year, h, mi, s = 0, n;
	struct tm tm;
	const char *p = value;
	int m;

	while (isspace((unsigned char)*p))
		p++;
	if (isalpha((unsigned char)*p)) {
		if (sscanf(p, "%15[A-Za-z] ,%n", wd, &n) < 1)
			return false;
		p = strchr(p, ',');
		if (p == NULL)
			return false;
		p++;
	}
	n = 0;
	if (sscanf(p, "%d %15s %d %d:%d%n", &day, mon, &year, &h, &mi, &n) < 5)
		return false;
	p += n;
	if (*p == ':') {
		if (sscanf(p, ":%d%n", &s, &n) < 1)
			return false;
		p += n;
	}
	if (sscanf(p, " %15s", zone) < 1)
		strcpy(zone, "-0000");
	for (m = 0; m < 12; m++) {
		if (strncasecmp(mon, months[m], 3) == 0 && strlen(mon) == 3)
			break;
	}
	if (m == 12 || day < 1 || day > 31 || h > 23 || h < 0 || mi < 0 ||
	    mi > 59 || s < 0 || s > 60 || year < 0 || year > 9999)
		return false;
	if (year < 50)
		year += 2000;
	else if (year < 1000)
		year += 1900;
	if (!sieve_zone_parse(zone, zone_min_r) &&
	    !obs_zone(zone, zone_min_r))
		*zone_min_r = 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = m;
	tm.tm_mday = day;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s == 60 ? 59 : s;
	*t_r = timegm(&tm) - (time_t)*zone_min_r * 60;
	return true;
}

static const char *const parts[] = {
	"year", "month", "day", "date", "julian", "hour", "minute", "second",
	"time", "iso8601", "std11", "zone", "weekday", NULL
};

bool sieve_date_part_valid(const char *part)
{
	for (size_t i = 0; parts[i] != NULL; i++) {
		if (strcasecmp(parts[i], part) == 0)
			return true;
	}
	return false;
}

const char *sieve_date_part(struct sieve_arena *arena, time_t t,
			    int zone_min, const char *part)
{
	time_t local = t + (time_t)zone_min * 60;
	struct tm tm;
	char out[80], zone[16];
	int az = zone_min < 0 ? -zone_min : zone_min;

	gmtime_r(&local, &tm);
	snprintf(zone, sizeof(zone), "%c%02d%02d", zone_min < 0 ? '-' : '+',
		 az / 60, az % 60);
	if (strcasecmp(part, "year") == 0)
		snprintf(out, sizeof(out), "%04d", tm.tm_year + 1900);
	else if (strcasecmp(part, "month") == 0)
		snprintf(out, sizeof(out), "%02d", tm.tm_mon + 1);
	else if (strcasecmp(part, "day") == 0)
		snprintf(out, sizeof(out), "%02d", tm.tm_mday);
	else if (strcasecmp(part, "date") == 0)
		snprintf(out, sizeof(out), "%04d-%02d-%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday);
	else if (strcasecmp(part, "julian") == 0)
		/* Modified Julian Day: days since 1858-11-17. */
		snprintf(out, sizeof(out), "%lld",
			 (long long)((local / 86400) + 40587 -
				     (local < 0 && local % 86400 ? 1 : 0)));
	else if (strcasecmp(part, "hour") == 0)
		snprintf(out, sizeof(out), "%02d", tm.tm_hour);
	else if (strcasecmp(part, "minute") == 0)
		snprintf(out, sizeof(out), "%02d", tm.tm_min);
	else if (strcasecmp(part, "second") == 0)
		snprintf(out, sizeof(out), "%02d", tm.tm_sec);
	else if (strcasecmp(part, "time") == 0)
		snprintf(out, sizeof(out), "%02d:%02d:%02d", tm.tm_hour,
			 tm.tm_min, tm.tm_sec);
	else if (strcasecmp(part, "iso8601") == 0)
		snprintf(out, sizeof(out),
			 "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec,
			 zone_min < 0 ? '-' : '+', az / 60, az % 60);
	else if (strcasecmp(part, "std11") == 0)
		snprintf(out, sizeof(out), "%s, %d %c%s %04d %02d:%02d:%02d %s",
			 wdays[tm.tm_wday], tm.tm_mday,
			 toupper((unsigned char)months[tm.tm_mon][0]),
			 months[tm.tm_mon] + 1, tm.tm_year + 1900,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, zone);
	else if (strcasecmp(part, "zone") == 0)
		snprintf(out, sizeof(out), "%s", zone);
	else if (strcasecmp(part, "weekday") == 0)
		snprintf(out, sizeof(out), "%d", tm.tm_wday);
	else
		return NULL;
	return sieve_arena_strdup(arena, out);
}

static int local_zone(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return (int)(tm.tm_gmtoff / 60);
}

bool sieve_test_date(struct sieve_run *run, const struct sieve_node *node)
{
	bool current = node->op == OP_CURRENTDATE;
	const char *part = sieve_run_expand(run,
					    node->pos[current ? 0 : 1]->strs[0]);
	const struct sieve_arg *zarg = sieve_node_tag(node, TAG_ZONE);
	bool original = (node->tagmask & (1ULL << TAG_ORIGINALZONE)) != 0;
	const char **hv = NULL, **vals;
	size_t nh = 1, nv = 0;
	char **keys;
	size_t nk = sieve_run_expand_list(run, node->pos[current ? 1 : 2],
					  &keys);
	int zone = 0;

	if (zarg != NULL &&
	    !sieve_zone_parse(sieve_run_expand(run, zarg->strs[0]), &zone)) {
		/* RFC 5260 4.1.1: an invalid zone makes the test false. */
		return false;
	}
	if (!sieve_date_part_valid(part))
		return false;
	if (!current)
		nh = sieve_run_header_values(run, node, node->pos[0], &hv);
	vals = sieve_arena_calloc(run->arena, nh, sizeof(char *));
	for (size_t i = 0; i < nh; i++) {
		time_t t = run->now;
		int hz = 0;

		if (!current) {
			const char *v = hv[i], *semi = strrchr(v, ';');

			/* Received: the date follows the last ';'. */
			if (semi != NULL)
				v = semi + 1;
			if (!sieve_date_parse(v, &t, &hz))
				continue;
		}
		if (zarg == NULL)
			zone = original ? hz : local_zone(t);
		vals[nv++] = sieve_date_part(run->arena, t, zone, part);
	}
	return sieve_match_values(run, node, vals, nv, keys, nk);
}
