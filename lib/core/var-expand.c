/* Dovecot %-variable expansion (see var-expand.h). Reads an untrusted
 * template, never writes past out->max, and on any error leaves `out`
 * exactly as it found it. MD5 comes from OpenSSL's EVP interface. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: POSIX and GNU interfaces */
#endif
#include "var-expand.h"

#include <pthread.h>
#include <stdbool.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

/* One expanded value going through modifiers: two scratch buffers used in
 * turn, so that no modifier reads and writes the same memory. */
struct var_value {
	const char *str;
	size_t len;
	struct buf scratch[2];
	unsigned int next;
};

static const char *const ERR_TOO_LONG = "expansion result too long";

static struct buf *value_scratch(struct var_value *v)
{
	struct buf *b = &v->scratch[v->next];
	v->next ^= 1;
	buf_reset(b);
	return b;
}

static int mod_case(struct var_value *v, bool upper)
{
	struct buf *b = value_scratch(v);
	for (size_t i = 0; i < v->len; i++) {
		unsigned char c = (unsigned char)v->str[i];
		c = (unsigned char)(upper ? toupper(c) : tolower(c));
		if (buf_append_c(b, (char)c) < 0)
			return -1;
	}
	v->str = b->data != NULL ? b->data : "";
	v->len = b->len;
	return 0;
}

static int mod_md5(struct var_value *v)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	struct buf *b = value_scratch(v);

	if (EVP_Digest(v->str, v->len, md, &md_len, EVP_md5(), NULL) != 1)
		return -1;
	for (unsigned int i = 0; i < md_len; i++) {
		if (buf_append_c(b, hex[md[i] >> 4]) < 0 ||
		    buf_append_c(b, hex[md[i] & 0xf]) < 0)
			return -1;
	}
	v->str = b->data;
	v->len = b->len;
	return 0;
}

static int mod_reverse(struct var_value *v)
{
	struct buf *b = value_scratch(v);
	for (size_t i = v->len; i > 0; i--) {
		if (buf_append_c(b, v->str[i - 1]) < 0)
			return -1;
	}
	v->str = b->data != NULL ? b->data : "";
	v->len = b->len;
	return 0;
}

static int mod_trim(struct var_value *v)
{
	while (v->len > 0 && isspace((unsigned char)v->str[v->len - 1]))
		v->len--;
	return 0;
}

static int mod_ldap_dn(struct var_value *v)
{
	struct buf *b = value_scratch(v);
	for (size_t i = 0; i < v->len; i++) {
		int r = v->str[i] == '.' ? buf_append_str(b, ",dc=") :
					   buf_append_c(b, v->str[i]);
		if (r < 0)
			return -1;
	}
	v->str = b->data != NULL ? b->data : "";
	v->len = b->len;
	return 0;
}

static int mod_escape(struct var_value *v)
{
	struct buf *b = value_scratch(v);
	for (size_t i = 0; i < v->len; i++) {
		char c = v->str[i];
		if ((c == '\\' || c == '"' || c == '\'') &&
		    buf_append_c(b, '\\') < 0)
			return -1;
		if (buf_append_c(b, c) < 0)
			return -1;
	}
	v->str = b->data != NULL ? b->data : "";
	v->len = b->len;
	return 0;
}

static int mod_hex(struct var_value *v)
{
	unsigned long long n = 0;
	struct buf *b = value_scratch(v);

	/* Like Dovecot: anything that is not a plain decimal becomes 0. */
	for (size_t i = 0; i < v->len; i++) {
		if (v->str[i] < '0' || v->str[i] > '9' ||
		    __builtin_mul_overflow(n, 10ULL, &n) ||
		    __builtin_add_overflow(n, (unsigned long long)
					   (v->str[i] - '0'), &n)) {
			n = 0;
			break;
		}
	}
	if (buf_printf(b, "%llx", n) < 0)
		return -1;
	v->str = b->data;
	v->len = b->len;
	return 0;
}

static int apply_modifier(struct var_value *v, char m)
{
	switch (m) {
	case 'L':
		return mod_case(v, false);
	case 'U':
		return mod_case(v, true);
	case 'M':
		return mod_md5(v);
	case 'R':
		return mod_reverse(v);
	case 'T':
		return mod_trim(v);
	case 'D':
		return mod_ldap_dn(v);
	case 'E':
		return mod_escape(v);
	case 'X':
		return mod_hex(v);
	}
	return -1;
}

static bool is_modifier(char c)
{
	return c != '\0' && strchr("LUMRTDEX", c) != NULL;
}

