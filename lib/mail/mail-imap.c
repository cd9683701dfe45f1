/* lib/mail ENVELOPE / BODY / BODYSTRUCTURE. Each part's header is read
 * again from the message bytes (the parser keeps only offsets): Content-*
 * fields take their first occurrence, envelope fields their last one,
 * as Dovecot does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail-header.h"
#include "mail-imap.h"
#include "mail-rfc822.h"

#define EMPTY_BODY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL " \
	"NIL \"7bit\" 0 0"
#define EMPTY_ENVELOPE "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"

/* --- strings ----------------------------------------------------------- */

static void append_literal(struct buf *out, const char *s, size_t len)
{
	(void)buf_printf(out, "{%zu}\r\n", len);
	(void)buf_append(out, s, len);
}

void imap_append_nstring(struct buf *out, const char *s)
{
	unsigned int escapes = 0;
	size_t i;

	if (s == NULL) {
		(void)buf_append_str(out, "NIL");
		return;
	}
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			if (escapes++ < 4)
				continue;
		} else if (c != '\r' && c != '\n' && c < 0x80) {
			continue;
		}
		append_literal(out, s, strlen(s));
		return;
	}
	(void)buf_append_c(out, '"');
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '"' || s[i] == '\\')
			(void)buf_append_c(out, '\\');
		(void)buf_append_c(out, s[i]);
	}
	(void)buf_append_c(out, '"');
}

void imap_append_nstring_nolf(struct buf *out, const char *s)
{
	struct buf tmp = BUF_INIT;

	if (s == NULL || strpbrk(s, "\r\n") == NULL) {
		imap_append_nstring(out, s);
		return;
	}
	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] != '\r' && s[i] != '\n') {
			(void)buf_append_c(&tmp, s[i]);
		} else if (s[i + 1] != ' ' && s[i + 1] != '\t' &&
			   s[i + 1] != '\r' && s[i + 1] != '\n' &&
			   s[i + 1] != '\0') {
			/* keep the words of the two lines apart */
			(void)buf_append_c(&tmp, ' ');
		}
	}
	(void)buf_append(&tmp, "", 0);
	imap_append_nstring(out, tmp.data);
	buf_free(&tmp);
}

static bool is_lwsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void imap_append_string_for_humans(struct buf *out, const char *s)
{
	struct buf tmp = BUF_INIT;
	bool modify = false, last_lwsp = true;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_lwsp((char)c)) {
			if (c != ' ' || last_lwsp)
				modify = true;
			last_lwsp = true;
		} else {
			if (c == '"' || c == '\\' || c >= 0x80)
				modify = true;
			last_lwsp = false;
		}
	}
	if (last_lwsp && i > 0)
		modify = true;
	if (!modify) {
		(void)buf_append_c(out, '"');
		(void)buf_append_str(out, s);
		(void)buf_append_c(out, '"');
		return;
	}
	/* collapse whitespace runs, drop leading and trailing whitespace */
	last_lwsp = true;
	for (i = 0; s[i] != '\0'; i++) {
		if (is_lwsp(s[i])) {
			if (!last_lwsp)
				(void)buf_append_c(&tmp, ' ');
			last_lwsp = true;
		} else {
			(void)buf_append_c(&tmp, s[i]);
			last_lwsp = false;
		}
	}
	if (tmp.len > 0 && tmp.data[tmp.len - 1] == ' ')
		tmp.len--;
	if (tmp.len == 0)
		(void)buf_append_str(out, "\"\"");
	else
		append_literal(out, tmp.data, tmp.len);
	buf_free(&tmp);
}

/* --- ENVELOPE ---------------------------------------------------------- */

enum env_field {
	ENV_DATE, ENV_SUBJECT, ENV_FROM, ENV_SENDER, ENV_REPLY_TO, ENV_TO,
	ENV_CC, ENV_BCC, ENV_IN_REPLY_TO, ENV_MESSAGE_ID, ENV_COUNT
};

static const char *const env_names[ENV_COUNT] = {
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"In-Reply-To", "Message-ID",
};

static const unsigned char *part_header(const void *msg, size_t msg_size,
					const struct mail_part *part,
					size_t *len_r)
{
	uint64_t off = part->offset, len = part->header.physical;

	if (off > msg_size)
		off = msg_size;
	if (len > msg_size - off)
		len = msg_size - off;
	*len_r = (size_t)len;
	return (const unsigned char *)msg + off;
}

