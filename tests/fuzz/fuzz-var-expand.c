/* libFuzzer target for var_expand(): the input is the template, expanded
 * against a fixed user table and an %{ldap:...} function into a bounded
 * buffer. On failure the buffer must be unchanged. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: POSIX and GNU interfaces */
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "var-expand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *ldap_func(const char *attr, void *ctx)
{
	(void)ctx;
	return strcmp(attr, "mailRoutingAddress") == 0 ? "User@Example.com" :
							 NULL;
}

static const struct var_expand_func funcs[] = {
	{ "ldap", ldap_func },
	{ NULL, NULL }
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct var_expand_user vu;
	struct buf out;
	const char *error;
	char *tmpl = xstrndup((const char *)data, size);

	var_expand_user_init(&vu, "user1@example.com", "imap", "sess");
	buf_init(&out, 1024);
	if (buf_append_str(&out, "pre") < 0)
		abort();
	if (var_expand(&out, tmpl, vu.table, funcs, NULL, &error) < 0) {
		if (error == NULL || out.len != 3 ||
		    strcmp(out.data, "pre") != 0)
			abort();
	} else if (out.len > 1024 || strlen(out.data) > out.len) {
		abort();
	}
	buf_free(&out);
	var_expand_user_deinit(&vu);
	free(tmpl);
	return 0;
}
