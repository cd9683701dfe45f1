/* Modified UTF-7 codec (see imap-utf7.h). */
#include "imap-utf7.h"

#include <stdint.h>
#include <string.h>

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Decodes one UTF-8 character; returns its length or -1. */
static int utf8_decode(const unsigned char *s, uint32_t *cp_r)
{
	uint32_t cp;
	int n;
	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		cp = s[0] & 0x1f;
		n = 2;
	} else if ((s[0] & 0xf0) == 0xe0) {
		cp = s[0] & 0x0f;
		n = 3;
	} else if ((s[0] & 0xf8) == 0xf0) {
		cp = s[0] & 0x07;
		n = 4;
	} else {
		return -1;
	}
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*cp_r = cp;
	return n;
}

static void utf8_encode(uint32_t cp, struct buf *dest)
{
	char b[4];
	if (cp < 0x80) {
		buf_append_c(dest, (char)cp);
		return;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		buf_append(dest, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		buf_append(dest, b, 3);
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		buf_append(dest, b, 4);
	}
}

static bool direct_char(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

int imap_utf8_to_utf7(const char *src, struct buf *dest)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t start_len = dest->len;

	while (*s != '\0') {
		if (*s == '&') {
			buf_append(dest, "&-", 2);
			s++;
			continue;
		}
		if (direct_char(*s)) {
			buf_append_c(dest, (char)*s++);
			continue;
		}
		/* A run of characters to encode as UTF-16BE in base64. */
		buf_append_c(dest, '&');
		uint32_t bits = 0;
		int nbits = 0;
		while (*s != '\0' && !direct_char(*s)) {
			uint32_t cp;
			int n = utf8_decode(s, &cp);
			if (n < 0) {
				dest->len = start_len;
				dest->data[dest->len] = '\0';
				return -1;
			}
			s += n;
			uint16_t units[2];
			int nu = 1;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = (uint16_t)(0xd800 | (cp >> 10));
				units[1] = (uint16_t)(0xdc00 | (cp & 0x3ff));
				nu = 2;
			} else {
				units[0] = (uint16_t)cp;
			}
			for (int i = 0; i < nu; i++) {
				bits = (bits << 16) | units[i];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					buf_append_c(dest,
						b64chars[(bits >> nbits) & 0x3f]);
				}
				bits &= (1u << nbits) - 1;
			}
		}
		if (nbits > 0)
			buf_append_c(dest, b64chars[(bits << (6 - nbits)) & 0x3f]);
		buf_append_c(dest, '-');
	}
	return 0;
}

static int b64value(unsigned char c)
{
	const char *p = c == '\0' ? NULL : strchr(b64chars, c);
	return p == NULL ? -1 : (int)(p - b64chars);
}

int imap_utf7_to_utf8(const char *src, struct buf *dest)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t start_len = dest->len;

	while (*s != '\0') {
		if (*s != '&') {
			if (!direct_char(*s))
				goto bad;
			buf_append_c(dest, (char)*s++);
			continue;
		}
		s++;
		if (*s == '-') {
			buf_append_c(dest, '&');
			s++;
			continue;
		}
		uint32_t bits = 0;
		int nbits = 0;
		uint32_t high = 0;	/* pending high surrogate */
		size_t units = 0;
		while (*s != '-') {
			int v = b64value(*s);
			if (v < 0)
				goto bad;
			s++;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			uint32_t u = (bits >> nbits) & 0xffff;
			bits &= (1u << nbits) - 1;
			units++;
			if (high != 0) {
				if (u < 0xdc00 || u > 0xdfff)
					goto bad;
				utf8_encode(0x10000 + ((high - 0xd800) << 10) +
					    (u - 0xdc00), dest);
				high = 0;
			} else if (u >= 0xd800 && u <= 0xdbff) {
				high = u;
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				goto bad;
			} else if (u == 0) {
				/* NUL cannot be part of a mailbox name */
				goto bad;
			} else if (direct_char((unsigned char)u) && u < 0x80) {
				/* must have been sent as itself */
				goto bad;
			} else {
				utf8_encode(u, dest);
			}
		}
		s++;
		/* Leftover bits must be padding: fewer than 6, all zero. */
		if (units == 0 || high != 0 || nbits >= 6 || bits != 0)
			goto bad;
		/* "&...-&...-" must have been one run. */
		if (*s == '&' && s[1] != '-')
			goto bad;
	}
	return 0;
bad:
	dest->len = start_len;
	if (dest->data != NULL)
		dest->data[dest->len] = '\0';
	return -1;
}

bool imap_utf7_is_valid(const char *src)
{
	struct buf b = BUF_INIT;
	int r = imap_utf7_to_utf8(src, &b);
	buf_free(&b);
	return r == 0;
}
