/* IMAP URL parser (see imap-url.h). The URL is taken as spans of the
 * input, never past its end: the authority up to the first "/", the
 * mailbox up to the first ";" (RFC 5092's bchar has none), then
 * ";KEY=value" parameters, where a value ending in "/" starts the next
 * path part (UID, SECTION, PARTIAL) and one without it goes on with the
 * same part (UIDVALIDITY after the mailbox, EXPIRE and URLAUTH last). */
#include "imap-url.h"

#include <string.h>
#include <strings.h>
#include <time.h>

struct span {
	const char *p;
	size_t len;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %-unescapes a span into out; bad escapes and NUL refused. */
static int unescape(struct span s, struct buf *out)
{
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= s.len || (h = hexval(s.p[i + 1])) < 0 ||
			    (l = hexval(s.p[i + 2])) < 0 || (h == 0 && l == 0))
				return -1;
			c = (char)(h * 16 + l);
			i += 2;
		} else if (c == '\0') {
			return -1;
		}
		buf_append_c(out, c);
	}
	if (out->data == NULL)
		buf_append(out, "", 0);
	return 0;
}

static int number(struct span s, bool zero_ok, uint32_t *n_r)
{
	uint64_t v = 0;
	if (s.len == 0 || s.len > 10)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	if ((v == 0 && !zero_ok) || v > UINT32_MAX)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}

static bool span_ieq(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

static bool span_iprefix(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len >= n && strncasecmp(s.p, lit, n) == 0;
}

static const char *span_find(struct span s, char c)
{
	return s.len == 0 ? NULL : memchr(s.p, c, s.len);
}

static int digits(const char *s, size_t n, int *v_r)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*v_r = v;
	return 0;
}

int imap_url_parse_datetime(const char *s, size_t len, int64_t *t_r)
{
	int y, mo, d, h, mi, sec;
	if (len < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' ||
	    digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 ||
	    digits(s + 8, 2, &d) < 0 || digits(s + 11, 2, &h) < 0 ||
	    digits(s + 14, 2, &mi) < 0 || digits(s + 17, 2, &sec) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || y < 1970)
		return -1;
	size_t i = 19;
	if (s[i] == '.') {
		i++;
		size_t start = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return -1;
	}
	int64_t offset = 0;
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') &&
		   s[i + 3] == ':') {
		int oh, om;
		if (digits(s + i + 1, 2, &oh) < 0 ||
		    digits(s + i + 4, 2, &om) < 0 || oh > 23 || om > 59)
			return -1;
		offset = (oh * 60 + om) * 60;
		if (s[i] == '-')
			offset = -offset;
		i += 6;
	} else {
		return -1;
	}
	if (i != len)
		return -1;
	struct tm tm = { 0 };
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*t_r = (int64_t)timegm(&tm) - offset;
	return 0;
}

/* "//USER[;AUTH=x]@HOST" (s starts after "imap://", ends before "/"). */
static int parse_server(struct span s, struct imap_url *u)
{
	const char *at = NULL;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] == '@')
			at = s.p + i;
	}
	if (at == NULL)
		return -1;	/* URLAUTH needs the owner */
	struct span user = { s.p, (size_t)(at - s.p) };
	const char *semi = span_find(user, ';');
	if (semi != NULL) {
		struct span auth = { semi, (size_t)(at - semi) };
		if (!span_iprefix(auth, ";AUTH=") || auth.len == 6)
			return -1;
		user.len = (size_t)(semi - s.p);
	}
	struct span host = { at + 1, (size_t)(s.p + s.len - at - 1) };
	if (user.len == 0 || host.len == 0 || unescape(user, &u->user) < 0 ||
	    u->user.len == 0)
		return -1;
	for (size_t i = 0; i < host.len; i++) {
		char c = host.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':' || c == '[' || c == ']'))
			return -1;
	}
	buf_append(&u->host, host.p, host.len);
	return 0;
}

/* ";URLAUTH=access[:mechanism:token]" value; rest is s.p's offset. */
static int parse_urlauth(struct span v, size_t value_at, struct imap_url *u)
{
	const char *colon = span_find(v, ':');
	struct span access = { v.p, colon != NULL ?
			       (size_t)(colon - v.p) : v.len };
	u->rump_len = value_at + access.len;
	if (span_ieq(access, "authuser")) {
		u->access = IMAP_URL_ACCESS_AUTHUSER;
	} else if (span_ieq(access, "anonymous")) {
		u->access = IMAP_URL_ACCESS_ANONYMOUS;
	} else {
		bool submit = span_iprefix(access, "submit+");
		if (!submit && !span_iprefix(access, "user+"))
			return -1;
		size_t skip = submit ? 7 : 5;
		struct span who = { access.p + skip, access.len - skip };
		if (who.len == 0 || unescape(who, &u->access_user) < 0 ||
		    u->access_user.len == 0)
			return -1;
		u->access = submit ? IMAP_URL_ACCESS_SUBMIT :
			IMAP_URL_ACCESS_USER;
	}
	if (colon == NULL)
		return 0;
	struct span rest = { colon + 1, (size_t)(v.p + v.len - colon - 1) };
	const char *colon2 = span_find(rest, ':');
	if (colon2 == NULL)
		return -1;
	struct span mech = { rest.p, (size_t)(colon2 - rest.p) };
	struct span token = { colon2 + 1,
			      (size_t)(rest.p + rest.len - colon2 - 1) };
	if (mech.len == 0 || mech.len > 64 || token.len == 0 ||
	    token.len > 512)
		return -1;
	for (size_t i = 0; i < mech.len; i++) {
		char c = mech.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return -1;
	}
	for (size_t i = 0; i < token.len; i++) {
		if (hexval(token.p[i]) < 0)
			return -1;
	}
	buf_append(&u->mechanism, mech.p, mech.len);
	buf_append(&u->token, token.p, token.len);
	return 0;
}

