/* Fuzzes lib/smtp's reply parser: the input is split into lines and fed
 * as one reply after another, the way an SMTP server's bytes arrive. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/smtp/smtp-reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	const char *p = (const char *)data;
	smtp_reply_init(&r);
	while (size > 0) {
		const char *nl = memchr(p, '\n', size);
		size_t n = nl != NULL ? (size_t)(nl - p) : size;
		int ret = smtp_reply_line(&r, p, n);
		if (ret != 0) {
			if (ret == 1) {
				char *d = smtp_reply_describe(&r);
				if (d == NULL || r.code < 200 || r.code > 599 ||
				    r.text.len > SMTP_REPLY_MAX_TEXT)
					__builtin_trap();
				free(d);
			}
			smtp_reply_reset(&r);
		}
		size -= nl != NULL ? n + 1 : n;
		p += nl != NULL ? n + 1 : n;
	}
	smtp_reply_free(&r);
	return 0;
}
