/* lib/mail decoders. iconv is glibc's; a converter is opened per
 * encoded word, which is fine for headers (few words each). */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "mail-decode.h"

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void mail_decode_base64(const void *in, size_t len, struct buf *out)
{
	const unsigned char *s = in;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len && s[i] != '='; i++) {
		int v = b64val(s[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			(void)buf_append_c(out, (char)((acc >> bits) & 0xff));
		}
	}
	(void)buf_append(out, "", 0);
}

void mail_decode_qp(const void *in, size_t len, struct buf *out)
{
	const unsigned char *s = in;
	size_t i = 0;

	(void)buf_append(out, "", 0);
	while (i < len) {
		/* one line: drop trailing blanks before its line break */
		size_t eol = i, next;
		while (eol < len && s[eol] != '\n')
			eol++;
		next = eol < len ? eol + 1 : eol;
		size_t end = eol;
		if (end > i && s[end - 1] == '\r')
			end--;
		while (end > i && (s[end - 1] == ' ' || s[end - 1] == '\t'))
			end--;
		bool soft = false;
		for (size_t k = i; k < end; k++) {
			if (s[k] != '=') {
				(void)buf_append_c(out, (char)s[k]);
				continue;
			}
			if (k + 1 == end) {
				soft = true;	/* "=" at line end */
				break;
			}
			int hi = k + 2 < end ? hexval(s[k + 1]) : -1;
			int lo = k + 2 < end ? hexval(s[k + 2]) : -1;
			if (hi < 0 || lo < 0) {
				(void)buf_append_c(out, '=');
				continue;
			}
			(void)buf_append_c(out, (char)(hi * 16 + lo));
			k += 2;
		}
		if (eol < len && !soft)
			(void)buf_append(out, "\r\n", 2);
		i = next;
	}
}

void mail_decode_body(const char *encoding, const void *in, size_t len,
		      struct buf *out)
{
	if (encoding != NULL && strcasecmp(encoding, "base64") == 0)
		mail_decode_base64(in, len, out);
	else if (encoding != NULL &&
		 strcasecmp(encoding, "quoted-printable") == 0)
		mail_decode_qp(in, len, out);
	else
		(void)buf_append(out, in, len);
}

/* --- RFC 2047 ---------------------------------------------------------- */

static bool charset_convert(const char *charset, const char *in, size_t len,
			    struct buf *out)
{
	iconv_t cd;
	char *ip = (char *)in;
	size_t ileft = len;

	if (strcasecmp(charset, "utf-8") == 0 ||
	    strcasecmp(charset, "us-ascii") == 0) {
		(void)buf_append(out, in, len);
		return true;
	}
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return false;
	while (ileft > 0) {
		char tmp[256], *op = tmp;
		size_t oleft = sizeof(tmp);
		size_t r = iconv(cd, &ip, &ileft, &op, &oleft);

		(void)buf_append(out, tmp, sizeof(tmp) - oleft);
		if (r == (size_t)-1 && errno != E2BIG) {
			/* invalid or incomplete input: U+FFFD, skip a byte */
			(void)buf_append(out, "\xEF\xBF\xBD", 3);
			ip++;
			ileft--;
		}
	}
	iconv_close(cd);
	return true;
}

void mail_decode_charset(const char *charset, const void *in, size_t len,
			 struct buf *out)
{
	if (!charset_convert(charset, in, len, out))
		(void)buf_append(out, in, len);
}

/* Parses one encoded word at s (which starts with "=?"); returns its
 * length and appends the decoded text, or 0 if it is not one. */