static const char *lookup_short(const struct var_expand_entry *table, char key)
{
	if (table == NULL)
		return NULL;
	for (const struct var_expand_entry *t = table;
	     t->key != '\0' || t->long_key != NULL; t++) {
		if (t->key == key)
			return t->value != NULL ? t->value : "";
	}
	return NULL;
}

/* %{name} or %{func:data}: key points at the name, len bytes long (not
 * NUL-terminated). *value_r NULL = unknown. */
static int lookup_long(const struct var_expand_entry *table,
		       const struct var_expand_func *funcs, void *ctx,
		       const char *key, size_t len, const char **value_r,
		       const char **error_r)
{
	*value_r = NULL;
	if (table != NULL) {
		for (const struct var_expand_entry *t = table;
		     t->key != '\0' || t->long_key != NULL; t++) {
			if (t->long_key != NULL &&
			    strncmp(t->long_key, key, len) == 0 &&
			    t->long_key[len] == '\0') {
				*value_r = t->value != NULL ? t->value : "";
				return 0;
			}
		}
	}

	const char *colon = memchr(key, ':', len);
	if (colon == NULL) {
		*error_r = "unknown variable";
		return -1;
	}
	size_t name_len = (size_t)(colon - key);
	char *data = xstrndup(colon + 1, len - name_len - 1);
	int ret = -1;

	if (name_len == 3 && memcmp(key, "env", 3) == 0) {
		const char *env = getenv(data);
		*value_r = env != NULL ? env : "";
		ret = 0;
	} else if (funcs != NULL) {
		for (const struct var_expand_func *f = funcs; f->name != NULL;
		     f++) {
			if (strncmp(f->name, key, name_len) == 0 &&
			    f->name[name_len] == '\0') {
				const char *v = f->func(data, ctx);
				*value_r = v != NULL ? v : "";
				ret = 0;
				break;
			}
		}
	}
	free(data);
	if (ret < 0)
		*error_r = "unknown variable function";
	return ret;
}

struct var_format {
	long long offset;
	long long width;
	bool zero_padding;
	char modifiers[VAR_EXPAND_MAX_MODIFIERS];
	unsigned int n_modifiers;
};

/* Reads "[-][0]digits[.[0][-]digits]" and the modifiers; *p is left at
 * the variable key. Numbers are capped so they cannot overflow. */
static void parse_format(const char **p, struct var_format *fmt)
{
	const char *s = *p;
	long long sign = 1, n = 0;

	memset(fmt, 0, sizeof(*fmt));
	if (*s == '-') {
		sign = -1;
		s++;
	}
	if (*s == '0') {
		fmt->zero_padding = true;
		s++;
	}
	while (*s >= '0' && *s <= '9') {
		if (n < 1000000)
			n = n * 10 + (*s - '0');
		s++;
	}
	fmt->width = sign * n;
	if (*s == '.') {
		fmt->offset = fmt->width;
		s++;
		sign = 1;
		n = 0;
		fmt->zero_padding = false;
		if (*s == '0') {
			fmt->zero_padding = true;
			s++;
		}
		if (*s == '-') {
			sign = -1;
			s++;
		}
		while (*s >= '0' && *s <= '9') {
			if (n < 1000000)
				n = n * 10 + (*s - '0');
			s++;
		}
		fmt->width = sign * n;
	}
	while (fmt->n_modifiers < VAR_EXPAND_MAX_MODIFIERS && is_modifier(*s))
		fmt->modifiers[fmt->n_modifiers++] = *s++;
	*p = s;
}

/* Offset and width, then the value goes to out. */
static int emit(struct buf *out, const struct var_format *fmt,
		const char *str, size_t len)
{
	if (fmt->offset < 0) {
		size_t back = (size_t)-fmt->offset;
		if (len > back) {
			str += len - back;
			len = back;
		}
	} else {
		size_t skip = (size_t)fmt->offset;
		if (skip > len)
			skip = len;
		str += skip;
		len -= skip;
	}

	if (fmt->width == 0)
		return buf_append(out, str, len);
	if (fmt->zero_padding && fmt->width > 0) {
		/* %05u-like padding: never truncates */
		for (size_t i = len; i < (size_t)fmt->width; i++) {
			if (buf_append_c(out, '0') < 0)
				return -1;
		}
		return buf_append(out, str, len);
	}
	if (fmt->width > 0) {
		if ((size_t)fmt->width < len)
			len = (size_t)fmt->width;
	} else {
		/* negative width: all but the last -width characters */
		size_t cut = (size_t)-fmt->width;
		len = cut < len ? len - cut : 0;
	}
	return buf_append(out, str, len);
}

static int expand_one(struct buf *out, const char **p,
		      const struct var_expand_entry *table,
		      const struct var_expand_func *funcs, void *ctx,
		      struct var_value *v, const char **error_r)
{
	struct var_format fmt;
	const char *s = *p, *value = NULL;

