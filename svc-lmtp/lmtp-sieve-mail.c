/* Building the mail Sieve sends (see lmtp-sieve-mail.h). */
#include "lmtp-sieve-mail.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "mail-header.h"

#define LMTP_SIEVE_EW_CHUNK 45	/* bytes per encoded word: 60 base64 chars */

/* A header value on one line: CR, LF and other controls become spaces. */
static void lmtp_sieve_put_line(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		buf_append_c(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
}

static bool lmtp_sieve_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
	}
	return true;
}

/* RFC 2047 B-encoded words for a non-ASCII value, split on UTF-8
 * character boundaries, folded between words. */
static void lmtp_sieve_put_encoded(struct buf *out, const char *s)
{
	struct buf line = BUF_INIT;
	lmtp_sieve_put_line(&line, s);
	const char *p = line.data != NULL ? line.data : "";
	size_t len = line.len;
	bool first = true;
	while (len > 0) {
		size_t n = len < LMTP_SIEVE_EW_CHUNK ? len : LMTP_SIEVE_EW_CHUNK;
		while (n < len && n > 1 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;
		unsigned char enc[4 * LMTP_SIEVE_EW_CHUNK / 3 + 8];
		EVP_EncodeBlock(enc, (const unsigned char *)p, (int)n);
		buf_printf(out, "%s=?utf-8?B?%s?=", first ? "" : "\r\n ", enc);
		first = false;
		p += n;
		len -= n;
	}
	buf_free(&line);
}

static void lmtp_sieve_header(struct buf *out, const char *name,
			      const char *value)
{
	buf_printf(out, "%s: ", name);
	if (lmtp_sieve_ascii(value))
		lmtp_sieve_put_line(out, value);
	else
		lmtp_sieve_put_encoded(out, value);
	buf_append(out, "\r\n", 2);
}

static void lmtp_sieve_date(struct buf *out, time_t now)
{
	struct tm tm;
	char date[64];
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	buf_printf(out, "Date: %s\r\n", date);
}

static uint64_t lmtp_sieve_random(void)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r ^= (uint64_t)(uintptr_t)&r;
	return r;
}

static void lmtp_sieve_message_id(struct buf *out,
				  const struct lmtp_sieve_orig *o)
{
	buf_printf(out, "Message-ID: <stratus-sieve.%" PRId64 ".%016" PRIx64
		   "@%s>\r\n", (int64_t)o->now, lmtp_sieve_random(),
		   o->hostname);
}

/* The original's header value (unfolded) or NULL; malloc'd. */
static char *lmtp_sieve_orig_header(const struct lmtp_sieve_orig *o,
				    const char *name, unsigned int index)
{
	struct buf v = BUF_INIT;
	if (!mail_header_get(o->data, o->body_off, name, index, &v)) {
		buf_free(&v);
		return NULL;
	}
	return v.data != NULL ? buf_steal(&v) : xstrdup("");
}

/* "<a@b>" and " a@b " are the same address here. */
static bool lmtp_sieve_same_address(const char *value, const char *addr)
{
	while (*value == ' ' || *value == '<')
		value++;
	size_t n = strlen(addr);
	if (strncasecmp(value, addr, n) != 0)
		return false;
	value += n;
	while (*value == ' ' || *value == '>')
		value++;
	return *value == '\0';
}

const char *lmtp_sieve_redirect_loop(const struct lmtp_sieve_orig *o)
{
	static const char *const names[] = {
		"X-Sieve-Redirected-From", "X-Sieve-Redirected-By", NULL
	};
	for (size_t i = 0; names[i] != NULL; i++) {
		char *v;
		for (unsigned int k = 0;
		     (v = lmtp_sieve_orig_header(o, names[i], k)) != NULL; k++) {
			bool loop = lmtp_sieve_same_address(v, o->rcpt);
			free(v);
			if (loop)
				return "the message was redirected by this "
				       "recipient before";
		}
	}
	struct mail_header_iter iter;
	struct mail_header_field f;
	unsigned int n = 0;
	mail_header_iter_init(&iter, o->data, o->body_off);
	while (mail_header_iter_next(&iter, &f)) {
		if (mail_header_name_is(&f, "Delivered-To"))
			n++;
	}
	return n > LMTP_SIEVE_MAX_DELIVERED_TO ?
		"the message has too many Delivered-To fields" : NULL;
}

void lmtp_sieve_redirect_build(const struct lmtp_sieve_orig *o,
			       struct buf *out)
{
	buf_append_str(out, "X-Sieve-Redirected-From: <");
	lmtp_sieve_put_line(out, o->rcpt);
	buf_append_str(out, ">\r\n");
	buf_append(out, o->data, o->size);
}

