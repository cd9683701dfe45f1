/* Addresses in header values (RFC 5322 address lists with display
 * names, comments, quoted local parts and groups) reduced to bare
 * "local@domain" strings, and the address parts of RFC 5228 2.7.4 and
 * RFC 5233 (:user/:detail). Lenient: a value that is no valid address
 * yields its text as written, as Pigeonhole does, so :all still sees it. */
#include <stdlib.h>
#include <string.h>

#include "sieve-private.h"

static void flush_addr(struct sieve_arena *arena, struct buf *cur,
		       struct buf *angle, bool have_angle, char ***list,
		       size_t *n, size_t *cap)
{
	const struct buf *use = have_angle ? angle : cur;
	char *s;

	if (use->len == 0 && !have_angle) {
		buf_reset(cur);
		return;
	}
	s = sieve_arena_strndup(arena, use->data, use->len);
	if (*n == *cap) {
		*cap = *cap == 0 ? 4 : *cap * 2;
		*list = xreallocarray(*list, *cap, sizeof(char *));
	}
	(*list)[(*n)++] = s;
	buf_reset(cur);
	buf_reset(angle);
}

size_t sieve_address_parse_list(struct sieve_arena *arena, const char *value,
				char ***addrs_r)
{
	struct buf cur, angle;
	char **list = NULL, **out;
	size_t n = 0, cap = 0;
	bool in_quote = false, in_angle = false, have_angle = false;
	unsigned int comment = 0;

	buf_init(&cur, 0);
	buf_init(&angle, 0);
	for (const char *p = value; *p != '\0'; p++) {
		char c = *p;

		if (comment > 0) {
			if (c == '\\' && p[1] != '\0')
				p++;
			else if (c == '(')
				comment++;
			else if (c == ')')
				comment--;
			continue;
		}
		if (in_quote) {
			if (c == '\\' && p[1] != '\0')
				c = *++p;
			else if (c == '"') {
				in_quote = false;
				continue;
			}
			buf_append_c(in_angle ? &angle : &cur, c);
			continue;
		}
		switch (c) {
		case '"':
			in_quote = true;
			break;
		case '(':
			comment = 1;
			break;
		case '<':
			in_angle = true;
			have_angle = true;
			buf_reset(&angle);
			break;
		case '>':
			in_angle = false;
			break;
		case ':':
			if (in_angle) {
				/* obsolete source route "<@a,@b:x@y>" */
				buf_reset(&angle);
			} else {
				buf_reset(&cur);	/* a group's name */
			}
			break;
		case ',': case ';':
			if (in_angle) {
				buf_reset(&angle);
				break;
			}
			flush_addr(arena, &cur, &angle, have_angle, &list, &n,
				   &cap);
			have_angle = false;
			break;
		case ' ': case '\t': case '\r': case '\n':
			/* Words of a display name are dropped once an
			 * angle address appears; keep no spaces in bare
			 * addresses. */
			break;
		default:
			buf_append_c(in_angle ? &angle : &cur, c);
			break;
		}
	}
	flush_addr(arena, &cur, &angle, have_angle, &list, &n, &cap);
	buf_free(&cur);
	buf_free(&angle);
	out = sieve_arena_calloc(arena, n, sizeof(char *));
	if (n > 0)
		memcpy(out, list, n * sizeof(char *));
	free(list);
	*addrs_r = out;
	return n;
}

const char *sieve_address_part(struct sieve_arena *arena, const char *addr,
			       enum sieve_addrpart part, const char *delim)
{
	const char *at = strrchr(addr, '@');
	size_t llen = at != NULL ? (size_t)(at - addr) : strlen(addr);
	size_t ulen;

	switch (part) {
	case AP_ALL:
		return addr;
	case AP_LOCALPART:
		return sieve_arena_strndup(arena, addr, llen);
	case AP_DOMAIN:
		return at != NULL ? at + 1 : NULL;
	case AP_USER:
	case AP_DETAIL:
		if (delim == NULL || *delim == '\0')
			delim = "+";
		ulen = strcspn(addr, delim);
		if (ulen >= llen) {
			/* No delimiter: the user is the whole local part
			 * and there is no detail (RFC 5233 section 4). */
			return part == AP_USER ?
			       sieve_arena_strndup(arena, addr, llen) : NULL;
		}
		if (part == AP_USER)
			return sieve_arena_strndup(arena, addr, ulen);
		return sieve_arena_strndup(arena, addr + ulen + 1,
					   llen - ulen - 1);
	}
	return NULL;
}

bool sieve_address_valid(const char *addr)
{
	struct sieve_arena *arena = sieve_arena_new();
	char **list;
	size_t n = sieve_address_parse_list(arena, addr, &list);
	bool ok = false;

	if (n == 1) {
		const char *at = strrchr(list[0], '@');

		ok = at != NULL && at != list[0] && at[1] != '\0' &&
		     strchr(at + 1, '@') == NULL;
	}
	sieve_arena_free(&arena);
	return ok;
}
