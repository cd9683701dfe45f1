/* Dovecot-syntax configuration parser. Reads files (and !include'd files)
 * whole, under named size bounds, splits them into logical lines (comments
 * stripped, `\` continuations joined), and builds the section tree while
 * checking every key and value against the schema. Any error frees the
 * whole tree: a caller never sees a half-loaded configuration. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: POSIX and GNU interfaces */
#endif
#include "config-private.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IS_WHITE(c) ((c) == ' ' || (c) == '\t' || (c) == '\r')

/* One file (or the in-memory text) being read; includes stack up. */
struct config_input {
	struct config_input *prev;
	char *name;	/* as shown in error messages */
	char *dir;	/* relative !include and <file paths start here */
	char *real;	/* realpath, for loop detection; NULL for memory */
	char *data;
	size_t len, pos;
	unsigned int linenum;
	size_t base_depth;	/* sections open when this file started */
};

struct config_parser {
	struct config *cfg;
	const struct config_setting_def *flat_schema;	/* NULL = main */
	struct config_section *stack[CONFIG_MAX_NESTING + 1];
	const struct config_section_def *defs[CONFIG_MAX_NESTING + 1];
	size_t depth;
	struct config_input *input;
	unsigned int include_depth;
	size_t total_bytes;
	size_t n_items;
	char *error;
};

static int parse_input(struct config_parser *p);

/* For appends to unbounded buffers, which cannot fail. */
static void must(int r)
{
	if (r < 0)
		abort();
}

static int parse_error(struct config_parser *p, unsigned int line,
		       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int parse_error(struct config_parser *p, unsigned int line,
		       const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (p->error != NULL)
		return -1;
	must(buf_printf(&b, "%s:%u: ", p->input->name, line));
	va_start(ap, fmt);
	must(buf_vprintf(&b, fmt, ap));
	va_end(ap);
	p->error = buf_steal(&b);
	return -1;
}

/* A buffer that may hold a secret (a line of the file): wiped before
 * its memory goes back to malloc. */
static void secret_buf_free(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap + 1);
	buf_free(b);
}

/* Makes room for n more bytes at once, so that the appends that follow
 * never realloc (a realloc that moves leaves the old copy behind). */
static void secret_buf_reserve(struct buf *b, size_t n)
{
	size_t len = b->len;
	if (buf_append_space(b, n) != NULL)
		b->len = len;
	if (b->data != NULL)
		b->data[b->len] = '\0';
}

/* Reads fd to its end into one block sized from fstat, at most max
 * bytes. The text may hold secrets, so nothing is read through a stack
 * chunk or a growing buffer: a file that grew since fstat moves to a
 * larger block and the old one is wiped. */
static int read_fd_whole(int fd, size_t size, size_t max, char **data_r,
			 size_t *len_r, int *errno_r)
{
	size_t cap = (size > max ? max : size) + 1, len = 0;
	char *data = xmalloc(cap + 1);
	for (;;) {
		if (len == cap && cap <= max) {
			size_t ncap = cap > max / 2 ? max + 1 : cap * 2;
			char *bigger = xmalloc(ncap + 1);
			memcpy(bigger, data, len);
			explicit_bzero(data, len);
			free(data);
			data = bigger;
			cap = ncap;
		}
		ssize_t n = len < cap ? read(fd, data + len, cap - len) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*errno_r = errno;
			break;
		}
		if (n == 0 && len > max) {
			*errno_r = EFBIG;	/* grew while we read */
			break;
		}
		if (n == 0) {
			data[len] = '\0';
			*data_r = data;
			*len_r = len;
			return 0;
		}
		len += (size_t)n;
	}
	explicit_bzero(data, len);
	free(data);
	return -1;
}

/* Reads a regular file of at most `max` bytes. 0, or -1 with *errno_r set
 * (EFBIG when too large, EINVAL when not a regular file). */
static int read_whole_file(const char *path, size_t max, char **data_r,
			   size_t *len_r, int *errno_r)
{
	struct stat st;
	int fd;

	/* O_NONBLOCK: opening a FIFO must not hang the load */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		*errno_r = errno;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*errno_r = errno;
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*errno_r = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		*errno_r = EFBIG;
		close(fd);
		return -1;
	}
	int ret = read_fd_whole(fd, (size_t)st.st_size, max, data_r, len_r,
				errno_r);
	close(fd);
	return ret;
}