void lmtp_sieve_vacation_build(const struct lmtp_sieve_orig *o,
			       const struct sieve_vacation_reply *v,
			       struct buf *out)
{
	const char *from = v->from != NULL && *v->from != '\0' ? v->from :
		o->rcpt;
	lmtp_sieve_header(out, "From", from);
	buf_append_str(out, "To: <");
	lmtp_sieve_put_line(out, v->to);
	buf_append_str(out, ">\r\n");
	lmtp_sieve_header(out, "Subject", v->subject != NULL ? v->subject :
			  "Automated reply");
	lmtp_sieve_date(out, o->now);
	lmtp_sieve_message_id(out, o);
	if (v->in_reply_to != NULL && *v->in_reply_to != '\0') {
		lmtp_sieve_header(out, "In-Reply-To", v->in_reply_to);
		lmtp_sieve_header(out, "References", v->in_reply_to);
	}
	/* RFC 3834 3.1.7 and 5; Precedence for older list software */
	buf_append_str(out, "Auto-Submitted: auto-replied (vacation)\r\n"
		       "Precedence: bulk\r\n"
		       "X-Auto-Response-Suppress: All\r\n"
		       "MIME-Version: 1.0\r\n");
	const char *reason = v->reason != NULL ? v->reason : "";
	if (v->mime) {
		/* :mime: the reason is a MIME entity, headers included */
		buf_append_str(out, reason);
		return;
	}
	buf_append_str(out, "Content-Type: text/plain; charset=utf-8\r\n"
		       "Content-Transfer-Encoding: 8bit\r\n\r\n");
	buf_append_str(out, reason);
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		buf_append(out, "\r\n", 2);
}

/* rejection_subject / rejection_reason: %s subject, %t recipient, %n
 * newline, %r reason, %% percent. */
static void lmtp_sieve_expand(struct buf *out, const char *tmpl,
			      const char *subject, const char *rcpt,
			      const char *reason)
{
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '\0') {
			buf_append_c(out, *p);
			continue;
		}
		switch (*++p) {
		case 's': buf_append_str(out, subject); break;
		case 't': buf_append_str(out, rcpt); break;
		case 'n': buf_append(out, "\r\n", 2); break;
		case 'r': buf_append_str(out, reason); break;
		case '%': buf_append_c(out, '%'); break;
		default: buf_append_c(out, '%'); buf_append_c(out, *p); break;
		}
	}
}

static void lmtp_sieve_mdn_headers(const struct lmtp_sieve_orig *o,
				   const struct lmtp_sieve_mdn_settings *set,
				   const char *boundary, struct buf *out)
{
	char *subject = lmtp_sieve_orig_header(o, "Subject", 0);
	struct buf s = BUF_INIT;
	lmtp_sieve_expand(&s, set->subject, subject != NULL ? subject : "",
			  o->rcpt, "");
	free(subject);
	lmtp_sieve_header(out, "From", set->postmaster);
	buf_append_str(out, "To: <");
	lmtp_sieve_put_line(out, o->mail_from);
	buf_append_str(out, ">\r\n");
	lmtp_sieve_header(out, "Subject", s.data != NULL ? s.data : "");
	buf_free(&s);
	lmtp_sieve_date(out, o->now);
	lmtp_sieve_message_id(out, o);
	if (o->msgid != NULL)
		lmtp_sieve_header(out, "In-Reply-To", o->msgid);
	buf_printf(out, "Auto-Submitted: auto-replied (rejected)\r\n"
		   "Precedence: bulk\r\n"
		   "MIME-Version: 1.0\r\n"
		   "Content-Type: multipart/report; "
		   "report-type=disposition-notification;\r\n"
		   "\tboundary=\"%s\"\r\n\r\n"
		   "This is a MIME-encapsulated message.\r\n\r\n", boundary);
}

void lmtp_sieve_mdn_build(const struct lmtp_sieve_orig *o,
			  const struct lmtp_sieve_mdn_settings *set,
			  const char *reason, struct buf *out)
{
	char boundary[64];
	snprintf(boundary, sizeof(boundary), "%016" PRIx64 "/%s",
		 lmtp_sieve_random(), o->hostname);
	boundary[strcspn(boundary, "\"\r\n")] = '\0';
	lmtp_sieve_mdn_headers(o, set, boundary, out);
	/* 1: the human-readable part */
	buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		   "Content-Disposition: inline\r\n"
		   "Content-Transfer-Encoding: 8bit\r\n\r\n", boundary);
	lmtp_sieve_expand(out, set->reason, "", o->rcpt, reason);
	buf_append(out, "\r\n\r\n", 4);
	/* 2: the disposition notification (RFC 8098 3.2.6, RFC 5429 2.1) */
	buf_printf(out, "--%s\r\nContent-Type: message/disposition-notification"
		   "\r\n\r\nReporting-UA: %s; Stratus LMTP\r\n", boundary,
		   o->hostname);
	if (o->orcpt != NULL) {
		buf_append_str(out, "Original-Recipient: rfc822; ");
		lmtp_sieve_put_line(out, o->orcpt);
		buf_append(out, "\r\n", 2);
	}
	buf_append_str(out, "Final-Recipient: rfc822; ");
	lmtp_sieve_put_line(out, o->rcpt);
	buf_append(out, "\r\n", 2);
	if (o->msgid != NULL)
		lmtp_sieve_header(out, "Original-Message-ID", o->msgid);
	buf_append_str(out, "Disposition: automatic-action/"
		       "MDN-sent-automatically; deleted\r\n\r\n");
	/* 3: the rejected message itself */
	buf_printf(out, "--%s\r\nContent-Type: message/rfc822\r\n\r\n",
		   boundary);
	buf_append(out, o->data, o->size);
	if (o->size > 0 && o->data[o->size - 1] != '\n')
		buf_append(out, "\r\n", 2);
	buf_printf(out, "\r\n--%s--\r\n", boundary);
}

char *lmtp_sieve_postmaster(const char *tmpl, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	const char *domain = at != NULL ? at + 1 : "";
	struct buf out = BUF_INIT;
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'd') {
			buf_append_str(&out, domain);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			buf_append_c(&out, '%');
			p++;
		} else {
			buf_append_c(&out, *p);
		}
	}
	return out.data != NULL ? buf_steal(&out) : xstrdup("");
}