static void write_addresses(struct buf *out, const char *value)
{
	struct mail_address_list list;

	if (value == NULL) {
		(void)buf_append_str(out, "NIL");
		return;
	}
	mail_address_parse(value, strlen(value), UINT32_MAX, &list);
	if (list.count == 0) {
		(void)buf_append_str(out, "NIL");
		return;
	}
	(void)buf_append_c(out, '(');
	for (unsigned int i = 0; i < list.count; i++) {
		const struct mail_address *a = &list.v[i];
		(void)buf_append_c(out, '(');
		if (a->name == NULL)
			(void)buf_append_str(out, "NIL");
		else
			imap_append_string_for_humans(out, a->name);
		(void)buf_append_c(out, ' ');
		imap_append_nstring(out, a->route);
		(void)buf_append_c(out, ' ');
		imap_append_nstring(out, a->mailbox);
		(void)buf_append_c(out, ' ');
		imap_append_nstring(out, a->domain);
		(void)buf_append_c(out, ')');
	}
	(void)buf_append_c(out, ')');
	mail_address_list_free(&list);
}

static bool addresses_empty(const char *value)
{
	struct mail_address_list list;
	bool empty;

	if (value == NULL)
		return true;
	mail_address_parse(value, strlen(value), 1, &list);
	empty = list.count == 0;
	mail_address_list_free(&list);
	return empty;
}

void mail_imap_envelope(const void *msg, size_t msg_size,
			const struct mail_part *part, struct buf *out)
{
	struct mail_header_iter iter;
	struct mail_header_field f;
	char *v[ENV_COUNT] = { NULL };
	const unsigned char *hdr;
	size_t hdr_len;

	hdr = part_header(msg, msg_size, part, &hdr_len);
	mail_header_iter_init(&iter, hdr, hdr_len);
	while (mail_header_iter_next(&iter, &f)) {
		for (int i = 0; i < ENV_COUNT; i++) {
			if (!mail_header_name_is(&f, env_names[i]))
				continue;
			free(v[i]);
			v[i] = mail_header_strdup(f.value, f.value_len);
			break;
		}
	}
	(void)buf_append_c(out, '(');
	imap_append_nstring_nolf(out, v[ENV_DATE]);
	(void)buf_append_c(out, ' ');
	if (v[ENV_SUBJECT] == NULL)
		(void)buf_append_str(out, "NIL");
	else
		imap_append_string_for_humans(out, v[ENV_SUBJECT]);
	for (int i = ENV_FROM; i <= ENV_BCC; i++) {
		const char *value = v[i];
		if ((i == ENV_SENDER || i == ENV_REPLY_TO) &&
		    addresses_empty(value))
			value = v[ENV_FROM];
		(void)buf_append_c(out, ' ');
		write_addresses(out, value);
	}
	(void)buf_append_c(out, ' ');
	imap_append_nstring_nolf(out, v[ENV_IN_REPLY_TO]);
	(void)buf_append_c(out, ' ');
	imap_append_nstring_nolf(out, v[ENV_MESSAGE_ID]);
	(void)buf_append_c(out, ')');
	for (int i = 0; i < ENV_COUNT; i++)
		free(v[i]);
}

/* --- BODYSTRUCTURE ----------------------------------------------------- */

struct part_data {
	bool has_type;
	char *type, *subtype;
	struct mail_params params;
	char *id, *description, *encoding, *md5, *location;
	char *disposition;
	struct mail_params disposition_params;
	char **language;	/* NULL-terminated, or NULL */
};

static void parse_language(struct part_data *d, const char *value)
{
	struct rfc822_parser p;
	struct buf tok = BUF_INIT;
	unsigned int n = 0;

	rfc822_parser_init(&p, value, strlen(value), NULL);
	if (rfc822_skip_lwsp(&p) <= 0)
		return;
	for (;;) {
		buf_reset(&tok);
		if (rfc822_parse_atom(&p, &tok) < 0)
			break;
		d->language = xreallocarray(d->language, n + 2,
					    sizeof(char *));
		d->language[n++] = xstrdup(tok.data);
		d->language[n] = NULL;
		if (p.data >= p.end || *p.data != ',')
			break;
		p.data++;
		if (rfc822_skip_lwsp(&p) <= 0)
			break;
	}
	buf_free(&tok);
}