static const char *errno_str(int err)
{
	if (err == EFBIG)
		return "file too large";
	if (err == EINVAL)
		return "not a regular file";
	return strerror(err);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static char *path_in_dir(const char *dir, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	return xasprintf("%s/%s", dir, path);
}

static void input_free(struct config_input *in)
{
	free(in->name);
	free(in->dir);
	free(in->real);
	if (in->data != NULL)
		explicit_bzero(in->data, in->len);
	free(in->data);
	free(in);
}

static const char *section_label(const struct config_section *sec,
				 struct buf *tmp)
{
	buf_reset(tmp);
	must(buf_printf(tmp, "%s%s%s", sec->type, sec->name[0] != '\0' ? " " :
			"", sec->name));
	return tmp->data;
}

/* Quoted string at s (which points at the quote). Double quotes take
 * backslash escapes (\n \t \r, else the next character itself); single
 * quotes are literal. Returns the position after the closing quote, or
 * NULL if it is missing or the text is over the line bound. */
static const char *unquote(const char *s, struct buf *out)
{
	char quote = *s++;

	for (; *s != '\0' && *s != quote; s++) {
		char c = *s;
		if (quote == '"' && c == '\\' && s[1] != '\0') {
			s++;
			switch (*s) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			default:
				c = *s;
				break;
			}
		}
		if (buf_append_c(out, c) < 0)
			return NULL;
	}
	return *s == quote ? s + 1 : NULL;
}

/* Cuts a '#' comment that is not inside quotes. An unterminated quote
 * ends the scan, leaving the line alone, as Dovecot does. */
static void strip_comment(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\'') {
			char quote = *s;
			for (s++; *s != '\0' && *s != quote; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
			}
			if (*s == '\0')
				return;
		} else if (*s == '#') {
			*s = '\0';
			return;
		}
	}
}

static int close_section(struct config_parser *p, unsigned int line)
{
	if (p->depth <= p->input->base_depth)
		return parse_error(p, line, "unexpected '}' (no open section)");
	p->depth--;
	return 0;
}

static int open_section(struct config_parser *p, const char *type,
			const char *name, unsigned int line)
{
	const struct config_section_def *parent_def = p->defs[p->depth];
	struct config_section *parent = p->stack[p->depth], *sec = NULL;
	const struct config_section_def *def;

	if (p->flat_schema != NULL)
		return parse_error(p, line,
				   "sections are not allowed in this file");
	if (p->depth >= CONFIG_MAX_NESTING)
		return parse_error(p, line, "sections nested too deeply "
				   "(max %d)", CONFIG_MAX_NESTING);
	def = config_section_def_child(parent_def, type);
	if (def == NULL) {
		if (config_section_def_find(type) == NULL)
			return parse_error(p, line,
					   "unknown section type '%s'", type);
		return parse_error(p, line, "section '%s' is not allowed %s%s%s",
				   type, p->depth == 0 ? "at the top level" :
				   "inside '", parent->type,
				   p->depth == 0 ? "" : "'");
	}
	if (def->name_rule == CONFIG_NAME_NONE && name[0] != '\0')
		return parse_error(p, line, "section '%s' takes no name", type);
	if (def->name_rule == CONFIG_NAME_REQUIRED && name[0] == '\0')
		return parse_error(p, line, "section '%s' needs a name", type);
	if (strcmp(type, "protocol") == 0 && !config_protocol_name_valid(name))
		return parse_error(p, line, "unknown protocol '%s'", name);

	if (def->merge &&
	    (name[0] != '\0' || def->name_rule == CONFIG_NAME_NONE)) {
		for (size_t i = 0; i < parent->n_children; i++) {
			struct config_section *c = parent->children[i];
			if (strcmp(c->type, type) == 0 &&
			    strcmp(c->name, name) == 0) {
				sec = c;
				break;
			}
		}
	}
	if (sec == NULL) {
		sec = xcalloc(1, sizeof(*sec));
		sec->type = xstrdup(type);
		sec->name = xstrdup(name);
		sec->file = xstrdup(p->input->name);
		sec->line = line;
		sec->parent = parent;
		parent->children = xreallocarray(parent->children,
						 parent->n_children + 1,
						 sizeof(*parent->children));
		parent->children[parent->n_children++] = sec;
	}
	p->depth++;
	p->stack[p->depth] = sec;
	p->defs[p->depth] = def;
	return 0;
}

