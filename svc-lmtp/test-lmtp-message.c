/* Unit tests for the stored form of a delivered message: trace headers,
 * the header lookup used for mail_log, virtual sizes in every chunking,
 * and the memfd built from a shared body. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "lmtp-message.h"

static void test_trace_headers_single_rcpt(void **state)
{
	(void)state;
	struct lmtp_trace_info info = {
		.mail_from = "a@example.org", .delivered_to = "u@example.com",
		.for_rcpt = "u@example.com", .helo = "mx.example.org",
		.client_ip = "192.0.2.1", .hostname = "backend",
		.session = "S1", .time = 0,
	};
	struct buf b = BUF_INIT;
	lmtp_trace_headers(&info, &b);
	const char *want =
		"Return-Path: <a@example.org>\r\n"
		"Delivered-To: u@example.com\r\n"
		"Received: from mx.example.org ([192.0.2.1])\r\n"
		"\tby backend with LMTP\r\n\tid S1\r\n"
		"\t(envelope-from <a@example.org>)\r\n"
		"\tfor <u@example.com>; ";
	assert_memory_equal(b.data, want, strlen(want));
	assert_true(b.len > 2 && memcmp(b.data + b.len - 2, "\r\n", 2) == 0);
	buf_free(&b);
}

static void test_trace_headers_no_rcpt_no_ip(void **state)
{
	(void)state;
	struct lmtp_trace_info info = {
		.mail_from = "", .delivered_to = NULL, .for_rcpt = NULL,
		.helo = "", .client_ip = "", .hostname = "h", .session = "S",
	};
	struct buf b = BUF_INIT;
	lmtp_trace_headers(&info, &b);
	assert_non_null(strstr(b.data, "Return-Path: <>\r\nReceived: from "
				       "localhost\r\n"));
	assert_null(strstr(b.data, "Delivered-To"));
	assert_null(strstr(b.data, "\tfor <"));
	assert_non_null(strstr(b.data, "\t; "));
	buf_free(&b);
}

static void test_find_header(void **state)
{
	(void)state;
	const char *m = "Subject: x\r\nmessage-id :\r\n  <a@b>\r\n"
			"From: A <a@b>\r\n\r\nMessage-ID: <body@x>\r\n";
	char *v = lmtp_find_header(m, strlen(m), "Message-ID");
	assert_string_equal(v, "<a@b>");
	free(v);
	v = lmtp_find_header(m, strlen(m), "From");
	assert_string_equal(v, "A <a@b>");
	free(v);
	const char *n = "Subject: x\n\nMessage-ID: <body@x>\n";
	assert_null(lmtp_find_header(n, strlen(n), "Message-ID"));
	/* cut header, no end of line */
	const char *c = "Message-ID: <cut";
	v = lmtp_find_header(c, strlen(c), "Message-ID");
	assert_string_equal(v, "<cut");
	free(v);
}

static void test_vsize_every_chunking(void **state)
{
	(void)state;
	const char *m = "a\r\nb\nc\r\r\n\n\r";
	size_t len = strlen(m);
	/* 4 LFs, 2 bare: virtual = physical + 2 */
	for (size_t split = 0; split <= len; split++) {
		uint64_t v = 0;
		int last_cr = 0;
		lmtp_count_vsize(m, split, &v, &last_cr);
		lmtp_count_vsize(m + split, len - split, &v, &last_cr);
		assert_int_equal(v, len + 2);
	}
}

static void test_message_build(void **state)
{
	(void)state;
	int body = memfd_create("body", 0);
	const char *text = "Message-ID: <x@y>\n\nhello\n";
	assert_int_equal(write(body, text, strlen(text)), (ssize_t)strlen(text));
	struct buf h = BUF_INIT;
	buf_append_str(&h, "Return-Path: <>\r\n");
	struct lmtp_message msg;
	char *error = NULL;
	assert_int_equal(lmtp_message_build(&h, body, strlen(text), &msg,
					    &error), 0);
	assert_int_equal(msg.physical_size, h.len + strlen(text));
	assert_int_equal(msg.virtual_size, h.len + strlen(text) + 3);
	assert_string_equal(msg.msgid, "<x@y>");
	char out[128];
	ssize_t n = pread(msg.fd, out, sizeof(out), 0);
	assert_int_equal(n, (ssize_t)msg.physical_size);
	assert_memory_equal(out, "Return-Path: <>\r\nMessage-ID", 27);
	lmtp_message_free(&msg);
	assert_int_equal(msg.fd, -1);
	/* a body that is shorter than announced fails cleanly */
	assert_int_equal(lmtp_message_build(&h, body, 1000, &msg, &error), -1);
	assert_non_null(error);
	assert_int_equal(msg.fd, -1);
	free(error);
	buf_free(&h);
	close(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_headers_single_rcpt),
		cmocka_unit_test(test_trace_headers_no_rcpt_no_ip),
		cmocka_unit_test(test_find_header),
		cmocka_unit_test(test_vsize_every_chunking),
		cmocka_unit_test(test_message_build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
