/* IMAP dates (see imap-date.h). Strict about what RFC 3501 allows, so a
 * malformed INTERNALDATE is a BAD rather than a silently wrong date. */
#include "imap-date.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
	"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static bool digits(const char *s, int n, int *v_r)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*v_r = v;
	return true;
}

/* "d-Mon-yyyy" or "dd-Mon-yyyy" (or " d-" when pad); advances *sp. */
static bool parse_day(const char **sp, bool pad, struct tm *tm)
{
	const char *s = *sp;
	int day;
	if (pad && s[0] == ' ' && isdigit((unsigned char)s[1])) {
		day = s[1] - '0';
		s += 2;
	} else if (digits(s, 2, &day)) {
		s += 2;
	} else if (digits(s, 1, &day)) {
		s += 1;
	} else {
		return false;
	}
	if (s[0] != '-')
		return false;
	s++;
	int mon = -1;
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(s, months[i], 3) == 0)
			mon = i;
	}
	if (mon < 0 || s[3] != '-')
		return false;
	s += 4;
	int year;
	/* 31-Feb would roll over into March: refuse days past the end. */
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
				     30, 31 };
	if (!digits(s, 4, &year) || day < 1 || day > mdays[mon] ||
	    year < 1970)
		return false;
	if (mon == 1 && day == 29 &&
	    (year % 4 != 0 || (year % 100 == 0 && year % 400 != 0)))
		return false;
	s += 4;
	memset(tm, 0, sizeof(*tm));
	tm->tm_mday = day;
	tm->tm_mon = mon;
	tm->tm_year = year - 1900;
	*sp = s;
	return true;
}

bool imap_date_parse(const char *s, time_t *t_r)
{
	struct tm tm;
	if (!parse_day(&s, false, &tm) || *s != '\0')
		return false;
	*t_r = timegm(&tm);
	return *t_r != (time_t)-1;
}

bool imap_datetime_parse(const char *s, time_t *t_r)
{
	struct tm tm;
	int h, m, sec, zh, zm;
	if (!parse_day(&s, true, &tm) || s[0] != ' ' ||
	    !digits(s + 1, 2, &h) || s[3] != ':' || !digits(s + 4, 2, &m) ||
	    s[6] != ':' || !digits(s + 7, 2, &sec) || s[9] != ' ' ||
	    (s[10] != '+' && s[10] != '-') || !digits(s + 11, 2, &zh) ||
	    !digits(s + 13, 2, &zm) || s[15] != '\0' || h > 23 || m > 59 ||
	    sec > 60 || zm > 59)
		return false;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	long off = (zh * 60L + zm) * 60L;
	*t_r = s[10] == '+' ? t - off : t + off;
	return true;
}

void imap_datetime_format(time_t t, char out[32])
{
	struct tm tm;
	localtime_r(&t, &tm);
	int off = (int)(tm.tm_gmtoff / 60) % (24 * 60);
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	snprintf(out, 32, "%02d-%s-%04d %02d:%02d:%02d %c%02d%02d",
		 tm.tm_mday % 100, months[tm.tm_mon % 12],
		 (tm.tm_year + 1900) % 10000, tm.tm_hour % 100,
		 tm.tm_min % 100, tm.tm_sec % 100, sign, off / 60, off % 60);
}