static size_t encoded_word(const unsigned char *s, size_t len, struct buf *out)
{
	const unsigned char *cs, *enc, *text, *end;
	char charset[64];
	size_t cslen;
	struct buf raw = BUF_INIT;

	cs = s + 2;
	enc = memchr(cs, '?', len - 2);
	if (enc == NULL || enc + 3 > s + len || enc[2] != '?')
		return 0;
	text = enc + 3;
	end = NULL;
	for (const unsigned char *q = text; q + 1 < s + len; q++) {
		if (*q == '?' && q[1] == '=') {
			end = q;
			break;
		}
		if (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
			return 0;
	}
	if (end == NULL)
		return 0;
	cslen = (size_t)(enc - cs);
	if (cslen == 0 || cslen >= sizeof(charset))
		return 0;
	memcpy(charset, cs, cslen);
	charset[cslen] = '\0';
	char *star = strchr(charset, '*');
	if (star != NULL)
		*star = '\0';
	if (enc[1] == 'B' || enc[1] == 'b') {
		mail_decode_base64(text, (size_t)(end - text), &raw);
	} else if (enc[1] == 'Q' || enc[1] == 'q') {
		(void)buf_append(&raw, "", 0);
		for (const unsigned char *q = text; q < end; q++) {
			int hi, lo;
			if (*q == '_') {
				(void)buf_append_c(&raw, ' ');
			} else if (*q == '=' && q + 2 < end &&
				   (hi = hexval(q[1])) >= 0 &&
				   (lo = hexval(q[2])) >= 0) {
				(void)buf_append_c(&raw, (char)(hi * 16 + lo));
				q += 2;
			} else {
				(void)buf_append_c(&raw, (char)*q);
			}
		}
	} else {
		return 0;
	}
	bool ok = charset_convert(charset, raw.data, raw.len, out);
	buf_free(&raw);
	return ok ? (size_t)(end + 2 - s) : 0;
}

void mail_decode_rfc2047(const void *in, size_t len, struct buf *out)
{
	const unsigned char *s = in;
	size_t i = 0, pending_ws = 0, ws_start = 0;
	bool last_encoded = false;

	(void)buf_append(out, "", 0);
	while (i < len) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n') {
			if (pending_ws == 0)
				ws_start = i;
			pending_ws++;
			i++;
			continue;
		}
		size_t n = 0;
		if (s[i] == '=' && i + 1 < len && s[i + 1] == '?') {
			size_t before = out->len;
			/* blanks between two encoded words are dropped */
			if (pending_ws > 0 && !last_encoded)
				(void)buf_append(out, s + ws_start, pending_ws);
			before = out->len;
			n = encoded_word(s + i, len - i, out);
			if (n == 0) {
				out->len = before;
				out->data[out->len] = '\0';
				if (pending_ws > 0 && last_encoded)
					(void)buf_append(out, s + ws_start,
							 pending_ws);
			}
		} else if (pending_ws > 0) {
			(void)buf_append(out, s + ws_start, pending_ws);
		}
		pending_ws = 0;
		if (n > 0) {
			i += n;
			last_encoded = true;
			continue;
		}
		(void)buf_append_c(out, (char)s[i]);
		last_encoded = false;
		i++;
	}
	if (pending_ws > 0)
		(void)buf_append(out, s + ws_start, pending_ws);
}

/* --- dates ------------------------------------------------------------- */

struct dtok {
	const unsigned char *p, *end;
};

static void dskip(struct dtok *t)
{
	while (t->p < t->end) {
		if (*t->p == ' ' || *t->p == '\t' || *t->p == '\r' ||
		    *t->p == '\n' || *t->p == ',') {
			t->p++;
		} else if (*t->p == '(') {
			int level = 0;
			for (; t->p < t->end; t->p++) {
				if (*t->p == '(')
					level++;
				else if (*t->p == ')' && --level == 0) {
					t->p++;
					break;
				}
			}
		} else {
			break;
		}
	}
}

static bool dnum(struct dtok *t, int maxdigits, int *n_r, int *digits_r)
{
	int n = 0, d = 0;

	while (t->p < t->end && *t->p >= '0' && *t->p <= '9' && d < maxdigits) {
		n = n * 10 + (*t->p++ - '0');
		d++;
	}
	*n_r = n;
	if (digits_r != NULL)
		*digits_r = d;
	return d > 0;
}