	if (*s == '%') {
		*p = s + 1;
		if (buf_append_c(out, '%') < 0) {
			*error_r = ERR_TOO_LONG;
			return -1;
		}
		return 0;
	}
	parse_format(&s, &fmt);
	if (*s == '\0') {
		*error_r = "'%' at end of template";
		return -1;
	}
	if (*s == '{') {
		/* nested braces are part of the key, as in Dovecot */
		const char *start = s + 1, *e = start;
		unsigned int depth = 1;
		for (; *e != '\0'; e++) {
			if (*e == '{')
				depth++;
			else if (*e == '}' && --depth == 0)
				break;
		}
		if (*e == '\0') {
			*error_r = "missing '}' in %{";
			return -1;
		}
		if (e == start) {
			*error_r = "empty %{}";
			return -1;
		}
		if (lookup_long(table, funcs, ctx, start, (size_t)(e - start),
				&value, error_r) < 0)
			return -1;
		s = e + 1;
	} else {
		value = lookup_short(table, *s);
		if (value == NULL) {
			*error_r = "unknown variable";
			return -1;
		}
		s++;
	}

	v->str = value;
	v->len = strlen(value);
	for (unsigned int i = 0; i < fmt.n_modifiers; i++) {
		if (apply_modifier(v, fmt.modifiers[i]) < 0) {
			*error_r = ERR_TOO_LONG;
			return -1;
		}
	}
	if (emit(out, &fmt, v->str, v->len) < 0) {
		*error_r = ERR_TOO_LONG;
		return -1;
	}
	*p = s;
	return 0;
}

int var_expand(struct buf *out, const char *tmpl,
	       const struct var_expand_entry *table,
	       const struct var_expand_func *funcs, void *ctx,
	       const char **error_r)
{
	size_t start_len = out->len;
	struct var_value v;
	int ret = 0;

	memset(&v, 0, sizeof(v));
	/* modifier results are bounded like the output */
	buf_init(&v.scratch[0], out->max);
	buf_init(&v.scratch[1], out->max);

	for (const char *p = tmpl; *p != '\0';) {
		const char *pct = strchr(p, '%');
		size_t n = pct != NULL ? (size_t)(pct - p) : strlen(p);
		if (buf_append(out, p, n) < 0) {
			*error_r = ERR_TOO_LONG;
			ret = -1;
			break;
		}
		if (pct == NULL)
			break;
		p = pct + 1;
		if (expand_one(out, &p, table, funcs, ctx, &v, error_r) < 0) {
			ret = -1;
			break;
		}
	}
	buf_free(&v.scratch[0]);
	buf_free(&v.scratch[1]);
	if (ret < 0) {
		out->len = start_len;
		if (out->data != NULL)
			out->data[start_len] = '\0';
	}
	return ret;
}

static long var_expand_cached_pid;

static void var_expand_pid_forget(void)
{
	var_expand_cached_pid = 0;
}

/* %p is expanded per request (svc-blob's object keys): getpid() once,
 * not a syscall each time; a forked child asks again. */
static long var_expand_pid(void)
{
	static bool atfork_set;
	if (!atfork_set) {
		(void)pthread_atfork(NULL, NULL, var_expand_pid_forget);
		atfork_set = true;
	}
	if (var_expand_cached_pid == 0)
		var_expand_cached_pid = (long)getpid();
	return var_expand_cached_pid;
}

void var_expand_user_init(struct var_expand_user *vu, const char *user,
			  const char *service, const char *session)
{
	const char *at = strchr(user, '@');
	unsigned int i = 0;

	memset(vu, 0, sizeof(*vu));
	vu->username = at != NULL ? xstrndup(user, (size_t)(at - user)) :
				    xstrdup(user);
	(void)snprintf(vu->pid, sizeof(vu->pid), "%ld", var_expand_pid());

	vu->table[i++] = (struct var_expand_entry){ 'u', "user", user };
	vu->table[i++] = (struct var_expand_entry){ 'n', "username",
						    vu->username };
	vu->table[i++] = (struct var_expand_entry){ 'd', "domain",
						    at != NULL ? at + 1 : "" };
	vu->table[i++] = (struct var_expand_entry){ 's', "service", service };
	vu->table[i++] = (struct var_expand_entry){ '\0', "session", session };
	vu->table[i++] = (struct var_expand_entry){ 'p', "pid", vu->pid };
	vu->table[i] = (struct var_expand_entry){ '\0', NULL, NULL };
}

void var_expand_user_deinit(struct var_expand_user *vu)
{
	free(vu->username);
	vu->username = NULL;
}