static void parse_encoding(struct part_data *d, const char *value)
{
	struct rfc822_parser p;
	struct buf tok = BUF_INIT;

	rfc822_parser_init(&p, value, strlen(value), NULL);
	if (rfc822_skip_lwsp(&p) > 0 &&
	    rfc822_parse_mime_token(&p, &tok) >= 0 &&
	    rfc822_skip_lwsp(&p) == 0 && tok.len > 0)
		d->encoding = buf_steal(&tok);
	buf_free(&tok);
}

static void part_data_parse(const void *msg, size_t msg_size,
			    const struct mail_part *part, struct part_data *d)
{
	struct mail_header_iter iter;
	struct mail_header_field f;
	const unsigned char *hdr;
	size_t hdr_len;

	memset(d, 0, sizeof(*d));
	hdr = part_header(msg, msg_size, part, &hdr_len);
	mail_header_iter_init(&iter, hdr, hdr_len);
	while (mail_header_iter_next(&iter, &f)) {
		if (f.name_len < 8 || strncasecmp(f.name, "Content-", 8) != 0)
			continue;
		char *value = mail_header_strdup(f.value, f.value_len);
		const char *n = f.name + 8;
		size_t nl = f.name_len - 8;
#define IS(s) (nl == sizeof(s) - 1 && strncasecmp(n, s, nl) == 0)
		if (IS("Type") && !d->has_type) {
			d->has_type = true;
			(void)rfc822_parse_content_type(value, strlen(value),
							&d->type, &d->subtype,
							&d->params);
		} else if (IS("Transfer-Encoding") && d->encoding == NULL) {
			parse_encoding(d, value);
		} else if (IS("ID") && d->id == NULL) {
			d->id = value;
			value = NULL;
		} else if (IS("Description") && d->description == NULL) {
			d->description = value;
			value = NULL;
		} else if (IS("MD5") && d->md5 == NULL) {
			d->md5 = value;
			value = NULL;
		} else if (IS("Location") && d->location == NULL) {
			d->location = value;
			value = NULL;
		} else if (IS("Language") && d->language == NULL) {
			parse_language(d, value);
		} else if (IS("Disposition") && d->disposition == NULL) {
			rfc822_parse_token_params(value, strlen(value),
						  &d->disposition,
						  &d->disposition_params);
		}
#undef IS
		free(value);
	}
}

static void part_data_free(struct part_data *d)
{
	free(d->type);
	free(d->subtype);
	mail_params_free(&d->params);
	free(d->id);
	free(d->description);
	free(d->encoding);
	free(d->md5);
	free(d->location);
	free(d->disposition);
	mail_params_free(&d->disposition_params);
	if (d->language != NULL) {
		for (char **l = d->language; *l != NULL; l++)
			free(*l);
		free(d->language);
	}
}

static void write_params(struct buf *out, const struct mail_params *params,
			 bool default_charset)
{
	bool seen_charset = false;

	if (!default_charset && params->count == 0) {
		(void)buf_append_str(out, "NIL");
		return;
	}
	(void)buf_append_c(out, '(');
	for (unsigned int i = 0; i < params->count; i++) {
		if (i > 0)
			(void)buf_append_c(out, ' ');
		if (strcasecmp(params->v[i].name, "charset") == 0)
			seen_charset = true;
		imap_append_nstring(out, params->v[i].name);
		(void)buf_append_c(out, ' ');
		imap_append_nstring(out, params->v[i].value);
	}
	if (default_charset && !seen_charset) {
		if (params->count > 0)
			(void)buf_append_c(out, ' ');
		(void)buf_append_str(out, "\"charset\" \"us-ascii\"");
	}
	(void)buf_append_c(out, ')');
}

static void write_common_ext(struct buf *out, const struct part_data *d)
{
	(void)buf_append_c(out, ' ');
	if (d->disposition == NULL) {
		(void)buf_append_str(out, "NIL");
	} else {
		(void)buf_append_c(out, '(');
		imap_append_nstring(out, d->disposition);
		(void)buf_append_c(out, ' ');
		write_params(out, &d->disposition_params, false);
		(void)buf_append_c(out, ')');
	}
	(void)buf_append_c(out, ' ');
	if (d->language == NULL) {
		(void)buf_append_str(out, "NIL");
	} else {
		(void)buf_append_c(out, '(');
		for (char **l = d->language; *l != NULL; l++) {
			if (l != d->language)
				(void)buf_append_c(out, ' ');
			imap_append_nstring(out, *l);
		}
		(void)buf_append_c(out, ')');
	}
	(void)buf_append_c(out, ' ');
	imap_append_nstring_nolf(out, d->location);
}