static size_t dword(struct dtok *t, char *w, size_t wsize)
{
	size_t n = 0;

	while (t->p < t->end && ((*t->p >= 'a' && *t->p <= 'z') ||
				 (*t->p >= 'A' && *t->p <= 'Z'))) {
		if (n + 1 < wsize)
			w[n++] = (char)*t->p;
		t->p++;
	}
	w[n] = '\0';
	return n;
}

static const char *const months[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec",
};

static const struct {
	const char *name;
	int minutes;
} zones[] = {
	{ "ut", 0 }, { "gmt", 0 }, { "utc", 0 }, { "z", 0 },
	{ "est", -5 * 60 }, { "edt", -4 * 60 }, { "cst", -6 * 60 },
	{ "cdt", -5 * 60 }, { "mst", -7 * 60 }, { "mdt", -6 * 60 },
	{ "pst", -8 * 60 }, { "pdt", -7 * 60 },
};

bool mail_parse_date(const void *in, size_t len, time_t *time_r,
		     int *tz_minutes_r)
{
	struct dtok t = { in, (const unsigned char *)in + len };
	char w[16];
	struct tm tm;
	int day, year, ydigits, hour, min, sec = 0, month = -1, tz = 0;

	memset(&tm, 0, sizeof(tm));
	dskip(&t);
	if (dword(&t, w, sizeof(w)) > 0)	/* day of week */
		dskip(&t);
	if (!dnum(&t, 2, &day, NULL))
		return false;
	dskip(&t);
	if (dword(&t, w, sizeof(w)) != 3)
		return false;
	for (int i = 0; i < 12; i++) {
		if (strcasecmp(w, months[i]) == 0)
			month = i;
	}
	if (month < 0)
		return false;
	dskip(&t);
	if (!dnum(&t, 4, &year, &ydigits))
		return false;
	if (ydigits == 2)
		year += year < 50 ? 2000 : 1900;
	else if (ydigits == 3)
		year += 1900;
	dskip(&t);
	if (!dnum(&t, 2, &hour, NULL) || t.p >= t.end || *t.p != ':')
		return false;
	t.p++;
	if (!dnum(&t, 2, &min, NULL))
		return false;
	if (t.p < t.end && *t.p == ':') {
		t.p++;
		if (!dnum(&t, 2, &sec, NULL))
			return false;
	}
	if (day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return false;
	dskip(&t);
	if (t.p < t.end && (*t.p == '+' || *t.p == '-')) {
		int sign = *t.p++ == '-' ? -1 : 1, hhmm, digits;
		if (dnum(&t, 4, &hhmm, &digits) && digits == 4)
			tz = sign * ((hhmm / 100) * 60 + hhmm % 100);
	} else if (dword(&t, w, sizeof(w)) > 0) {
		for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
			if (strcasecmp(w, zones[i].name) == 0)
				tz = zones[i].minutes;
		}
	}
	tm.tm_year = year - 1900;
	tm.tm_mon = month;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	*time_r = timegm(&tm) - (time_t)tz * 60;
	*tz_minutes_r = tz;
	return true;
}

/* --- Message-ID -------------------------------------------------------- */

bool mail_message_id_get(const void *in, size_t len, struct buf *out)
{
	const unsigned char *s = in, *end = s + len;
	int level = 0;

	buf_reset(out);
	(void)buf_append(out, "", 0);
	for (; s < end; s++) {
		if (*s == '(')
			level++;
		else if (*s == ')' && level > 0)
			level--;
		else if (*s == '<' && level == 0)
			break;
	}
	if (s >= end)
		return false;
	(void)buf_append_c(out, '<');
	for (s++; s < end && *s != '>'; s++) {
		if (*s == '(') {
			for (level = 0; s < end; s++) {
				if (*s == '(')
					level++;
				else if (*s == ')' && --level == 0)
					break;
			}
			if (s >= end)
				break;
		} else if (*s != ' ' && *s != '\t' && *s != '\r' &&
			   *s != '\n' && *s != '"') {
			(void)buf_append_c(out, (char)*s);
		}
	}
	if (s >= end || out->len < 2) {
		buf_reset(out);
		(void)buf_append(out, "", 0);
		return false;
	}
	(void)buf_append_c(out, '>');
	return true;
}