enum url_part {
	PART_MAILBOX, PART_UID, PART_SECTION, PART_PARTIAL, PART_AUTH,
};

/* One ";KEY=value" of the part we are in; the order of RFC 5092. */
static int parse_param(struct span key, struct span v, size_t value_at,
		       enum url_part *part, bool slash_before,
		       struct imap_url *u)
{
	if (span_ieq(key, "UIDVALIDITY") && *part == PART_MAILBOX &&
	    !slash_before && u->uidvalidity == 0)
		return number(v, false, &u->uidvalidity);
	if (span_ieq(key, "UID") && *part == PART_MAILBOX && slash_before) {
		*part = PART_UID;
		return number(v, false, &u->uid);
	}
	if (span_ieq(key, "SECTION") && *part == PART_UID && slash_before) {
		*part = PART_SECTION;
		if (v.len == 0 || unescape(v, &u->section) < 0)
			return -1;
		return 0;
	}
	if (span_ieq(key, "PARTIAL") && slash_before &&
	    (*part == PART_UID || *part == PART_SECTION)) {
		*part = PART_PARTIAL;
		u->partial = true;
		const char *dot = span_find(v, '.');
		struct span off = { v.p, dot != NULL ?
				    (size_t)(dot - v.p) : v.len };
		if (number(off, true, &u->partial_offset) < 0)
			return -1;
		if (dot == NULL)
			return 0;
		struct span n = { dot + 1, (size_t)(v.p + v.len - dot - 1) };
		return number(n, false, &u->partial_length);
	}
	if (*part == PART_MAILBOX || slash_before || *part == PART_AUTH)
		return -1;
	if (span_ieq(key, "EXPIRE") && !u->expire) {
		u->expire = true;
		return imap_url_parse_datetime(v.p, v.len, &u->expire_time);
	}
	if (span_ieq(key, "URLAUTH")) {
		*part = PART_AUTH;
		return parse_urlauth(v, value_at, u);
	}
	return -1;
}

static int parse_path(const char *url, struct span s, struct imap_url *u)
{
	const char *semi = span_find(s, ';');
	if (semi == NULL || semi == s.p)
		return -1;
	struct span mbox = { s.p, (size_t)(semi - s.p) };
	bool slash = false;
	if (mbox.p[mbox.len - 1] == '/') {
		mbox.len--;	/* "INBOX/;UID=" */
		slash = true;
	}
	if (mbox.len == 0 || unescape(mbox, &u->mailbox) < 0)
		return -1;
	enum url_part part = PART_MAILBOX;
	const char *end = s.p + s.len;
	const char *p = semi;
	while (p < end) {
		/* p is at ';' */
		struct span rest = { p + 1, (size_t)(end - p - 1) };
		const char *eq = span_find(rest, '=');
		if (eq == NULL)
			return -1;
		struct span key = { rest.p, (size_t)(eq - rest.p) };
		struct span v = { eq + 1, 0 };
		const char *next = span_find((struct span){ eq + 1,
			(size_t)(end - eq - 1) }, ';');
		/* URLAUTH's value runs to the end */
		if (span_ieq(key, "URLAUTH") || next == NULL)
			next = end;
		v.len = (size_t)(next - v.p);
		bool slash_after = false;
		if (next != end && v.len > 0 && v.p[v.len - 1] == '/') {
			v.len--;
			slash_after = true;
		}
		if (parse_param(key, v, (size_t)(v.p - url), &part, slash,
				u) < 0)
			return -1;
		slash = slash_after;
		p = next;
	}
	if (part == PART_MAILBOX || slash)
		return -1;
	if (u->rump_len == 0)
		u->rump_len = (size_t)(end - url);
	return 0;
}

int imap_url_parse(const char *url, size_t len, struct imap_url *u)
{
	memset(u, 0, sizeof(*u));
	if (len > IMAP_URL_MAX_LEN || memchr(url, '\0', len) != NULL)
		return -1;
	struct span s = { url, len };
	if (!span_iprefix(s, "imap://"))
		return -1;
	struct span rest = { url + 7, len - 7 };
	const char *slash = span_find(rest, '/');
	if (slash == NULL)
		return -1;
	if (parse_server((struct span){ rest.p, (size_t)(slash - rest.p) },
			 u) < 0)
		return -1;
	return parse_path(url, (struct span){ slash + 1,
			  (size_t)(url + len - slash - 1) }, u);
}

void imap_url_free(struct imap_url *u)
{
	buf_free(&u->user);
	buf_free(&u->host);
	buf_free(&u->mailbox);
	buf_free(&u->section);
	buf_free(&u->access_user);
	buf_free(&u->mechanism);
	buf_free(&u->token);
}
