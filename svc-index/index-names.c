/* svc-index: what a valid mailbox or user name is, IMAP LIST pattern
 * matching, and GUIDs. Mailbox names arrive as IMAP wire names (modified
 * UTF-7) and are checked strictly: they end up in keys, logs and other
 * users' LIST replies. */
#include "index-common.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

static int index_b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* RFC 3501 5.1.3: printable US-ASCII stands for itself ('&' as "&-");
 * other characters are "&" modified-base64(UTF-16BE) "-". Rejects
 * non-canonical forms too: encoded printable ASCII, leftover bits,
 * unpaired surrogates, two adjacent encoded runs. */
bool index_mutf7_valid(const char *name)
{
	const char *p = name;
	bool prev_encoded = false;
	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c > 0x7e)
			return false;
		if (c != '&') {
			prev_encoded = false;
			p++;
			continue;
		}
		p++;
		if (*p == '-') {
			prev_encoded = false;
			p++;
			continue;
		}
		if (prev_encoded)
			return false;
		uint32_t bits = 0;
		int nbits = 0;
		uint32_t high = 0;
		size_t units = 0;
		while (*p != '-') {
			int v = index_b64_value(*p);
			if (v < 0)
				return false;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			p++;
			if (nbits < 16)
				continue;
			uint32_t u = (bits >> (nbits - 16)) & 0xffff;
			nbits -= 16;
			bits &= (1u << nbits) - 1;
			units++;
			if (high != 0) {
				if (u < 0xdc00 || u > 0xdfff)
					return false;
				high = 0;
			} else if (u >= 0xd800 && u <= 0xdbff) {
				high = u;
			} else if ((u >= 0xdc00 && u <= 0xdfff) ||
				   (u >= 0x20 && u <= 0x7e)) {
				return false;
			}
		}
		if (units == 0 || high != 0 || nbits >= 6 || bits != 0)
			return false;
		p++;	/* the '-' */
		prev_encoded = true;
	}
	return true;
}

bool index_name_is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

int index_name_check(char *name, char sep, const char **error_r)
{
	size_t len = strlen(name);
	if (len == 0) {
		*error_r = "empty mailbox name";
		return -1;
	}
	if (len > INDEX_MAX_NAME_LEN) {
		*error_r = "mailbox name too long";
		return -1;
	}
	if (!index_mutf7_valid(name)) {
		*error_r = "mailbox name is not valid modified UTF-7";
		return -1;
	}
	if (strchr(name, '*') != NULL || strchr(name, '%') != NULL) {
		*error_r = "mailbox name contains a wildcard";
		return -1;
	}
	/* "inbox", "Inbox/x": INBOX is case-insensitive, also as a parent. */
	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == sep))
		memcpy(name, "INBOX", 5);
	unsigned int levels = 0;
	const char *p = name;
	while (true) {
		const char *end = strchr(p, sep);
		size_t n = end == NULL ? strlen(p) : (size_t)(end - p);
		if (n == 0) {
			*error_r = "mailbox name has an empty level";
			return -1;
		}
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' &&
						p[1] == '.')) {
			*error_r = "mailbox name has a '.' or '..' level";
			return -1;
		}
		if (++levels > INDEX_MAX_NAME_LEVELS) {
			*error_r = "mailbox name has too many levels";
			return -1;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}

bool index_pattern_match(const char *pattern, const char *name, char sep)
{
	/* Iterative glob with backtracking to the last '*'; '%' may not
	 * cross the separator, so it backtracks on its own. */
	if (*pattern == '\0')
		return *name == '\0';
	if (*pattern == '*') {
		for (const char *n = name;; n++) {
			if (index_pattern_match(pattern + 1, n, sep))
				return true;
			if (*n == '\0')
				return false;
		}
	}
	if (*pattern == '%') {
		for (const char *n = name;; n++) {
			if (index_pattern_match(pattern + 1, n, sep))
				return true;
			if (*n == '\0' || *n == sep)
				return false;
		}
	}
	if (*name == '\0')
		return false;
	/* INBOX matches case-insensitively (RFC 3501 5.1). */
	if (*pattern != *name &&
	    !(strncasecmp(pattern, "INBOX", 5) == 0 &&
	      strncmp(name, "INBOX", 5) == 0 &&
	      (pattern[5] == '\0' || pattern[5] == sep || pattern[5] == '*' ||
	       pattern[5] == '%')))
		return false;
	if (*pattern != *name)
		return index_pattern_match(pattern + 5, name + 5, sep);
	return index_pattern_match(pattern + 1, name + 1, sep);
}

bool index_user_name_valid(const char *user)
{
	size_t len = strlen(user);
	if (len == 0 || len > INDEX_MAX_USER_LEN || user[0] == '.')
		return false;
	for (const unsigned char *p = (const void *)user; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '/')
			return false;
	}
	return true;
}

void index_guid_new(char out[INDEX_GUID_LEN + 1])
{
	uint8_t raw[INDEX_GUID_LEN / 2];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}