/* Each word of a list value (space or comma separated) must pass check. */
static int check_words(struct config_parser *p, unsigned int line,
		       const char *key, const char *value,
		       bool (*check)(const char *word), const char *what)
{
	const char *s = value;

	while (*s != '\0') {
		size_t n = strcspn(s, " \t,");
		if (n > 0) {
			char *word = xstrndup(s, n);
			bool ok = check(word);
			if (!ok)
				parse_error(p, line, "%s: unknown %s '%s'", key,
					    what, word);
			free(word);
			if (!ok)
				return -1;
		}
		s += n;
		s += strspn(s, " \t,");
	}
	return 0;
}

static bool mail_plugin_known(const char *name)
{
	return config_mail_plugin_find(name) != NULL;
}

/* Takes ownership of value. */
static int assign(struct config_parser *p, const char *key, char *value,
		  unsigned int line)
{
	struct config_section *sec = p->stack[p->depth];
	const struct config_setting_def *schema, *def;
	char *err = NULL;
	struct buf tmp = BUF_INIT;
	int ret = 0;

	schema = p->flat_schema != NULL ? p->flat_schema :
					  p->defs[p->depth]->settings;
	def = config_setting_find(schema, key);
	if (def == NULL) {
		if (p->depth == 0)
			ret = parse_error(p, line, "unknown setting '%s'", key);
		else
			ret = parse_error(p, line, "unknown setting '%s' in "
					  "section '%s'", key,
					  section_label(sec, &tmp));
	} else if (config_value_check(schema, def, value, &err) < 0) {
		ret = parse_error(p, line, "%s: %s", key, err);
		free(err);
	} else if (schema == config_main_schema &&
		   strcmp(key, "mail_plugins") == 0) {
		ret = check_words(p, line, key, value, mail_plugin_known,
				  "plugin");
	} else if (schema == config_main_schema &&
		   strcmp(key, "protocols") == 0) {
		ret = check_words(p, line, key, value,
				  config_protocols_value_valid, "protocol");
	}
	buf_free(&tmp);
	if (ret < 0) {
		config_secure_free(value);
		return -1;
	}

	/* a later assignment in the same section replaces the earlier one */
	for (size_t i = 0; i < sec->n_entries; i++) {
		struct config_entry *e = &sec->entries[i];
		if (strcmp(e->key, key) == 0) {
			config_secure_free(e->value);
			free(e->file);
			e->value = value;
			e->file = xstrdup(p->input->name);
			e->line = line;
			return 0;
		}
	}
	sec->entries = xreallocarray(sec->entries, sec->n_entries + 1,
				     sizeof(*sec->entries));
	sec->entries[sec->n_entries++] = (struct config_entry){
		.key = xstrdup(key),
		.value = value,
		.file = xstrdup(p->input->name),
		.line = line,
	};
	return 0;
}

/* Value of setting `name` as seen from the current section: the nearest
 * enclosing section that sets it, else the schema default. */
static const char *lookup_reference(struct config_parser *p, const char *name)
{
	const struct config_setting_def *def;

	for (size_t d = p->depth + 1; d > 0; d--) {
		const struct config_entry *e =
			config_section_entry(p->stack[d - 1], name);
		if (e != NULL)
			return e->value;
	}
	def = config_setting_find(p->defs[p->depth]->settings, name);
	if (def != NULL && def->default_value != NULL &&
	    strchr(def->name, '*') == NULL)
		return def->default_value;
	def = config_setting_find(config_main_schema, name);
	if (def != NULL && def->default_value != NULL)
		return def->default_value;
	return NULL;
}

