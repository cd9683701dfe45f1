/* lib/mail RFC 5322 / MIME tokenizer and address parser. The behaviour on
 * broken input mirrors Dovecot 2.3 (lib-mail rfc822-parser, rfc2231-parser,
 * message-address) so that ENVELOPE and BODYSTRUCTURE come out the same;
 * the code is our own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail-rfc822.h"

/* atext of RFC 5322 plus every 8-bit byte (UTF-8 names in the wild). */
static bool is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* token of RFC 2045: any CHAR except SPACE, CTLs and tspecials. */
static bool is_mime_token(unsigned char c)
{
	if (c <= 0x20 || c == 0x7f)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

void rfc822_parser_init(struct rfc822_parser *p, const void *data,
			size_t len, struct buf *last_comment)
{
	p->data = data;
	p->end = p->data + len;
	p->last_comment = last_comment;
}

static int skip_comment(struct rfc822_parser *p)
{
	const unsigned char *start;
	unsigned int level = 1;

	p->data++;	/* '(' */
	if (p->last_comment != NULL)
		buf_reset(p->last_comment);
	for (start = p->data; p->data < p->end; p->data++) {
		switch (*p->data) {
		case '(':
			level++;
			break;
		case ')':
			if (--level == 0) {
				if (p->last_comment != NULL)
					(void)buf_append(p->last_comment, start,
							 p->data - start);
				p->data++;
				return p->data < p->end ? 1 : 0;
			}
			break;
		case '\n':
			/* folding whitespace: drop the (CR)LF */
			if (p->last_comment != NULL) {
				size_t n = p->data - start;
				if (n > 0 && start[n - 1] == '\r')
					n--;
				(void)buf_append(p->last_comment, start, n);
			}
			start = p->data + 1;
			break;
		case '\\':
			if (p->last_comment != NULL)
				(void)buf_append(p->last_comment, start,
						 p->data - start);
			start = p->data + 1;
			if (p->data + 1 < p->end)
				p->data++;
			break;
		default:
			break;
		}
	}
	return -1;	/* unterminated comment */
}

int rfc822_skip_lwsp(struct rfc822_parser *p)
{
	while (p->data < p->end) {
		unsigned char c = *p->data;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			p->data++;
			continue;
		}
		if (c != '(')
			return 1;
		if (skip_comment(p) < 0)
			return -1;
	}
	return 0;
}

int rfc822_parse_atom(struct rfc822_parser *p, struct buf *out)
{
	const unsigned char *start = p->data;

	if (p->data >= p->end || !is_atext(*p->data))
		return -1;
	while (p->data < p->end && is_atext(*p->data))
		p->data++;
	(void)buf_append(out, start, p->data - start);
	return rfc822_skip_lwsp(p);
}

/* atom that may contain dots (obs-phrase). */
static int parse_atom_or_dot(struct rfc822_parser *p, struct buf *out)
{
	const unsigned char *start = p->data;

	if (p->data >= p->end ||
	    (!is_atext(*p->data) && *p->data != '.'))
		return -1;
	while (p->data < p->end && (is_atext(*p->data) || *p->data == '.'))
		p->data++;
	(void)buf_append(out, start, p->data - start);
	return rfc822_skip_lwsp(p);
}

int rfc822_parse_dot_atom(struct rfc822_parser *p, struct buf *out)
{
	const unsigned char *start;
	int ret;

	if (p->data >= p->end || !is_atext(*p->data))
		return -1;
	for (start = p->data++; p->data < p->end; p->data++) {
		if (is_atext(*p->data))
			continue;
		(void)buf_append(out, start, p->data - start);
		if ((ret = rfc822_skip_lwsp(p)) <= 0)
			return ret;
		if (*p->data != '.')
			return 1;
		p->data++;
		(void)buf_append_c(out, '.');
		if ((ret = rfc822_skip_lwsp(p)) <= 0)
			return ret;
		start = p->data;
	}
	(void)buf_append(out, start, p->data - start);
	return 0;
}

int rfc822_parse_quoted_string(struct rfc822_parser *p, struct buf *out)
{
	const unsigned char *start;

	p->data++;	/* '"' */
	for (start = p->data; p->data < p->end; p->data++) {
		switch (*p->data) {
		case '"':
			(void)buf_append(out, start, p->data - start);
			p->data++;
			return rfc822_skip_lwsp(p);
		case '\n': {
			size_t n = p->data - start;
			if (n > 0 && start[n - 1] == '\r')
				n--;
			(void)buf_append(out, start, n);
			start = p->data + 1;
			break;
		}
		case '\\':
			if (p->data + 1 >= p->end)
				return -1;
			(void)buf_append(out, start, p->data - start);
			p->data++;
			start = p->data;
			break;
		default:
			break;
		}
	}
	return -1;	/* missing '"' */
}

