/* The mail Sieve sends (lmtp-sieve-mail.c) and the tracking store's
 * encoding (lmtp-sieve-tracking.c): headers, MDN structure, loop checks,
 * header injection, expiry and the skip rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lmtp-sieve-mail.h"
#include "lmtp-sieve-tracking.h"

static const char orig_msg[] =
	"From: a@example.org\r\nTo: user1@example.com\r\n"
	"Subject: hello\r\nMessage-ID: <m1@example.org>\r\n\r\nbody\r\n";

static void orig_init(struct lmtp_sieve_orig *o, const char *data)
{
	memset(o, 0, sizeof(*o));
	o->data = data;
	o->size = strlen(data);
	const char *end = strstr(data, "\r\n\r\n");
	o->body_off = end != NULL ? (size_t)(end - data) + 2 : o->size;
	o->mail_from = "a@example.org";
	o->rcpt = "user1@example.com";
	o->msgid = "<m1@example.org>";
	o->hostname = "lmtp.example.com";
	o->now = 1700000000;
}

static void test_redirect_adds_header_first(void **state)
{
	(void)state;
	struct lmtp_sieve_orig o;
	struct buf out = BUF_INIT;
	orig_init(&o, orig_msg);
	assert_null(lmtp_sieve_redirect_loop(&o));
	lmtp_sieve_redirect_build(&o, &out);
	assert_memory_equal(out.data, "X-Sieve-Redirected-From: "
			    "<user1@example.com>\r\nFrom: a@example.org", 61);
	assert_string_equal(out.data + out.len - strlen(orig_msg), orig_msg);
	buf_free(&out);
}

static void test_redirect_loops(void **state)
{
	(void)state;
	struct lmtp_sieve_orig o;
	orig_init(&o, "X-Sieve-Redirected-From: <USER1@example.com>\r\n"
		  "Subject: x\r\n\r\nb\r\n");
	assert_non_null(lmtp_sieve_redirect_loop(&o));
	orig_init(&o, "X-Sieve-Redirected-By: user1@example.com\r\n\r\nb\r\n");
	assert_non_null(lmtp_sieve_redirect_loop(&o));
	orig_init(&o, "X-Sieve-Redirected-From: <other@example.com>\r\n\r\nb\r\n");
	assert_null(lmtp_sieve_redirect_loop(&o));
	struct buf many = BUF_INIT;
	for (int i = 0; i <= LMTP_SIEVE_MAX_DELIVERED_TO; i++)
		buf_printf(&many, "Delivered-To: hop%d@example.net\r\n", i);
	buf_append_str(&many, "\r\nbody\r\n");
	orig_init(&o, many.data);
	assert_non_null(lmtp_sieve_redirect_loop(&o));
	buf_free(&many);
}

static void test_vacation_headers(void **state)
{
	(void)state;
	struct lmtp_sieve_orig o;
	struct buf out = BUF_INIT;
	orig_init(&o, orig_msg);
	struct sieve_vacation_reply v = {
		.to = "a@example.org",
		.subject = "Re: x\r\nBcc: victim@example.net",
		.reason = "away",
		.in_reply_to = "<m1@example.org>",
	};
	lmtp_sieve_vacation_build(&o, &v, &out);
	assert_non_null(strstr(out.data, "From: user1@example.com\r\n"));
	assert_non_null(strstr(out.data, "To: <a@example.org>\r\n"));
	/* a newline in the subject cannot start a header */
	assert_non_null(strstr(out.data, "Subject: Re: x  Bcc: victim@"));
	assert_null(strstr(out.data, "\r\nBcc:"));
	assert_non_null(strstr(out.data, "In-Reply-To: <m1@example.org>\r\n"));
	assert_non_null(strstr(out.data, "Auto-Submitted: auto-replied "
			       "(vacation)\r\n"));
	assert_non_null(strstr(out.data, "\r\n\r\naway\r\n"));
	buf_free(&out);
	/* :from, UTF-8 subject, :mime */
	v.from = "me@example.com";
	v.subject = "Abwesenheit f\xc3\xbcr heute";
	v.reason = "Content-Type: text/plain\r\n\r\nweg\r\n";
	v.mime = true;
	lmtp_sieve_vacation_build(&o, &v, &out);
	assert_non_null(strstr(out.data, "From: me@example.com\r\n"));
	assert_non_null(strstr(out.data, "Subject: =?utf-8?B?"));
	assert_non_null(strstr(out.data, "MIME-Version: 1.0\r\nContent-Type: "
			       "text/plain\r\n\r\nweg\r\n"));
	buf_free(&out);
}

