/* mail_log's settings and line format (see mail-log.h). */
#include "mail-log.h"
#include "mail-decode.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAIL_LOG_BOX_MAX 64
#define MAIL_LOG_HEADER_MAX 80

static const char *const event_names[] = {
	"delete", "undelete", "expunge", "save", "copy", "mailbox_create",
	"mailbox_delete", "mailbox_rename", "flag_change", NULL
};
static const char *const field_names[] = {
	"uid", "box", "msgid", "size", "vsize", "flags", "from", "subject",
	NULL
};

#define MAIL_LOG_DEFAULT_EVENTS \
	(MAIL_LOG_EVENT_DELETE | MAIL_LOG_EVENT_UNDELETE | \
	 MAIL_LOG_EVENT_EXPUNGE | MAIL_LOG_EVENT_SAVE | MAIL_LOG_EVENT_COPY | \
	 MAIL_LOG_EVENT_MAILBOX_DELETE | MAIL_LOG_EVENT_MAILBOX_RENAME)
#define MAIL_LOG_DEFAULT_FIELDS \
	(MAIL_LOG_FIELD_UID | MAIL_LOG_FIELD_BOX | MAIL_LOG_FIELD_MSGID | \
	 MAIL_LOG_FIELD_SIZE)

static unsigned int name_bit(const char *const *names, const char *s,
			     size_t n)
{
	for (unsigned int i = 0; names[i] != NULL; i++) {
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
			return 1u << i;
	}
	return 0;
}

static int parse_list(const char *value, const char *const *names,
		      const char *setting, unsigned int *bits_r,
		      char **error_r)
{
	const char *p = value;
	*bits_r = 0;
	while (*p != '\0') {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, " \t,");
		if (n == 0)
			break;
		unsigned int bit = name_bit(names, p, n);
		if (bit == 0 && names == event_names && n == 6 &&
		    memcmp(p, "append", 6) == 0)
			bit = MAIL_LOG_EVENT_SAVE;	/* Dovecot v1 name */
		if (bit == 0) {
			struct buf e = BUF_INIT;
			buf_printf(&e, "Unknown name in %s: '", setting);
			buf_append(&e, p, n);
			buf_append_c(&e, '\'');
			*error_r = buf_steal(&e);
			return -1;
		}
		*bits_r |= bit;
		p += n;
	}
	return 0;
}

int mail_log_settings_parse(const char *events, const char *fields,
			    struct mail_log_settings *set_r, char **error_r)
{
	set_r->events = MAIL_LOG_DEFAULT_EVENTS;
	set_r->fields = MAIL_LOG_DEFAULT_FIELDS;
	if (events != NULL && events[strspn(events, " \t,")] != '\0' &&
	    parse_list(events, event_names, "mail_log_events",
		       &set_r->events, error_r) < 0)
		return -1;
	if (fields != NULL && fields[strspn(fields, " \t,")] != '\0' &&
	    parse_list(fields, field_names, "mail_log_fields",
		       &set_r->fields, error_r) < 0)
		return -1;
	return 0;
}

/* Control characters to '?', cut at max bytes (on a UTF-8 character
 * boundary) with "..." appended. */
static void append_sanitized(struct buf *out, const char *s, size_t len,
			     size_t max)
{
	size_t n = len;
	bool cut = false;
	if (n > max) {
		n = max - 3;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		cut = true;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		buf_append_c(out, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
	if (cut)
		buf_append_str(out, "...");
}

/* A header value as Dovecot logs it: the first line of what was cached
 * (occurrences are newline-separated), unfolded, RFC 2047 decoded. */
static void append_header(struct buf *out, const char *name,
			  const char *value)
{
	struct buf raw = BUF_INIT, dec = BUF_INIT;
	if (value != NULL) {
		size_t n = strcspn(value, "\n");
		for (size_t i = 0; i < n; i++) {
			if (value[i] != '\r')
				buf_append_c(&raw, value[i]);
		}
		size_t start = 0;
		while (start < raw.len && (raw.data[start] == ' ' ||
					   raw.data[start] == '\t'))
			start++;
		if (raw.len > start)
			mail_decode_rfc2047(raw.data + start, raw.len - start,
					    &dec);
	}
	buf_printf(out, "%s=", name);
	append_sanitized(out, dec.data != NULL ? dec.data : "", dec.len,
			 MAIL_LOG_HEADER_MAX);
	buf_free(&raw);
	buf_free(&dec);
}

static void append_box(struct buf *out, const char *box)
{
	if (box == NULL)
		box = "";
	append_sanitized(out, box, strlen(box), MAIL_LOG_BOX_MAX);
}

void mail_log_format(const struct mail_log_settings *set, const char *event,
		     const struct mail_log_mail *m, struct buf *out)
{
	unsigned int f = set->fields;
	const char *sep = "";
	buf_printf(out, "%s: ", event);
	if ((f & MAIL_LOG_FIELD_BOX) != 0) {
		buf_append_str(out, "box=");
		append_box(out, m->box);
		sep = ", ";
	}
	if ((f & MAIL_LOG_FIELD_UID) != 0) {
		if (m->uid != 0)
			buf_printf(out, "%suid=%u", sep, m->uid);
		else
			buf_printf(out, "%suid=error", sep);
		sep = ", ";
	}
	if ((f & MAIL_LOG_FIELD_MSGID) != 0) {
		buf_append_str(out, sep);
		append_header(out, "msgid", m->msgid);
		sep = ", ";
	}
	if ((f & MAIL_LOG_FIELD_SIZE) != 0) {
		buf_printf(out, "%ssize=%llu", sep,
			   (unsigned long long)m->size);
		sep = ", ";
	}
	if ((f & MAIL_LOG_FIELD_VSIZE) != 0) {
		buf_printf(out, "%svsize=%llu", sep,
			   (unsigned long long)m->vsize);
		sep = ", ";
	}
	if ((f & MAIL_LOG_FIELD_FROM) != 0) {
		buf_append_str(out, sep);
		append_header(out, "from", m->from);
		sep = ", ";
	}
	if ((f & MAIL_LOG_FIELD_SUBJECT) != 0) {
		buf_append_str(out, sep);
		append_header(out, "subject", m->subject);
		sep = ", ";
	}
	if ((f & MAIL_LOG_FIELD_FLAGS) != 0) {
		buf_printf(out, "%sflags=(", sep);
		for (size_t i = 0; i < m->n_flags; i++)
			buf_printf(out, "%s%s", i > 0 ? " " : "", m->flags[i]);
		buf_append_c(out, ')');
	}
	if (out->data != NULL && out->len >= 2 &&
	    strcmp(out->data + out->len - 2, ": ") == 0) {
		out->len -= 2;		/* no field at all */
		out->data[out->len] = '\0';
	}
}

void mail_log_copy_event(const char *src_box, struct buf *out)
{
	buf_append_str(out, "copy from ");
	append_box(out, src_box);
}

void mail_log_format_mailbox(enum mail_log_event event, const char *box,
			     const char *new_box, struct buf *out)
{
	switch (event) {
	case MAIL_LOG_EVENT_MAILBOX_CREATE:
		buf_append_str(out, "Mailbox created: ");
		break;
	case MAIL_LOG_EVENT_MAILBOX_DELETE:
		buf_append_str(out, "Mailbox deleted: ");
		break;
	default:
		buf_append_str(out, "Mailbox renamed: ");
		append_box(out, box);
		buf_append_str(out, " -> ");
		append_box(out, new_box);
		return;
	}
	append_box(out, box);
}