static void write_part(const void *msg, size_t msg_size,
		       const struct mail_part *part, bool extended,
		       struct buf *out, unsigned int depth);

static void write_multipart(const void *msg, size_t msg_size,
			    const struct mail_part *part,
			    const struct part_data *d, bool extended,
			    struct buf *out, unsigned int depth)
{
	if (part->children == NULL) {
		/* a multipart must have parts: show one empty text/plain */
		(void)buf_append_str(out, EMPTY_BODY);
		(void)buf_append_str(out, extended ? " NIL NIL NIL NIL)" :
				     ")");
	}
	for (const struct mail_part *c = part->children; c != NULL;
	     c = c->next)
		write_part(msg, msg_size, c, extended, out, depth + 1);
	(void)buf_append_c(out, ' ');
	imap_append_nstring(out, d->subtype != NULL ? d->subtype : "");
	if (!extended)
		return;
	(void)buf_append_c(out, ' ');
	write_params(out, &d->params, false);
	write_common_ext(out, d);
}

static void write_single(const void *msg, size_t msg_size,
			 const struct mail_part *part,
			 const struct part_data *d, bool extended,
			 struct buf *out, unsigned int depth)
{
	bool text, rfc822 = (part->flags & MAIL_PART_MESSAGE_RFC822) != 0;

	if (!d->has_type) {
		text = !rfc822;
		(void)buf_append_str(out, rfc822 ? "\"message\" \"rfc822\"" :
				     "\"text\" \"plain\"");
	} else {
		text = strcasecmp(d->type, "text") == 0;
		imap_append_nstring(out, d->type);
		(void)buf_append_c(out, ' ');
		imap_append_nstring(out, d->subtype != NULL ? d->subtype : "");
	}
	(void)buf_append_c(out, ' ');
	write_params(out, &d->params, text);
	(void)buf_append_c(out, ' ');
	imap_append_nstring_nolf(out, d->id);
	(void)buf_append_c(out, ' ');
	imap_append_nstring_nolf(out, d->description);
	(void)buf_append_c(out, ' ');
	imap_append_nstring(out, d->encoding != NULL ? d->encoding : "7bit");
	(void)buf_printf(out, " %llu", (unsigned long long)part->body.virtual);
	if (text) {
		(void)buf_printf(out, " %llu",
				 (unsigned long long)part->body.lines);
	} else if (rfc822) {
		(void)buf_append_c(out, ' ');
		if (part->children != NULL) {
			mail_imap_envelope(msg, msg_size, part->children, out);
			(void)buf_append_c(out, ' ');
			write_part(msg, msg_size, part->children, extended,
				   out, depth + 1);
		} else {
			/* limits hit: an empty message keeps the syntax */
			(void)buf_append_str(out, EMPTY_ENVELOPE " " EMPTY_BODY);
			(void)buf_append_str(out, extended ?
					     " NIL NIL NIL NIL)" : ")");
		}
		(void)buf_printf(out, " %llu",
				 (unsigned long long)part->body.lines);
	}
	if (!extended)
		return;
	(void)buf_append_c(out, ' ');
	imap_append_nstring_nolf(out, d->md5);
	write_common_ext(out, d);
}

static void write_part(const void *msg, size_t msg_size,
		       const struct mail_part *part, bool extended,
		       struct buf *out, unsigned int depth)
{
	struct part_data d;

	(void)depth;
	part_data_parse(msg, msg_size, part, &d);
	(void)buf_append_c(out, '(');
	if ((part->flags & MAIL_PART_MULTIPART) != 0)
		write_multipart(msg, msg_size, part, &d, extended, out, depth);
	else
		write_single(msg, msg_size, part, &d, extended, out, depth);
	(void)buf_append_c(out, ')');
	part_data_free(&d);
}

void mail_imap_bodystructure(const void *msg, size_t msg_size,
			     const struct mail_part *part, bool extended,
			     struct buf *out)
{
	write_part(msg, msg_size, part, extended, out, 0);
}
