/* mail_log settings and lines: defaults, unknown names, Dovecot's field
 * order, header decoding and sanitizing, mailbox events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail-log.h"

static void check_line(const struct mail_log_settings *set, const char *event,
		       const struct mail_log_mail *m, const char *expect)
{
	struct buf out = BUF_INIT;
	mail_log_format(set, event, m, &out);
	assert_string_equal(out.data, expect);
	buf_free(&out);
}

static void test_defaults(void **state)
{
	(void)state;
	struct mail_log_settings set;
	char *error = NULL;
	assert_int_equal(mail_log_settings_parse(NULL, "", &set, &error), 0);
	assert_true((set.events & MAIL_LOG_EVENT_SAVE) != 0);
	assert_true((set.events & MAIL_LOG_EVENT_FLAG_CHANGE) == 0);
	assert_true((set.events & MAIL_LOG_EVENT_MAILBOX_CREATE) == 0);
	assert_int_equal(set.fields, MAIL_LOG_FIELD_UID | MAIL_LOG_FIELD_BOX |
			 MAIL_LOG_FIELD_MSGID | MAIL_LOG_FIELD_SIZE);
}

static void test_lists_and_unknown_names(void **state)
{
	(void)state;
	struct mail_log_settings set;
	char *error = NULL;
	assert_int_equal(mail_log_settings_parse(
		"delete, expunge  append\tmailbox_create", "subject,uid",
		&set, &error), 0);
	assert_int_equal(set.events, MAIL_LOG_EVENT_DELETE |
			 MAIL_LOG_EVENT_EXPUNGE | MAIL_LOG_EVENT_SAVE |
			 MAIL_LOG_EVENT_MAILBOX_CREATE);
	assert_int_equal(set.fields, MAIL_LOG_FIELD_SUBJECT |
			 MAIL_LOG_FIELD_UID);
	assert_int_equal(mail_log_settings_parse("delete expunged", NULL, &set,
						 &error), -1);
	assert_string_equal(error, "Unknown name in mail_log_events: "
			    "'expunged'");
	free(error);
	assert_int_equal(mail_log_settings_parse(NULL, "uid bytes", &set,
						 &error), -1);
	assert_string_equal(error, "Unknown name in mail_log_fields: 'bytes'");
	free(error);
}

static void test_field_order_is_dovecots(void **state)
{
	(void)state;
	struct mail_log_settings set;
	char *error = NULL;
	assert_int_equal(mail_log_settings_parse(
		NULL, "flags subject from vsize size msgid box uid", &set,
		&error), 0);
	const char *flags[] = { "\\Seen", "\\Deleted", "$Label1" };
	struct mail_log_mail m = {
		.box = "INBOX", .uid = 5, .msgid = "<a@b>",
		.from = "Alice <a@example.org>", .subject = "hi",
		.size = 1234, .vsize = 1260, .flags = flags, .n_flags = 3,
	};
	check_line(&set, "expunge", &m, "expunge: box=INBOX, uid=5, "
		   "msgid=<a@b>, size=1234, vsize=1260, "
		   "from=Alice <a@example.org>, subject=hi, "
		   "flags=(\\Seen \\Deleted $Label1)");
	set.fields = MAIL_LOG_FIELD_UID | MAIL_LOG_FIELD_MSGID;
	m.msgid = NULL;
	m.uid = 0;
	check_line(&set, "save", &m, "save: uid=error, msgid=");
	set.fields = 0;
	check_line(&set, "delete", &m, "delete");
}

static void test_headers_decoded_and_sanitized(void **state)
{
	(void)state;
	struct mail_log_settings set = {
		.events = 0,
		.fields = MAIL_LOG_FIELD_SUBJECT | MAIL_LOG_FIELD_FROM,
	};
	/* the first occurrence only (the cache keeps them one per line,
	 * unfolded), RFC 2047 decoded, control characters as '?' */
	struct mail_log_mail m = {
		.subject = " =?UTF-8?Q?caf=C3=A9?=\tnoir\r\nother",
		.from = "evil\x01\x7f",
	};
	check_line(&set, "copy from Trash", &m, "copy from Trash: "
		   "from=evil??, subject=caf\xc3\xa9?noir");
	char longs[200];
	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	m.subject = longs;
	m.from = NULL;
	struct buf out = BUF_INIT;
	mail_log_format(&set, "e", &m, &out);
	assert_string_equal(out.data + strlen("e: from=, subject=") + 77,
			    "...");
	buf_free(&out);
}

static void test_mailbox_events(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	mail_log_format_mailbox(MAIL_LOG_EVENT_MAILBOX_CREATE, "Work/Ünï",
				NULL, &out);
	assert_string_equal(out.data, "Mailbox created: Work/Ünï");
	buf_reset(&out);
	mail_log_format_mailbox(MAIL_LOG_EVENT_MAILBOX_RENAME, "a", "b", &out);
	assert_string_equal(out.data, "Mailbox renamed: a -> b");
	buf_reset(&out);
	mail_log_copy_event("Sent", &out);
	assert_string_equal(out.data, "copy from Sent");
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_lists_and_unknown_names),
		cmocka_unit_test(test_field_order_is_dovecots),
		cmocka_unit_test(test_headers_decoded_and_sanitized),
		cmocka_unit_test(test_mailbox_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
