/* METADATA entries and their stored form (see imap-metadata.h). The
 * stored form is read from svc-blob and so is treated as untrusted: every
 * length is checked against what is left and against the limits. */
#include "imap-metadata.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MD_MAGIC "STRATUS-METADATA 1\n"

void imap_md_free(struct imap_md *md)
{
	for (size_t i = 0; i < md->n; i++) {
		free(md->entries[i].scope);
		free(md->entries[i].name);
		free(md->entries[i].value);
	}
	free(md->entries);
	memset(md, 0, sizeof(*md));
}

static void md_add(struct imap_md *md, const char *scope, size_t scope_len,
		   const char *name, size_t name_len, const char *value,
		   size_t value_len)
{
	if (md->n == md->cap) {
		md->cap = md->cap == 0 ? 8 : md->cap * 2;
		md->entries = xreallocarray(md->entries, md->cap,
					    sizeof(*md->entries));
	}
	struct imap_md_entry *e = &md->entries[md->n++];
	e->scope = xstrndup(scope, scope_len);
	e->name = xstrndup(name, name_len);
	e->value = xmalloc(value_len + 1);
	memcpy(e->value, value, value_len);
	e->value[value_len] = '\0';
	e->value_len = value_len;
}

/* "<a> <b> <c>\n" at *p; advances *p. */
static bool md_header(const char **p, const char *end, size_t lens[3])
{
	for (int i = 0; i < 3; i++) {
		size_t v = 0;
		const char *start = *p;
		while (*p < end && **p >= '0' && **p <= '9') {
			v = v * 10 + (size_t)(**p - '0');
			if (v > IMAP_METADATA_MAX_TOTAL)
				return false;
			(*p)++;
		}
		if (*p == start || *p >= end || **p != (i < 2 ? ' ' : '\n'))
			return false;
		(*p)++;
		lens[i] = v;
	}
	return true;
}

int imap_md_parse(struct imap_md *md, const char *data, size_t len)
{
	if (len == 0)
		return 0;
	size_t magic = strlen(MD_MAGIC);
	if (len < magic || memcmp(data, MD_MAGIC, magic) != 0)
		return -1;
	const char *p = data + magic, *end = data + len;
	while (p < end) {
		size_t l[3];
		if (!md_header(&p, end, l) || l[1] == 0 ||
		    l[0] > IMAP_METADATA_MAX_NAME ||
		    l[1] > IMAP_METADATA_MAX_NAME ||
		    (size_t)(end - p) < l[0] + l[1] + l[2] + 1 ||
		    p[l[0] + l[1] + l[2]] != '\n')
			return -1;
		/* Scope and name are C strings: a NUL in them is damage
		 * (found by fuzz-imap-metadata: it cut them short). */
		if (memchr(p, '\0', l[0] + l[1]) != NULL)
			return -1;
		md_add(md, p, l[0], p + l[0], l[1], p + l[0] + l[1], l[2]);
		p += l[0] + l[1] + l[2] + 1;
	}
	return 0;
}

void imap_md_serialize(const struct imap_md *md, struct buf *out)
{
	buf_append_str(out, MD_MAGIC);
	for (size_t i = 0; i < md->n; i++) {
		const struct imap_md_entry *e = &md->entries[i];
		buf_printf(out, "%zu %zu %zu\n", strlen(e->scope),
			   strlen(e->name), e->value_len);
		buf_append_str(out, e->scope);
		buf_append_str(out, e->name);
		buf_append(out, e->value, e->value_len);
		buf_append_c(out, '\n');
	}
}

bool imap_md_entry_name(const char *name, size_t len, char *out)
{
	if (len == 0 || len > IMAP_METADATA_MAX_NAME)
		return false;
	if (!(len > 9 && strncasecmp(name, "/private/", 9) == 0) &&
	    !(len > 8 && strncasecmp(name, "/shared/", 8) == 0))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c == 0x7f || c == '*' || c == '%')
			return false;
		if (c == '/' && (i + 1 == len || name[i + 1] == '/'))
			return false;
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return true;
}

bool imap_md_get_name(const char *name, size_t len, char *out)
{
	if ((len == 8 && strncasecmp(name, "/private", 8) == 0) ||
	    (len == 7 && strncasecmp(name, "/shared", 7) == 0)) {
		for (size_t i = 0; i < len; i++)
			out[i] = (char)tolower((unsigned char)name[i]);
		out[len] = '\0';
		return true;
	}
	return imap_md_entry_name(name, len, out);
}

struct imap_md_entry *imap_md_find(struct imap_md *md, const char *scope,
				   const char *name)
{
	for (size_t i = 0; i < md->n; i++) {
		if (strcmp(md->entries[i].scope, scope) == 0 &&
		    strcmp(md->entries[i].name, name) == 0)
			return &md->entries[i];
	}
	return NULL;
}

void imap_md_set(struct imap_md *md, const char *scope, const char *name,
		 const char *value, size_t value_len)
{
	struct imap_md_entry *e = imap_md_find(md, scope, name);
	if (e != NULL) {
		free(e->scope);
		free(e->name);
		free(e->value);
		*e = md->entries[--md->n];
	}
	if (value != NULL)
		md_add(md, scope, strlen(scope), name, strlen(name), value,
		       value_len);
}

void imap_md_usage(const struct imap_md *md, size_t *entries_r,
		   size_t *bytes_r)
{
	size_t bytes = 0;
	for (size_t i = 0; i < md->n; i++)
		bytes += strlen(md->entries[i].name) + md->entries[i].value_len;
	*entries_r = md->n;
	*bytes_r = bytes;
}

bool imap_md_is_child(const char *name, const char *parent, int depth)
{
	size_t plen = strlen(parent);
	if (depth == 0 || strncmp(name, parent, plen) != 0 ||
	    name[plen] != '/')
		return false;
	if (depth < 0)
		return true;
	int levels = 0;
	for (const char *p = name + plen; *p != '\0'; p++) {
		if (*p == '/')
			levels++;
	}
	return levels <= depth;
}
