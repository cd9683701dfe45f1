/* libFuzzer target for the Sieve interpreter: the input is a script and a
 * message separated by the first NUL byte ("script\0message"). A script
 * that compiles is run against the message with small limits; the result
 * must always carry an action list that keeps the message on failure. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/sieve/sieve.h"
#include "../../lib/sieve/test-sieve-msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct sieve_script *include_self(void *ctx, bool global,
					       const char *name)
{
	(void)global;
	(void)name;
	return ctx;	/* every include is the script itself: a loop */
}

static bool mailbox_exists(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "INBOX") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t slen = nul != NULL ? (size_t)(nul - data) : size;
	const char *msg = nul != NULL ? (const char *)nul + 1 : "";
	size_t mlen = nul != NULL ? size - slen - 1 : 0;
	struct sieve_script *script = NULL;
	struct sieve_env env = { 0 };
	struct sieve_result *r;
	struct test_msg m;
	char *error = NULL;
	static const char *const me[] = { "user1@example.com" };

	if (sieve_script_compile((const char *)data, slen, 0, &script,
				 &error) < 0) {
		free(error);
		return 0;
	}
	test_msg_init(&m, msg, mlen);
	env.max_steps = 200000;
	env.max_cpu_msecs = 2000;
	env.user_addresses = me;
	env.n_user_addresses = 1;
	env.tracking = &test_tracking_ops;
	env.tracking_ctx = &m;
	env.include = include_self;
	env.include_ctx = script;
	env.mailbox_exists = mailbox_exists;
	env.spamtest_header = "X-Spam-Score";
	sieve_script_run(script, &test_msg_ops, &m, &env, &r);
	if (r->status == SIEVE_EXEC_FAILED &&
	    (r->n_actions != 1 || r->actions[0].type != SIEVE_ACT_KEEP ||
	     r->error == NULL))
		abort();
	sieve_result_commit_tracking(r, &env, m.now);
	sieve_result_free(&r);
	test_msg_deinit(&m);
	sieve_script_free(&script);
	return 0;
}