static bool is_ident(const char *s, size_t len)
{
	if (len == 0 || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			  *s == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* Replaces each whitespace-separated `$name` word by that setting's
 * current value. *value_r is malloc'd. */
static int expand_references(struct config_parser *p, const char *value,
			     unsigned int line, char **value_r)
{
	struct buf b;
	const char *s = value;

	buf_init(&b, CONFIG_MAX_LINE_LENGTH);
	secret_buf_reserve(&b, CONFIG_MAX_LINE_LENGTH);
	while (*s != '\0') {
		size_t white = strspn(s, " \t");
		size_t n = strcspn(s + white, " \t");
		const char *word = s + white;
		const char *v = NULL;
		int r = buf_append(&b, s, white);

		if (r == 0 && word[0] == '$' && is_ident(word + 1, n - 1)) {
			char *name = xstrndup(word + 1, n - 1);
			v = lookup_reference(p, name);
			if (v == NULL) {
				parse_error(p, line, "$%s: reference to an "
					    "unknown or unset setting", name);
				free(name);
				secret_buf_free(&b);
				return -1;
			}
			free(name);
			r = buf_append_str(&b, v);
		} else if (r == 0) {
			r = buf_append(&b, word, n);
		}
		if (r < 0) {
			secret_buf_free(&b);
			return parse_error(p, line, "value too long after "
					   "$ expansion (max %d bytes)",
					   CONFIG_MAX_LINE_LENGTH);
		}
		s = word + n;
	}
	/* `$mail_plugins quota` with an empty mail_plugins: no lead space */
	size_t start = 0, end = b.len;
	while (start < end && IS_WHITE(b.data[start]))
		start++;
	while (end > start && IS_WHITE(b.data[end - 1]))
		end--;
	*value_r = xstrndup(b.data != NULL ? b.data + start : "", end - start);
	secret_buf_free(&b);
	return 0;
}

static int account_bytes(struct config_parser *p, unsigned int line,
			 size_t len)
{
	if (len > CONFIG_MAX_TOTAL_SIZE - p->total_bytes)
		return parse_error(p, line, "configuration too large "
				   "(max %d bytes in all files)",
				   CONFIG_MAX_TOTAL_SIZE);
	p->total_bytes += len;
	return 0;
}

/* `key = <path`: the file's content, trailing newlines trimmed. */
static int read_value_file(struct config_parser *p, const char *spec,
			   unsigned int line, char **value_r)
{
	char *path, *data;
	size_t len;
	int err;

	while (IS_WHITE(*spec))
		spec++;
	if (*spec == '\0')
		return parse_error(p, line, "'<' without a file name");
	path = path_in_dir(p->input->dir, spec);
	if (read_whole_file(path, CONFIG_MAX_VALUE_FILE_SIZE, &data, &len,
			    &err) < 0) {
		parse_error(p, line, "<%s: %s", path, errno_str(err));
		free(path);
		return -1;
	}
	free(path);
	if (account_bytes(p, line, len) < 0 ||
	    memchr(data, '\0', len) != NULL) {
		explicit_bzero(data, len);
		free(data);
		return parse_error(p, line, "<%s: NUL byte in file", spec);
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	*value_r = data;
	return 0;
}

static int parse_assignment(struct config_parser *p, const char *key,
			    char *v, unsigned int line)
{
	bool close_after = false;
	char *value = NULL;

	while (IS_WHITE(*v))
		v++;
	if (*v == '"' || *v == '\'') {
		struct buf b;
		const char *end;

		buf_init(&b, CONFIG_MAX_LINE_LENGTH);
		secret_buf_reserve(&b, strlen(v));
		end = unquote(v, &b);
		if (end == NULL) {
			secret_buf_free(&b);
			return parse_error(p, line, "%s: missing closing "
					   "quote", key);
		}
		while (IS_WHITE(*end))
			end++;
		if (*end == '}') {
			close_after = true;
			for (end++; IS_WHITE(*end); end++)
				;
		}
		if (*end != '\0') {
			secret_buf_free(&b);
			return parse_error(p, line, "%s: garbage after quoted "
					   "value", key);
		}
		value = buf_steal(&b);
	} else {
		size_t len = strlen(v);

		/* `auto = create }` closes the section on the same line */
		if (len >= 2 && v[len - 1] == '}' && IS_WHITE(v[len - 2])) {
			close_after = true;
			for (len--; len > 0 && IS_WHITE(v[len - 1]); len--)
				;
			v[len] = '\0';
		}
		if (*v == '<') {
			if (read_value_file(p, v + 1, line, &value) < 0)
				return -1;
		} else if (p->flat_schema == NULL && strchr(v, '$') != NULL) {
			if (expand_references(p, v, line, &value) < 0)
				return -1;
		} else {
			value = xstrdup(v);
		}
	}
	if (assign(p, key, value, line) < 0)
		return -1;
	return close_after ? close_section(p, line) : 0;
}

static int include_file(struct config_parser *p, const char *path,
			bool try, unsigned int line)
{
	struct config_input *in;
	char *real, *data;
	size_t len;
	int err, ret;

	real = realpath(path, NULL);
	if (real == NULL) {
		if (try && errno == ENOENT)
			return 0;
		return parse_error(p, line, "!include %s: %s", path,
				   strerror(errno));
	}
	for (in = p->input; in != NULL; in = in->prev) {
		if (in->real != NULL && strcmp(in->real, real) == 0) {
			free(real);
			return parse_error(p, line, "!include %s: include "
					   "loop", path);
		}
	}
	if (read_whole_file(real, CONFIG_MAX_FILE_SIZE, &data, &len, &err) < 0) {
		free(real);
		if (try && err == ENOENT)
			return 0;
		return parse_error(p, line, "!include %s: %s", path,
				   errno_str(err));
	}
	if (account_bytes(p, line, len) < 0) {
		free(real);
		explicit_bzero(data, len);
		free(data);
		return -1;
	}
	in = xcalloc(1, sizeof(*in));
	in->name = xstrdup(path);
	in->dir = dir_of(path);
	in->real = real;
	in->data = data;
	in->len = len;
	in->base_depth = p->depth;
	in->prev = p->input;
	p->input = in;
	p->include_depth++;
	ret = parse_input(p);
	p->include_depth--;
	p->input = in->prev;
	input_free(in);
	return ret;
}

static int parse_include(struct config_parser *p, const char *arg, bool try,
			 unsigned int line)
{
	char *path;
	glob_t g;
	int ret = 0;

	if (p->include_depth >= CONFIG_MAX_INCLUDE_DEPTH)
		return parse_error(p, line, "!include nested too deeply "
				   "(max %d)", CONFIG_MAX_INCLUDE_DEPTH);
	path = path_in_dir(p->input->dir, arg);
	if (strpbrk(path, "*?[{") == NULL) {
		ret = include_file(p, path, try, line);
		free(path);
		return ret;
	}
	switch (glob(path, GLOB_BRACE, NULL, &g)) {
	case 0:
		for (size_t i = 0; i < g.gl_pathc && ret == 0; i++)
			ret = include_file(p, g.gl_pathv[i], try, line);
		globfree(&g);
		break;
	case GLOB_NOMATCH:
		if (!try)
			ret = parse_error(p, line, "!include %s: no matching "
					  "files", path);
		break;
	default:
		globfree(&g);
		ret = parse_error(p, line, "!include %s: cannot read the "
				  "pattern's directory", path);
		break;
	}
	free(path);
	return ret;
}

static int parse_directive(struct config_parser *p, char *line,
			   unsigned int linenum)
{
	char *s = line + 1, *arg;
	size_t n = strcspn(s, " \t\r");
	struct buf b;
	bool try;
	int ret;

	if (n == 7 && strncmp(s, "include", 7) == 0)
		try = false;
	else if (n == 11 && strncmp(s, "include_try", 11) == 0)
		try = true;
	else
		return parse_error(p, linenum, "unknown directive '!%.*s'",
				   (int)n, s);
	for (arg = s + n; IS_WHITE(*arg); arg++)
		;
	buf_init(&b, CONFIG_MAX_LINE_LENGTH);
	if (*arg == '"' || *arg == '\'') {
		const char *end = unquote(arg, &b);
		if (end == NULL) {
			buf_free(&b);
			return parse_error(p, linenum, "!include: missing "
					   "closing quote");
		}
	} else {
		must(buf_append_str(&b, arg));
	}
	if (b.len == 0) {
		buf_free(&b);
		return parse_error(p, linenum, "!include needs a file name");
	}
	ret = parse_include(p, b.data, try, linenum);
	buf_free(&b);
	return ret;
}

/* `type {`, `type name {`, optionally followed by `}` on the same line. */
static int parse_section_start(struct config_parser *p, const char *type,
			       const char *name, const char *rest,
			       unsigned int line)
{
	while (IS_WHITE(*rest))
		rest++;
	if (*rest != '\0' && *rest != '}')
		return parse_error(p, line, "unexpected text after '{'");
	if (open_section(p, type, name, line) < 0)
		return -1;
	if (*rest == '}') {
		for (rest++; IS_WHITE(*rest); rest++)
			;
		if (*rest != '\0')
			return parse_error(p, line, "unexpected text after "
					   "'}'");
		return close_section(p, line);
	}
	return 0;
}

static int parse_logical(struct config_parser *p, char *line,
			 unsigned int linenum)
{
	char *s = line, *key_end;
	char c;

	if (++p->n_items > CONFIG_MAX_ENTRIES)
		return parse_error(p, linenum, "too many settings (max %d)",
				   CONFIG_MAX_ENTRIES);
	if (*s == '}') {
		for (; *s != '\0'; s++) {
			if (*s == '}') {
				if (close_section(p, linenum) < 0)
					return -1;
			} else if (!IS_WHITE(*s)) {
				return parse_error(p, linenum, "unexpected "
						   "text after '}'");
			}
		}
		return 0;
	}
	if (*s == '!')
		return parse_directive(p, line, linenum);

	while (*s != '\0' && !IS_WHITE(*s) && *s != '=' && *s != '{')
		s++;
	if (s == line)
		return parse_error(p, linenum, "expected a setting or section "
				   "name");
	key_end = s;
	while (IS_WHITE(*s))
		s++;
	c = *s;
	*key_end = '\0';
	if (c == '=')
		return parse_assignment(p, line, s + 1, linenum);
	if (c == '{')
		return parse_section_start(p, line, "", s + 1, linenum);
	if (c == '\0')
		return parse_error(p, linenum, "expected '=' or '{' after "
				   "'%s'", line);

	/* `type name {` */
	struct buf name;
	const char *after;
	int ret;

	buf_init(&name, CONFIG_MAX_LINE_LENGTH);
	if (c == '"' || c == '\'') {
		after = unquote(s, &name);
		if (after == NULL) {
			buf_free(&name);
			return parse_error(p, linenum, "section '%s': missing "
					   "closing quote in its name", line);
		}
	} else {
		size_t n = strcspn(s, " \t\r{");
		must(buf_append(&name, s, n));
		after = s + n;
	}
	while (IS_WHITE(*after))
		after++;
	if (*after != '{') {
		ret = parse_error(p, linenum, "expected '{' after '%s %s'",
				  line, name.data != NULL ? name.data : "");
	} else {
		ret = parse_section_start(p, line,
					  name.data != NULL ? name.data : "",
					  after + 1, linenum);
	}
	buf_free(&name);
	return ret;
}

/* One physical line: strip, drop comments, gather continuations. */
static int parse_physical(struct config_parser *p, char *line,
			  struct buf *full, unsigned int *full_line)
{
	unsigned int linenum = p->input->linenum;
	char *s = line;
	size_t len;

	while (IS_WHITE(*s))
		s++;
	strip_comment(s);
	len = strlen(s);
	while (len > 0 && IS_WHITE(s[len - 1]))
		len--;
	s[len] = '\0';
	if (len == 0)
		return 0;

	if (s[len - 1] == '\\') {
		for (len--; len > 0 && IS_WHITE(s[len - 1]); len--)
			;
		if (full->len == 0)
			*full_line = linenum;
		if (len > 0 && (buf_append(full, s, len) < 0 ||
				buf_append_c(full, ' ') < 0))
			return parse_error(p, *full_line, "line too long (max "
					   "%d bytes)", CONFIG_MAX_LINE_LENGTH);
		return 0;
	}
	if (full->len == 0)
		return parse_logical(p, s, linenum);
	if (buf_append(full, s, len) < 0)
		return parse_error(p, *full_line, "line too long (max %d "
				   "bytes)", CONFIG_MAX_LINE_LENGTH);
	int ret = parse_logical(p, full->data, *full_line);
	buf_reset(full);
	return ret;
}

static int parse_input(struct config_parser *p)
{
	struct config_input *in = p->input;
	struct buf full;
	unsigned int full_line = 0;
	struct buf tmp = BUF_INIT;
	int ret = 0;

	buf_init(&full, CONFIG_MAX_LINE_LENGTH);
	secret_buf_reserve(&full, CONFIG_MAX_LINE_LENGTH);
	while (ret == 0 && in->pos < in->len) {
		const char *start = in->data + in->pos;
		size_t avail = in->len - in->pos;
		const char *nl = memchr(start, '\n', avail);
		size_t n = nl != NULL ? (size_t)(nl - start) : avail;

		in->pos += n + (nl != NULL ? 1 : 0);
		in->linenum++;
		if (n > CONFIG_MAX_LINE_LENGTH) {
			ret = parse_error(p, in->linenum, "line too long (max "
					  "%d bytes)", CONFIG_MAX_LINE_LENGTH);
		} else if (memchr(start, '\0', n) != NULL) {
			ret = parse_error(p, in->linenum, "NUL byte in line");
		} else {
			char *line = xstrndup(start, n);
			ret = parse_physical(p, line, &full, &full_line);
			explicit_bzero(line, n);
			free(line);
		}
	}
	/* the file ended inside a `\` continuation */
	if (ret == 0 && full.len > 0) {
		while (full.len > 0 && IS_WHITE(full.data[full.len - 1]))
			full.data[--full.len] = '\0';
		ret = parse_logical(p, full.data, full_line);
	}
	secret_buf_free(&full);
	if (ret == 0 && p->depth > in->base_depth) {
		const struct config_section *sec = p->stack[p->depth];
		ret = parse_error(p, sec->line, "section '%s' is not closed "
				  "(missing '}')", section_label(sec, &tmp));
	}
	buf_free(&tmp);
	return ret;
}

static int config_parse(struct config_input *in,
			const struct config_setting_def *flat_schema,
			struct config **cfg_r, char **error_r)
{
	struct config_parser p;
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	int ret;

	cfg->root = xcalloc(1, sizeof(*cfg->root));
	cfg->root->type = xstrdup("");
	cfg->root->name = xstrdup("");
	cfg->root->file = xstrdup(in->name);
	cfg->schema = flat_schema != NULL ? flat_schema : config_main_schema;
	cfg->flat = flat_schema != NULL;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.flat_schema = flat_schema;
	p.stack[0] = cfg->root;
	p.defs[0] = &config_root_def;
	p.input = in;
	p.total_bytes = in->len;
	ret = parse_input(&p);
	input_free(in);
	if (ret < 0) {
		config_free(&cfg);
		*error_r = p.error != NULL ? p.error : xstrdup("unknown error");
		return -1;
	}
	*cfg_r = cfg;
	return 0;
}

static int load_path(const char *path,
		     const struct config_setting_def *flat_schema,
		     struct config **cfg_r, char **error_r)
{
	struct config_input *in;
	char *data;
	size_t len;
	int err;

	if (read_whole_file(path, CONFIG_MAX_FILE_SIZE, &data, &len, &err) < 0) {
		*error_r = xasprintf("%s: %s", path, errno_str(err));
		return -1;
	}
	in = xcalloc(1, sizeof(*in));
	in->name = xstrdup(path);
	in->dir = dir_of(path);
	in->real = realpath(path, NULL);
	in->data = data;
	in->len = len;
	return config_parse(in, flat_schema, cfg_r, error_r);
}

int config_load(const char *path, struct config **cfg_r, char **error_r)
{
	return load_path(path, NULL, cfg_r, error_r);
}

int config_load_flat(const char *path, const struct config_setting_def *schema,
		     struct config **cfg_r, char **error_r)
{
	return load_path(path, schema, cfg_r, error_r);
}

int config_load_string(const char *text, size_t len, const char *name,
		       struct config **cfg_r, char **error_r)
{
	struct config_input *in;

	if (len > CONFIG_MAX_FILE_SIZE) {
		*error_r = xasprintf("%s: file too large", name);
		return -1;
	}
	in = xcalloc(1, sizeof(*in));
	in->name = xstrdup(name);
	in->dir = xstrdup(".");
	in->data = xmalloc(len + 1);
	if (len > 0)
		memcpy(in->data, text, len);
	in->data[len] = '\0';
	in->len = len;
	return config_parse(in, NULL, cfg_r, error_r);
}
