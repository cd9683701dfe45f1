/* Ordered key=value lists carried by passdb/userdb results. */
#include "auth-common.h"

#include <stdlib.h>
#include <string.h>

static struct auth_field *fields_find(const struct auth_fields *f,
				      const char *key)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->v[i].key, key) == 0)
			return &f->v[i];
	}
	return NULL;
}

void auth_fields_set(struct auth_fields *f, const char *key,
		     const char *value)
{
	struct auth_field *fl = fields_find(f, key);
	if (fl != NULL) {
		char *v = xstrdup(value);
		free(fl->value);
		fl->value = v;
		return;
	}
	f->v = xreallocarray(f->v, f->n + 1, sizeof(*f->v));
	f->v[f->n].key = xstrdup(key);
	f->v[f->n].value = xstrdup(value);
	f->n++;
}

const char *auth_fields_get(const struct auth_fields *f, const char *key)
{
	const struct auth_field *fl = fields_find(f, key);
	return fl != NULL ? fl->value : NULL;
}

void auth_fields_remove(struct auth_fields *f, const char *key)
{
	struct auth_field *fl = fields_find(f, key);
	if (fl == NULL)
		return;
	free(fl->key);
	free(fl->value);
	size_t i = (size_t)(fl - f->v);
	memmove(&f->v[i], &f->v[i + 1], (f->n - i - 1) * sizeof(*f->v));
	f->n--;
}

void auth_fields_clear(struct auth_fields *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].key);
		free(f->v[i].value);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

void auth_fields_copy(struct auth_fields *dst, const struct auth_fields *src)
{
	for (size_t i = 0; i < src->n; i++)
		auth_fields_set(dst, src->v[i].key, src->v[i].value);
}

void auth_fields_parse_args(struct auth_fields *f, const char *args)
{
	const char *p = args;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *end = p;
		while (*end != '\0' && *end != ' ' && *end != '\t')
			end++;
		if (end == p)
			break;
		char *word = xstrndup(p, (size_t)(end - p));
		char *eq = strchr(word, '=');
		if (eq != NULL) {
			*eq = '\0';
			auth_fields_set(f, word, eq + 1);
		} else {
			auth_fields_set(f, word, "yes");
		}
		free(word);
		p = end;
	}
}
