/* `doveconf`-style output of a loaded configuration: Dovecot syntax that
 * this parser reads back to the same values. all = false prints what
 * differs from the defaults (like `doveconf -n`), all = true every known
 * setting with its effective value. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: POSIX and GNU interfaces */
#endif
#include "config-private.h"

#include <string.h>

/* Section names made only of these are printed bare, others quoted. */
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"0123456789._@/:+-"

static bool is_white(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Quote when the bare text would read back differently. */
static bool needs_quotes(const char *v)
{
	size_t len = strlen(v);

	if (len == 0)
		return false;
	if (is_white(v[0]) || is_white(v[len - 1]) || v[0] == '<' ||
	    v[0] == '"' || v[0] == '\'' || v[len - 1] == '\\' ||
	    (len >= 2 && v[len - 1] == '}' && is_white(v[len - 2])))
		return true;
	if (strpbrk(v, "#\n\r\"'") != NULL)
		return true;
	/* a `$word` would be taken as a reference */
	for (const char *s = v; (s = strchr(s, '$')) != NULL; s++) {
		if (s == v || is_white(s[-1]))
			return true;
	}
	return false;
}

static void print_quoted(FILE *out, const char *v)
{
	fputc('"', out);
	for (; *v != '\0'; v++) {
		switch (*v) {
		case '\\':
			fputs("\\\\", out);
			break;
		case '"':
			fputs("\\\"", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			fputc(*v, out);
			break;
		}
	}
	fputc('"', out);
}

static void indent(FILE *out, unsigned int depth)
{
	for (unsigned int i = 0; i < depth; i++)
		fputs("  ", out);
}

static void print_setting(FILE *out, unsigned int depth, const char *key,
			  const char *value)
{
	indent(out, depth);
	fprintf(out, "%s =", key);
	if (value[0] != '\0') {
		fputc(' ', out);
		if (needs_quotes(value))
			print_quoted(out, value);
		else
			fputs(value, out);
	}
	fputc('\n', out);
}

static bool is_pattern(const char *name)
{
	return strchr(name, '*') != NULL;
}

static void print_settings(const struct config_section *sec,
			   const struct config_setting_def *schema, bool all,
			   unsigned int depth, FILE *out)
{
	if (all && schema != NULL) {
		/* schema order; then keys only a pattern knows */
		for (const struct config_setting_def *d = schema;
		     d->name != NULL; d++) {
			const struct config_entry *e;
			if (is_pattern(d->name))
				continue;
			e = config_section_entry(sec, d->name);
			if (e != NULL)
				print_setting(out, depth, e->key, e->value);
			else if (d->default_value != NULL)
				print_setting(out, depth, d->name,
					      d->default_value);
		}
		for (size_t i = 0; i < sec->n_entries; i++) {
			const struct config_setting_def *d =
				config_setting_find(schema,
						    sec->entries[i].key);
			if (d != NULL && is_pattern(d->name))
				print_setting(out, depth, sec->entries[i].key,
					      sec->entries[i].value);
		}
		return;
	}
	for (size_t i = 0; i < sec->n_entries; i++) {
		const struct config_entry *e = &sec->entries[i];
		const struct config_setting_def *d =
			schema != NULL ? config_setting_find(schema, e->key) :
					 NULL;
		if (!all && d != NULL && d->default_value != NULL &&
		    strcmp(d->default_value, e->value) == 0)
			continue;
		print_setting(out, depth, e->key, e->value);
	}
}

static void print_section(const struct config *cfg,
			  const struct config_section *sec, bool all,
			  unsigned int depth, FILE *out)
{
	const struct config_setting_def *schema = config_section_schema(cfg,
									sec);
	/* `protocol imap { }` holds overrides only, even with all */
	bool section_all = all && strcmp(sec->type, "protocol") != 0;

	indent(out, depth);
	fputs(sec->type, out);
	if (sec->name[0] != '\0') {
		fputc(' ', out);
		if (sec->name[strspn(sec->name, NAME_CHARS)] != '\0')
			print_quoted(out, sec->name);
		else
			fputs(sec->name, out);
	}
	fputs(" {\n", out);
	print_settings(sec, schema, section_all, depth + 1, out);
	for (size_t i = 0; i < sec->n_children; i++)
		print_section(cfg, sec->children[i], all, depth + 1, out);
	indent(out, depth);
	fputs("}\n", out);
}

void config_dump(const struct config *cfg, bool all, FILE *out)
{
	print_settings(cfg->root, cfg->schema, all, 0, out);
	for (size_t i = 0; i < cfg->root->n_children; i++)
		print_section(cfg, cfg->root->children[i], all, 0, out);
}