int rfc822_parse_phrase(struct rfc822_parser *p, struct buf *out)
{
	int ret;

	if (p->data >= p->end)
		return 0;
	if (*p->data == '.')
		return -1;
	for (;;) {
		if (*p->data == '"')
			ret = rfc822_parse_quoted_string(p, out);
		else
			ret = parse_atom_or_dot(p, out);
		if (ret <= 0)
			return ret;
		if (!is_atext(*p->data) && *p->data != '"' && *p->data != '.')
			break;
		(void)buf_append_c(out, ' ');
	}
	return rfc822_skip_lwsp(p);
}

static int parse_domain_literal(struct rfc822_parser *p, struct buf *out)
{
	const unsigned char *start = p->data;

	for (; p->data < p->end; p->data++) {
		if (*p->data == '\\') {
			if (p->data + 1 >= p->end)
				break;
			p->data++;
		} else if (*p->data == ']') {
			p->data++;
			(void)buf_append(out, start, p->data - start);
			return rfc822_skip_lwsp(p);
		}
	}
	return -1;
}

int rfc822_parse_domain(struct rfc822_parser *p, struct buf *out)
{
	p->data++;	/* '@' */
	if (rfc822_skip_lwsp(p) <= 0)
		return -1;
	if (*p->data == '[')
		return parse_domain_literal(p, out);
	return rfc822_parse_dot_atom(p, out);
}

int rfc822_parse_mime_token(struct rfc822_parser *p, struct buf *out)
{
	const unsigned char *start = p->data;

	while (p->data < p->end && is_mime_token(*p->data))
		p->data++;
	(void)buf_append(out, start, p->data - start);
	return rfc822_skip_lwsp(p);
}

/* --- parameters ------------------------------------------------------ */

void mail_params_free(struct mail_params *params)
{
	for (unsigned int i = 0; i < params->count; i++) {
		free(params->v[i].name);
		free(params->v[i].value);
	}
	free(params->v);
	params->v = NULL;
	params->count = 0;
}

static void params_add(struct mail_params *params, char *name, char *value)
{
	if ((params->count & (params->count - 1)) == 0)
		params->v = xreallocarray(params->v, params->count == 0 ? 1 :
					  params->count * 2,
					  sizeof(*params->v));
	params->v[params->count].name = name;
	params->v[params->count].value = value;
	params->count++;
}

/* "; key=value". Returns 1 with a parameter, 0 at the end, -1 broken.
 * The key may be empty; "key=" gives an empty value; "key==?..." (a bare
 * encoded word) is taken up to the next blank or ';' (Dovecot). */
static int parse_content_param(struct rfc822_parser *p, struct buf *key,
			       struct buf *value)
{
	int ret;

	buf_reset(key);
	buf_reset(value);
	(void)buf_append(key, "", 0);
	(void)buf_append(value, "", 0);
	if (p->data >= p->end)
		return 0;
	if (*p->data != ';')
		return -1;
	p->data++;
	if (rfc822_skip_lwsp(p) <= 0)
		return -1;
	if (rfc822_parse_mime_token(p, key) <= 0)
		return -1;
	if (*p->data != '=')
		return -1;
	p->data++;
	if ((ret = rfc822_skip_lwsp(p)) <= 0) {
		/* no value */
	} else if (*p->data == '"') {
		ret = rfc822_parse_quoted_string(p, value);
	} else if (*p->data == '=') {
		while (p->data < p->end && *p->data != ';' && *p->data != ' ' &&
		       *p->data != '\t' && *p->data != '\r' &&
		       *p->data != '\n')
			(void)buf_append_c(value, (char)*p->data++);
	} else {
		ret = rfc822_parse_mime_token(p, value);
	}
	return ret < 0 ? -1 : 1;
}

struct cont_param {
	char *key;	/* base name, without "*n" */
	unsigned int idx;
	bool extended;
	char *value;
};

