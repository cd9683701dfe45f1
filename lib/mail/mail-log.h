/* mail_log, as Dovecot's plugin of that name: which mail events a session
 * logs (mail_log_events) and with which fields (mail_log_fields), and the
 * one line format every service writes for them, e.g.
 *   "expunge: box=INBOX, uid=5, msgid=<a@b>, size=1234"
 * Fields always come in Dovecot's order (box uid msgid size vsize from
 * subject flags), whatever order the setting lists them in. The caller
 * adds its mail_log_prefix through lib/core/log. Pure formatting: no I/O. */
#ifndef STRATUS_MAIL_LOG_H
#define STRATUS_MAIL_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum mail_log_event {
	MAIL_LOG_EVENT_DELETE = 0x01,
	MAIL_LOG_EVENT_UNDELETE = 0x02,
	MAIL_LOG_EVENT_EXPUNGE = 0x04,
	MAIL_LOG_EVENT_SAVE = 0x08,
	MAIL_LOG_EVENT_COPY = 0x10,
	MAIL_LOG_EVENT_MAILBOX_CREATE = 0x20,
	MAIL_LOG_EVENT_MAILBOX_DELETE = 0x40,
	MAIL_LOG_EVENT_MAILBOX_RENAME = 0x80,
	MAIL_LOG_EVENT_FLAG_CHANGE = 0x100,
};

enum mail_log_field {
	MAIL_LOG_FIELD_UID = 0x01,
	MAIL_LOG_FIELD_BOX = 0x02,
	MAIL_LOG_FIELD_MSGID = 0x04,
	MAIL_LOG_FIELD_SIZE = 0x08,
	MAIL_LOG_FIELD_VSIZE = 0x10,
	MAIL_LOG_FIELD_FLAGS = 0x20,
	MAIL_LOG_FIELD_FROM = 0x40,
	MAIL_LOG_FIELD_SUBJECT = 0x80,
};

/* Header fields need the message's headers (cached or parsed). */
#define MAIL_LOG_HEADER_FIELDS \
	(MAIL_LOG_FIELD_MSGID | MAIL_LOG_FIELD_FROM | MAIL_LOG_FIELD_SUBJECT)

struct mail_log_settings {
	unsigned int events;	/* enum mail_log_event bits */
	unsigned int fields;	/* enum mail_log_field bits */
};

/* Reads plugin/mail_log_events and mail_log_fields (space- or
 * comma-separated; NULL or empty = Dovecot's defaults: events delete
 * undelete expunge save copy mailbox_delete mailbox_rename, fields uid box
 * msgid size; "append" is read as "save"). Returns 0, or -1 with
 * *error_r (heap, caller frees) naming an unknown event or field. */
int mail_log_settings_parse(const char *events, const char *fields,
			    struct mail_log_settings *set_r, char **error_r);

/* One message's facts for a line; NULL strings are logged empty. */
struct mail_log_mail {
	const char *box;	/* the mailbox name as users see it (UTF-8) */
	uint32_t uid;		/* 0 = unknown: "uid=error" */
	const char *msgid, *from, *subject;	/* raw header values */
	uint64_t size, vsize;
	const char *const *flags;	/* after the event */
	size_t n_flags;
};

/* Appends "<event>: box=.., uid=.., ..." for the settings' fields.
 * Header values are RFC 2047-decoded, folded to one line, control
 * characters become '?', and long values are cut (80 bytes for headers,
 * 64 for mailbox names) with "...", as Dovecot does. */
void mail_log_format(const struct mail_log_settings *set, const char *event,
		     const struct mail_log_mail *mail, struct buf *out);

/* "copy from <box>" (the box sanitized as in lines). */
void mail_log_copy_event(const char *src_box, struct buf *out);

/* "Mailbox created: X", "Mailbox deleted: X", "Mailbox renamed: X -> Y"
 * for MAIL_LOG_EVENT_MAILBOX_*; new_box only for a rename. */
void mail_log_format_mailbox(enum mail_log_event event, const char *box,
			     const char *new_box, struct buf *out);

#endif
