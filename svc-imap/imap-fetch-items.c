/* FETCH item parsing (see imap-fetch.h). An item atom arrives whole from
 * the parser, e.g. "BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>". */
#include "imap-fetch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct imap_fetch_item *add(struct imap_pool *pool,
				   struct imap_fetch_items *it,
				   enum imap_fetch_kind kind)
{
	if (it->n_items % 8 == 0) {
		struct imap_fetch_item *n = imap_pool_alloc(pool,
			(it->n_items + 8) * sizeof(*n));
		if (it->n_items > 0)
			memcpy(n, it->items, it->n_items * sizeof(*n));
		it->items = n;
	}
	struct imap_fetch_item *item = &it->items[it->n_items++];
	memset(item, 0, sizeof(*item));
	item->kind = kind;
	return item;
}

static int add_section(struct imap_pool *pool, struct imap_fetch_items *it,
		       const char *name, const char *spec, bool seen,
		       const char **error_r)
{
	struct imap_fetch_item *item = add(pool, it, IMAP_FETCH_SECTION);
	if (mail_section_parse(spec, &item->section, error_r) < 0) {
		*error_r = "Invalid BODY[..] parameter";
		return -1;
	}
	item->name = name;
	item->sets_seen = seen;
	it->need_body = true;
	it->sets_seen |= seen;
	return 0;
}

/* "BODY[...]<o.c>" / "BODY.PEEK[...]": name is what follows "BODY". */
static int parse_body_section(struct imap_pool *pool,
			      struct imap_fetch_items *it, const char *atom,
			      const char **error_r)
{
	bool peek = strncasecmp(atom, "BODY.PEEK[", 10) == 0;
	const char *spec = atom + (peek ? 10 : 5);
	const char *close = strrchr(spec, ']');
	if (close == NULL) {
		*error_r = "Invalid BODY[..] parameter";
		return -1;
	}
	char *sect = imap_pool_strndup(pool, spec, (size_t)(close - spec));
	for (char *p = sect; *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	}
	const char *rest = close + 1;
	if (add_section(pool, it, imap_pool_printf(pool, "BODY[%s]", sect),
			sect, !peek, error_r) < 0)
		return -1;
	struct imap_fetch_item *item = &it->items[it->n_items - 1];
	if (*rest == '\0')
		return 0;
	char *end;
	if (*rest != '<')
		goto bad;
	/* RFC 3501 numbers are digits only and fit 32 bits: strtoull alone
	   takes "-1" and clamps 99999999999999999999 to UINT64_MAX. */
	if (rest[1] < '0' || rest[1] > '9')
		goto bad;
	item->offset = strtoull(rest + 1, &end, 10);
	if (item->offset > UINT32_MAX || *end != '.')
		goto bad;
	const char *c = end + 1;
	if (*c < '0' || *c > '9')
		goto bad;
	item->count = strtoull(c, &end, 10);
	if (item->count > UINT32_MAX || strcmp(end, ">") != 0 ||
	    item->count == 0)
		goto bad;
	item->partial = true;
	item->name = imap_pool_printf(pool, "BODY[%s]<%llu>", sect,
				      (unsigned long long)item->offset);
	return 0;
bad:
	*error_r = "Invalid BODY[..] partial";
	return -1;
}

/* RFC 3516: "BINARY[1.2]<o.c>", "BINARY.PEEK[...]", "BINARY.SIZE[...]":
 * the section is part numbers only (or empty); the partial is over the
 * decoded content. */
static int parse_binary(struct imap_pool *pool, struct imap_fetch_items *it,
			const char *atom, const char **error_r)
{
	bool peek = strncasecmp(atom, "BINARY.PEEK[", 12) == 0;
	bool size = strncasecmp(atom, "BINARY.SIZE[", 12) == 0;
	const char *spec = atom + (peek || size ? 12 : 7);
	const char *close = strchr(spec, ']');
	*error_r = "Invalid BINARY[..] parameter";
	if (close == NULL)
		return -1;
	for (const char *p = spec; p < close; p++) {
		if ((*p < '0' || *p > '9') && *p != '.')
			return -1;
	}
	char *sect = imap_pool_strndup(pool, spec, (size_t)(close - spec));
	struct imap_fetch_item *item = add(pool, it, size ?
		IMAP_FETCH_BINARY_SIZE : IMAP_FETCH_BINARY);
	if (mail_section_parse(sect, &item->section, error_r) < 0 ||
	    item->section.kind != MAIL_SECTION_ALL) {
		*error_r = "Invalid BINARY[..] parameter";
		return -1;
	}
	item->name = imap_pool_printf(pool, "BINARY%s[%s]", size ? ".SIZE" :
				      "", sect);
	item->sets_seen = !peek && !size;
	it->need_body = true;
	it->sets_seen |= item->sets_seen;
	const char *rest = close + 1;
	if (*rest == '\0')
		return 0;
	char *end;
	*error_r = "Invalid BINARY[..] partial";
	if (size || *rest != '<' || rest[1] < '0' || rest[1] > '9')
		return -1;
	item->offset = strtoull(rest + 1, &end, 10);
	if (item->offset > UINT32_MAX || *end != '.' || end[1] < '0' ||
	    end[1] > '9')
		return -1;
	item->count = strtoull(end + 1, &end, 10);
	if (item->count > UINT32_MAX || strcmp(end, ">") != 0 ||
	    item->count == 0)
		return -1;
	item->partial = true;
	item->name = imap_pool_printf(pool, "BINARY[%s]<%llu>", sect,
				      (unsigned long long)item->offset);
	return 0;
}

