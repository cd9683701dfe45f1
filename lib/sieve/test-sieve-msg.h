/* A message for tests and fuzzing: parsed from RFC 5322 text (headers
 * unfolded, body as is), with settable envelope and clock, and an
 * in-memory tracking store. Not for production: no RFC 2047 in headers;
 * the body test sees MIME parts through sieve-body.h. */
#ifndef STRATUS_TEST_SIEVE_MSG_H
#define STRATUS_TEST_SIEVE_MSG_H

#include "sieve.h"
#include "sieve-body.h"

struct test_msg {
	char **names, **values;
	size_t n;
	const char **scratch;	/* values returned by the last lookup */
	char *body;
	char *text;		/* a copy of the whole message */
	struct sieve_body sbody;
	size_t size;
	const char *env_from, *env_to;
	time_t now;
	/* tracking store */
	char **keys;
	time_t *expiry;
	size_t n_keys;
};

extern const struct sieve_message_ops test_msg_ops;
extern const struct sieve_tracking_ops test_tracking_ops;

void test_msg_init(struct test_msg *m, const char *text, size_t len);
void test_msg_deinit(struct test_msg *m);
/* Formats a result as one line per action, e.g. "fileinto Junk",
 * "keep (implicit)", "redirect a@b" (malloc'd). */
char *test_result_format(const struct sieve_result *r);

#endif
