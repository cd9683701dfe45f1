/* The base subject algorithm of RFC 5256 section 2.1, step by step, on a
 * UTF-8 copy of the subject. Matching is ASCII case-insensitive. */
#include "imap-base-subject.h"
#include "mail-decode.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Step 1: every run of blanks and line breaks becomes one space, none
 * at either end. */
static size_t collapse_blanks(char *s, size_t len)
{
	size_t o = 0;
	bool blank = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			blank = o > 0;
			continue;
		}
		if (blank)
			s[o++] = ' ';
		blank = false;
		s[o++] = c;
	}
	return o;
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP: its length at s, 0 if none. */
static size_t blob_len(const char *s, size_t len)
{
	if (len == 0 || s[0] != '[')
		return 0;
	size_t i = 1;
	while (i < len && s[i] != '[' && s[i] != ']')
		i++;
	if (i >= len || s[i] != ']')
		return 0;
	i++;
	while (i < len && is_wsp(s[i]))
		i++;
	return i;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
static size_t refwd_len(const char *s, size_t len)
{
	size_t i;
	if (len >= 2 && strncasecmp(s, "re", 2) == 0)
		i = 2;
	else if (len >= 3 && strncasecmp(s, "fwd", 3) == 0)
		i = 3;
	else if (len >= 2 && strncasecmp(s, "fw", 2) == 0)
		i = 2;
	else
		return 0;
	while (i < len && is_wsp(s[i]))
		i++;
	i += blob_len(s + i, len - i);
	return i < len && s[i] == ':' ? i + 1 : 0;
}

/* subj-leader = (*subj-blob subj-refwd) / WSP */
static size_t leader_len(const char *s, size_t len)
{
	if (len > 0 && is_wsp(s[0]))
		return 1;
	size_t i = 0, b;
	while ((b = blob_len(s + i, len - i)) > 0)
		i += b;
	size_t r = refwd_len(s + i, len - i);
	return r > 0 ? i + r : 0;
}

void imap_base_subject(const char *value, size_t len, struct buf *out,
		       bool *is_reply_r)
{
	struct buf d = BUF_INIT;
	mail_decode_rfc2047(value, len, &d);
	char *s = d.data != NULL ? d.data : "";
	size_t n = collapse_blanks(s, d.len);
	size_t start = 0;
	bool reply = false;

	for (;;) {
		/* (2) trailing "(fwd)" and blanks */
		for (;;) {
			if (n > start && is_wsp(s[n - 1])) {
				n--;
			} else if (n - start >= 5 &&
				   strncasecmp(s + n - 5, "(fwd)", 5) == 0) {
				n -= 5;
				reply = true;
			} else {
				break;
			}
		}
		/* (3)-(5) leaders, and a blob that leaves something */
		for (bool again = true; again;) {
			again = false;
			size_t l;
			while ((l = leader_len(s + start, n - start)) > 0) {
				if (!is_wsp(s[start]))
					reply = true;
				start += l;
				again = true;
			}
			l = blob_len(s + start, n - start);
			if (l > 0 && start + l < n) {
				start += l;
				again = true;
			}
		}
		/* (6) "[fwd:" ... "]" around it: unwrap and go again */
		if (n - start >= 6 && strncasecmp(s + start, "[fwd:", 5) == 0 &&
		    s[n - 1] == ']') {
			start += 5;
			n--;
			reply = true;
			continue;
		}
		break;
	}
	buf_append(out, s + start, n - start);
	buf_free(&d);
	*is_reply_r = reply;
}