static int parse_item(struct imap_pool *pool, struct imap_fetch_items *it,
		      const struct imap_arg *arg, const char **error_r)
{
	if (arg->type != IMAP_ARG_ATOM) {
		*error_r = "Invalid fetch item";
		return -1;
	}
	const char *a = arg->str;
	if (strcasecmp(a, "UID") == 0) {
		add(pool, it, IMAP_FETCH_UID);
	} else if (strcasecmp(a, "FLAGS") == 0) {
		add(pool, it, IMAP_FETCH_FLAGS);
	} else if (strcasecmp(a, "INTERNALDATE") == 0) {
		add(pool, it, IMAP_FETCH_INTERNALDATE);
	} else if (strcasecmp(a, "SAVEDATE") == 0) {
		add(pool, it, IMAP_FETCH_SAVEDATE);
	} else if (strcasecmp(a, "RFC822.SIZE") == 0) {
		add(pool, it, IMAP_FETCH_RFC822_SIZE);
	} else if (strcasecmp(a, "MODSEQ") == 0) {
		add(pool, it, IMAP_FETCH_MODSEQ);
	} else if (strcasecmp(a, "EMAILID") == 0) {
		add(pool, it, IMAP_FETCH_EMAILID);
	} else if (strcasecmp(a, "THREADID") == 0) {
		add(pool, it, IMAP_FETCH_THREADID);
		it->want_threadid = true;
	} else if (strcasecmp(a, "PREVIEW") == 0) {
		add(pool, it, IMAP_FETCH_PREVIEW);
		it->need_body = true;
	} else if (strcasecmp(a, "ENVELOPE") == 0) {
		add(pool, it, IMAP_FETCH_ENVELOPE);
		it->want_envelope = true;
	} else if (strcasecmp(a, "BODYSTRUCTURE") == 0) {
		add(pool, it, IMAP_FETCH_BODYSTRUCTURE);
		it->want_bodystructure = true;
	} else if (strcasecmp(a, "BODY") == 0) {
		add(pool, it, IMAP_FETCH_BODY);
		it->want_body = true;
	} else if (strcasecmp(a, "RFC822") == 0) {
		return add_section(pool, it, "RFC822", "", true, error_r);
	} else if (strcasecmp(a, "RFC822.HEADER") == 0) {
		return add_section(pool, it, "RFC822.HEADER", "HEADER", false,
				   error_r);
	} else if (strcasecmp(a, "RFC822.TEXT") == 0) {
		return add_section(pool, it, "RFC822.TEXT", "TEXT", true,
				   error_r);
	} else if (strncasecmp(a, "BINARY[", 7) == 0 ||
		   strncasecmp(a, "BINARY.PEEK[", 12) == 0 ||
		   strncasecmp(a, "BINARY.SIZE[", 12) == 0) {
		return parse_binary(pool, it, a, error_r);
	} else if (strncasecmp(a, "BODY[", 5) == 0 ||
		   strncasecmp(a, "BODY.PEEK[", 10) == 0) {
		return parse_body_section(pool, it, a, error_r);
	} else {
		*error_r = "Unknown parameter ";
		return -1;
	}
	return 0;
}

int imap_fetch_items_parse(struct imap_pool *pool, const struct imap_arg *arg,
			   struct imap_fetch_items *it, const char **error_r)
{
	static const struct {
		const char *name;
		const char *items[6];
	} macros[] = {
		{ "ALL", { "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE" } },
		{ "FAST", { "FLAGS", "INTERNALDATE", "RFC822.SIZE" } },
		{ "FULL", { "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE",
			    "BODY" } },
	};
	memset(it, 0, sizeof(*it));
	if (arg->type == IMAP_ARG_ATOM) {
		for (size_t m = 0; m < sizeof(macros) / sizeof(macros[0]); m++) {
			if (strcasecmp(arg->str, macros[m].name) != 0)
				continue;
			for (size_t i = 0; macros[m].items[i] != NULL; i++) {
				struct imap_arg a = { .type = IMAP_ARG_ATOM,
					.str = macros[m].items[i], .fd = -1 };
				a.len = strlen(a.str);
				if (parse_item(pool, it, &a, error_r) < 0)
					return -1;
			}
			return 0;
		}
		return parse_item(pool, it, arg, error_r);
	}
	if (arg->type != IMAP_ARG_LIST || arg->list_count == 0 ||
	    arg->list_count > IMAP_FETCH_MAX_ITEMS) {
		*error_r = "Invalid fetch items";
		return -1;
	}
	for (size_t i = 0; i < arg->list_count; i++) {
		if (parse_item(pool, it, &arg->list[i], error_r) < 0)
			return -1;
		/* PREVIEW's modifiers (RFC 8970 3.1): LAZY only. The preview
		 * is made from the body either way. */
		if (imap_arg_atom_equals(&arg->list[i], "PREVIEW") &&
		    i + 1 < arg->list_count &&
		    arg->list[i + 1].type == IMAP_ARG_LIST) {
			const struct imap_arg *mods = &arg->list[++i];
			for (size_t k = 0; k < mods->list_count; k++) {
				if (!imap_arg_atom_equals(&mods->list[k],
							  "LAZY")) {
					*error_r = "Invalid PREVIEW modifier";
					return -1;
				}
			}
			if (mods->list_count == 0) {
				*error_r = "Invalid PREVIEW modifier";
				return -1;
			}
		}
	}
	return 0;
}

void imap_fetch_items_free(struct imap_fetch_items *it)
{
	for (size_t i = 0; i < it->n_items; i++) {
		if (it->items[i].kind == IMAP_FETCH_SECTION ||
		    it->items[i].kind == IMAP_FETCH_BINARY ||
		    it->items[i].kind == IMAP_FETCH_BINARY_SIZE)
			mail_section_free(&it->items[i].section);
	}
	it->n_items = 0;
}