static void test_mdn_structure(void **state)
{
	(void)state;
	struct lmtp_sieve_orig o;
	struct buf out = BUF_INIT;
	orig_init(&o, orig_msg);
	o.orcpt = "alias@example.com";
	char *pm = lmtp_sieve_postmaster("postmaster@%d", o.rcpt);
	assert_string_equal(pm, "postmaster@example.com");
	struct lmtp_sieve_mdn_settings set = {
		.postmaster = pm,
		.subject = "Rejected: %s",
		.reason = "Your message to <%t> was automatically rejected:%n%r",
	};
	lmtp_sieve_mdn_build(&o, &set, "go away", &out);
	const char *m = out.data;
	assert_non_null(strstr(m, "From: postmaster@example.com\r\n"));
	assert_non_null(strstr(m, "To: <a@example.org>\r\n"));
	assert_non_null(strstr(m, "Subject: Rejected: hello\r\n"));
	assert_non_null(strstr(m, "Content-Type: multipart/report; "
			       "report-type=disposition-notification;"));
	assert_non_null(strstr(m, "Your message to <user1@example.com> was "
			       "automatically rejected:\r\ngo away"));
	const char *dn = strstr(m, "Content-Type: message/disposition-"
				"notification\r\n\r\n");
	assert_non_null(dn);
	assert_non_null(strstr(dn, "Reporting-UA: lmtp.example.com; "));
	assert_non_null(strstr(dn, "Original-Recipient: rfc822; "
			       "alias@example.com\r\n"));
	assert_non_null(strstr(dn, "Final-Recipient: rfc822; "
			       "user1@example.com\r\n"));
	assert_non_null(strstr(dn, "Original-Message-ID: <m1@example.org>\r\n"));
	assert_non_null(strstr(dn, "Disposition: automatic-action/"
			       "MDN-sent-automatically; deleted\r\n"));
	const char *orig = strstr(dn, "Content-Type: message/rfc822\r\n\r\n");
	assert_non_null(orig);
	assert_non_null(strstr(orig, orig_msg));
	assert_non_null(strstr(orig, "--\r\n"));	/* closing boundary */
	free(pm);
	buf_free(&out);
	pm = lmtp_sieve_postmaster("%%x-%d", "nodomain");
	assert_string_equal(pm, "%x-");
	free(pm);
}

static void test_tracking_roundtrip_and_expiry(void **state)
{
	(void)state;
	struct lmtp_sieve_tracking *tr = lmtp_sieve_tracking_new();
	const char *stored = "2000 vacation/aa/old@example.org\n"
			     "5000 vacation/bb/new@example.org\n"
			     "garbage line\n"
			     "6000 \n";
	lmtp_sieve_tracking_load(tr, stored, strlen(stored), 3000);
	const struct sieve_tracking_ops *ops = &lmtp_sieve_tracking_ops;
	assert_false(ops->seen(tr, "vacation/aa/old@example.org", 3000));
	assert_true(ops->seen(tr, "vacation/bb/new@example.org", 3000));
	assert_false(ops->seen(tr, "vacation/bb/new@example.org", 5000));
	assert_false(lmtp_sieve_tracking_dirty(tr));
	lmtp_sieve_tracking_skip(tr, "vacation/", "/failed@example.org");
	ops->mark(tr, "vacation/cc/FAILED@example.org", 9000);
	assert_false(lmtp_sieve_tracking_dirty(tr));
	ops->mark(tr, "dup/x\ny", 9000);	/* would break the format */
	assert_false(lmtp_sieve_tracking_dirty(tr));
	ops->mark(tr, "vacation/cc/third@example.org", 9000);
	assert_true(lmtp_sieve_tracking_dirty(tr));
	struct buf out = BUF_INIT;
	lmtp_sieve_tracking_save(tr, 3000, &out);
	assert_string_equal(out.data, "9000 vacation/cc/third@example.org\n"
			    "5000 vacation/bb/new@example.org\n");
	buf_free(&out);
	lmtp_sieve_tracking_free(&tr);
	assert_null(tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redirect_adds_header_first),
		cmocka_unit_test(test_redirect_loops),
		cmocka_unit_test(test_vacation_headers),
		cmocka_unit_test(test_mdn_structure),
		cmocka_unit_test(test_tracking_roundtrip_and_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
