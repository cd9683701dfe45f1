/* CATENATE URLs (see imap-catenate.h). Only what a client can name in its
 * own mailboxes is taken; anything else (a server part, URLAUTH, a
 * partial range, an unknown key) is a BADURL for the caller. */
#include "imap-catenate.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %-unescapes s[0..len) into out; NUL and bad escapes refused. */
static int unescape(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= len || (h = hex(s[i + 1])) < 0 ||
			    (l = hex(s[i + 2])) < 0 || (h == 0 && l == 0))
				return -1;
			c = (char)(h * 16 + l);
			i += 2;
		}
		buf_append_c(out, c);
	}
	return 0;
}

static int number(const char *s, size_t len, uint32_t *n_r)
{
	uint64_t v = 0;
	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0 || v > UINT32_MAX)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}

/* ";KEY=value" at *p up to the next "/" or end; advances *p. */
static bool key_value(const char **p, const char *key, const char **v_r,
		      size_t *len_r)
{
	size_t klen = strlen(key);
	if (**p != ';' || strncasecmp(*p + 1, key, klen) != 0 ||
	    (*p)[1 + klen] != '=')
		return false;
	*v_r = *p + klen + 2;
	const char *end = strchr(*v_r, '/');
	if (end == NULL)
		end = *v_r + strlen(*v_r);
	*len_r = (size_t)(end - *v_r);
	*p = end;
	return true;
}

int imap_cat_url_parse(const char *url, struct imap_cat_url *u)
{
	memset(u, 0, sizeof(*u));
	const char *p = url, *v;
	size_t len;
	if (*p == '/') {
		/* The mailbox may hold its hierarchy "/": it ends at
		 * ";UIDVALIDITY=" or at the "/;" before ";UID=". */
		p++;
		const char *iuid = strstr(p, "/;");
		if (iuid == NULL)
			return -1;
		const char *end = memchr(p, ';', (size_t)(iuid - p));
		if (end == NULL)
			end = iuid;
		if (end == p || unescape(p, (size_t)(end - p), &u->mailbox) < 0)
			return -1;
		p = end;
		if (p < iuid) {
			if (!key_value(&p, "UIDVALIDITY", &v, &len) ||
			    number(v, len, &u->uidvalidity) < 0 || p != iuid)
				return -1;
		}
		p = iuid + 1;
	} else {
		u->relative = true;
	}
	if (!key_value(&p, "UID", &v, &len) || number(v, len, &u->uid) < 0)
		return -1;
	if (*p == '\0')
		return 0;
	if (*p != '/')
		return -1;
	p++;
	if (!key_value(&p, "SECTION", &v, &len) || len == 0 ||
	    unescape(v, len, &u->section) < 0 || *p != '\0')
		return -1;
	return 0;
}

void imap_cat_url_free(struct imap_cat_url *u)
{
	buf_free(&u->mailbox);
	buf_free(&u->section);
}