static int cont_cmp(const void *a, const void *b)
{
	const struct cont_param *x = a, *y = b;
	int r = strcasecmp(x->key, y->key);

	if (r != 0)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Parses "key*<n>[*]"; returns true for a continuation piece. */
static bool split_cont_key(const char *key, char **base_r, unsigned int *idx_r,
			   bool *extended_r)
{
	const char *star = strchr(key, '*');
	const char *q;
	unsigned long idx = 0;

	if (star == NULL || star[1] < '0' || star[1] > '9')
		return false;
	for (q = star + 1; *q >= '0' && *q <= '9'; q++) {
		idx = idx * 10 + (unsigned long)(*q - '0');
		if (idx > 100000)
			return false;
	}
	if (*q == '*' && q[1] == '\0')
		*extended_r = true;
	else if (*q == '\0')
		*extended_r = false;
	else
		return false;
	*base_r = xstrndup(key, (size_t)(star - key));
	*idx_r = (unsigned int)idx;
	return true;
}

static void params_parse(struct rfc822_parser *p, struct mail_params *params)
{
	struct buf key = BUF_INIT, value = BUF_INIT;
	struct cont_param *cont = NULL;
	unsigned int ncont = 0, i, j;
	int ret;

	while ((ret = parse_content_param(p, &key, &value)) != 0) {
		char *base;
		unsigned int idx;
		bool ext;

		if (ret < 0) {
			/* skip a byte of the broken parameter, go on */
			if (p->data >= p->end)
				break;
			p->data++;
			continue;
		}
		if (split_cont_key(key.data, &base, &idx, &ext)) {
			if ((ncont & (ncont - 1)) == 0)
				cont = xreallocarray(cont, ncont == 0 ? 1 :
						     ncont * 2, sizeof(*cont));
			cont[ncont].key = base;
			cont[ncont].idx = idx;
			cont[ncont].extended = ext;
			cont[ncont].value = xstrdup(value.data != NULL ?
						    value.data : "");
			ncont++;
			continue;
		}
		params_add(params, xstrdup(key.data),
			   xstrdup(value.data != NULL ? value.data : ""));
	}
	buf_free(&key);
	buf_free(&value);
	if (ncont == 0)
		return;

	/* merge key*0, key*1 ... in index order, stopping at a gap; when a
	 * piece is extended the result is "key*" with the plain pieces
	 * copied as they are (after "''" when the first one is plain) */
	qsort(cont, ncont, sizeof(*cont), cont_cmp);
	for (i = 0; i < ncont;) {
		struct buf merged = BUF_INIT;
		bool ext = false;
		unsigned int next = 0, first = i;

		for (j = i; j < ncont && strcasecmp(cont[j].key, cont[i].key)
			    == 0; j++) {
			if (cont[j].idx != next)
				continue;
			next++;
			ext = ext || cont[j].extended;
		}
		if (ext && !cont[first].extended)
			(void)buf_append_str(&merged, "''");
		next = 0;
		for (j = i; j < ncont && strcasecmp(cont[j].key, cont[i].key)
			    == 0; j++) {
			if (cont[j].idx != next)
				continue;
			next++;
			(void)buf_append_str(&merged, cont[j].value);
		}
		if (next > 0) {
			char *name = ext ? xasprintf("%s*", cont[i].key) :
				xstrdup(cont[i].key);
			(void)buf_append_str(&merged, "");
			params_add(params, name, buf_steal(&merged));
		}
		buf_free(&merged);
		i = j;
	}
	for (i = 0; i < ncont; i++) {
		free(cont[i].key);
		free(cont[i].value);
	}
	free(cont);
}

int rfc822_parse_content_type(const void *value, size_t len,
			      char **type_r, char **subtype_r,
			      struct mail_params *params_r)
{
	struct rfc822_parser p;
	struct buf type = BUF_INIT, sub = BUF_INIT;
	int ret = -1;

	params_r->v = NULL;
	params_r->count = 0;
	*subtype_r = NULL;
	rfc822_parser_init(&p, value, len, NULL);
	(void)buf_append_str(&type, "");
	(void)buf_append_str(&sub, "");
	if (rfc822_skip_lwsp(&p) <= 0)
		goto out;
	if (rfc822_parse_mime_token(&p, &type) <= 0 || type.len == 0)
		goto out;
	if (*p.data != '/')
		goto out;
	p.data++;
	if (rfc822_skip_lwsp(&p) <= 0)
		goto out;
	if (rfc822_parse_mime_token(&p, &sub) < 0 || sub.len == 0)
		goto out;
	*subtype_r = buf_steal(&sub);
	params_parse(&p, params_r);
	ret = 0;
out:
	/* a broken value keeps the type read so far (Dovecot writes it) */
	*type_r = buf_steal(&type);
	if (*type_r == NULL)
		*type_r = xstrdup("");
	buf_free(&sub);
	return ret;
}

void rfc822_parse_token_params(const void *value, size_t len,
			       char **token_r, struct mail_params *params_r)
{
	struct rfc822_parser p;
	struct buf tok = BUF_INIT;

	params_r->v = NULL;
	params_r->count = 0;
	*token_r = NULL;
	rfc822_parser_init(&p, value, len, NULL);
	if (rfc822_skip_lwsp(&p) <= 0)
		return;
	if (rfc822_parse_mime_token(&p, &tok) < 0 || tok.len == 0) {
		buf_free(&tok);
		return;
	}
	*token_r = buf_steal(&tok);
	params_parse(&p, params_r);
}

/* --- addresses -------------------------------------------------------- */

struct addr_ctx {
	struct rfc822_parser p;
	struct buf str, comment;
	struct mail_address addr;	/* the one being built */
	struct mail_address_list *list;
};

static void addr_clear(struct mail_address *a)
{
	free(a->name);
	free(a->route);
	free(a->mailbox);
	free(a->domain);
	memset(a, 0, sizeof(*a));
}

static void set_field(char **field, const char *value)
{
	free(*field);
	*field = value == NULL ? NULL : xstrdup(value);
}

static const char *str_of(struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

static void add_address(struct addr_ctx *ctx)
{
	struct mail_address_list *l = ctx->list;

	/* grow by doubling: a hostile header may hold millions */
	if ((l->count & (l->count - 1)) == 0)
		l->v = xreallocarray(l->v, l->count == 0 ? 1 : l->count * 2,
				     sizeof(*l->v));
	l->v[l->count++] = ctx->addr;
	memset(&ctx->addr, 0, sizeof(ctx->addr));
}

static int parse_local_part(struct addr_ctx *ctx)
{
	int ret;

	buf_reset(&ctx->str);
	if (*ctx->p.data == '"')
		ret = rfc822_parse_quoted_string(&ctx->p, &ctx->str);
	else
		ret = rfc822_parse_dot_atom(&ctx->p, &ctx->str);
	if (ret < 0)
		return -1;
	set_field(&ctx->addr.mailbox, str_of(&ctx->str));
	return ret;
}

static int parse_domain(struct addr_ctx *ctx)
{
	int ret;

	buf_reset(&ctx->str);
	if ((ret = rfc822_parse_domain(&ctx->p, &ctx->str)) < 0)
		return -1;
	set_field(&ctx->addr.domain, str_of(&ctx->str));
	return ret;
}

static int parse_domain_list(struct addr_ctx *ctx)
{
	int ret;

	buf_reset(&ctx->str);
	for (;;) {
		if (ctx->p.data >= ctx->p.end)
			return 0;
		if (*ctx->p.data != '@')
			break;
		if (ctx->str.len > 0)
			(void)buf_append_c(&ctx->str, ',');
		(void)buf_append_c(&ctx->str, '@');
		if ((ret = rfc822_parse_domain(&ctx->p, &ctx->str)) <= 0)
			return ret;
		while (rfc822_skip_lwsp(&ctx->p) > 0 && *ctx->p.data == ',')
			ctx->p.data++;
	}
	set_field(&ctx->addr.route, str_of(&ctx->str));
	return 1;
}

static int parse_angle_addr(struct addr_ctx *ctx)
{
	ctx->p.data++;	/* '<' */
	if (rfc822_skip_lwsp(&ctx->p) <= 0)
		return -1;
	if (*ctx->p.data == '@') {
		if (parse_domain_list(ctx) > 0 && *ctx->p.data == ':') {
			ctx->p.data++;
		} else {
			set_field(&ctx->addr.route, "INVALID_ROUTE");
			if (ctx->p.data >= ctx->p.end)
				return -1;
		}
		if (rfc822_skip_lwsp(&ctx->p) <= 0)
			return -1;
	}
	if (*ctx->p.data != '>') {
		if (parse_local_part(ctx) <= 0)
			return -1;
		if (*ctx->p.data == '@') {
			if (parse_domain(ctx) <= 0)
				return -1;
		}
	}
	if (*ctx->p.data != '>')
		return -1;
	ctx->p.data++;
	return rfc822_skip_lwsp(&ctx->p);
}

static int parse_name_addr(struct addr_ctx *ctx)
{
	buf_reset(&ctx->str);
	if (*ctx->p.data != '<') {
		if (rfc822_parse_phrase(&ctx->p, &ctx->str) <= 0 ||
		    *ctx->p.data != '<')
			return -1;
	}
	set_field(&ctx->addr.name, ctx->str.len == 0 ? NULL : ctx->str.data);
	if (parse_angle_addr(ctx) < 0) {
		set_field(&ctx->addr.domain, "SYNTAX_ERROR");
	}
	return ctx->p.data < ctx->p.end ? 1 : 0;
}

static int parse_addr_spec(struct addr_ctx *ctx)
{
	int ret, ret2 = -2;
	bool quoted = *ctx->p.data == '"';

	buf_reset(&ctx->comment);
	ret = parse_local_part(ctx);
	if (ret != 0 && ctx->p.data < ctx->p.end && *ctx->p.data == '@') {
		ret2 = parse_domain(ctx);
		if (ret2 <= 0)
			ret = ret2;
	}
	if (ctx->comment.len > 0) {
		set_field(&ctx->addr.name, ctx->comment.data);
	} else if (ret2 == -2) {
		/* "user" without @domain: alone it is a mailbox, followed
		 * by more words it was a display name */
		size_t orig;

		(void)buf_append_c(&ctx->str, ' ');
		orig = ctx->str.len;
		if (ctx->p.data < ctx->p.end)
			(void)rfc822_parse_phrase(&ctx->p, &ctx->str);
		if (ctx->str.len != orig) {
			set_field(&ctx->addr.mailbox, NULL);
			set_field(&ctx->addr.name, ctx->str.data);
		} else if (!quoted) {
			set_field(&ctx->addr.domain, "");
		}
		ret = ctx->p.data < ctx->p.end ? 1 : 0;
	}
	return ret;
}

static int parse_mailbox(struct addr_ctx *ctx)
{
	const unsigned char *start = ctx->p.data;
	int ret;

	if ((ret = parse_name_addr(ctx)) < 0) {
		addr_clear(&ctx->addr);
		ctx->p.data = start;
		ret = parse_addr_spec(ctx);
	}
	if (ctx->addr.mailbox == NULL || ctx->addr.mailbox[0] == '\0')
		set_field(&ctx->addr.mailbox, "MISSING_MAILBOX");
	if (ctx->addr.domain == NULL || ctx->addr.domain[0] == '\0')
		set_field(&ctx->addr.domain, "MISSING_DOMAIN");
	add_address(ctx);
	return ret;
}

static int parse_group(struct addr_ctx *ctx)
{
	int ret;

	buf_reset(&ctx->str);
	if (rfc822_parse_phrase(&ctx->p, &ctx->str) <= 0 ||
	    *ctx->p.data != ':')
		return -1;
	ctx->p.data++;
	ret = rfc822_skip_lwsp(&ctx->p);
	set_field(&ctx->addr.mailbox, str_of(&ctx->str));
	add_address(ctx);

	if (ret > 0 && *ctx->p.data != ';') {
		for (;;) {
			if (parse_mailbox(ctx) <= 0) {
				ret = -1;
				break;
			}
			if (*ctx->p.data != ',')
				break;
			ctx->p.data++;
			if (rfc822_skip_lwsp(&ctx->p) <= 0) {
				ret = -1;
				break;
			}
		}
	}
	if (ret >= 0) {
		if (ctx->p.data >= ctx->p.end || *ctx->p.data != ';') {
			ret = -1;
		} else {
			ctx->p.data++;
			ret = rfc822_skip_lwsp(&ctx->p);
		}
	}
	add_address(ctx);	/* end of group */
	return ret == 0 ? 0 : 1;
}

static int parse_address(struct addr_ctx *ctx)
{
	const unsigned char *start = ctx->p.data;
	int ret;

	if ((ret = parse_group(ctx)) < 0) {
		addr_clear(&ctx->addr);
		ctx->p.data = start;
		ret = parse_mailbox(ctx);
	}
	return ret;
}

void mail_address_parse(const void *value, size_t len,
			unsigned int max_addresses,
			struct mail_address_list *list_r)
{
	struct addr_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	list_r->v = NULL;
	list_r->count = 0;
	ctx.list = list_r;
	buf_init(&ctx.str, 0);
	buf_init(&ctx.comment, 0);
	rfc822_parser_init(&ctx.p, value, len, &ctx.comment);
	if (rfc822_skip_lwsp(&ctx.p) > 0) {
		while (max_addresses-- > 0) {
			if (parse_address(&ctx) == 0)
				break;
			if (ctx.p.data >= ctx.p.end || *ctx.p.data != ',')
				break;
			ctx.p.data++;
			if (rfc822_skip_lwsp(&ctx.p) <= 0)
				break;
		}
	}
	addr_clear(&ctx.addr);
	buf_free(&ctx.str);
	buf_free(&ctx.comment);
}

void mail_address_list_free(struct mail_address_list *list)
{
	for (unsigned int i = 0; i < list->count; i++)
		addr_clear(&list->v[i]);
	free(list->v);
	list->v = NULL;
	list->count = 0;
}
