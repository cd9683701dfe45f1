/* SMTP/LMTP reply framing for the load generator: finds one complete
 * reply ("250-..." continuation lines ended by "250 ...") at the start of
 * a buffer. Bounded by max_len: a reply longer than that is an error. */
#ifndef BENCH_SMTP_REPLY_H
#define BENCH_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

/* Returns the reply's length including the last CRLF and sets *code_r;
 * 0 = incomplete; -1 = malformed or longer than max_len. */
long smtp_reply_next(const char *data, size_t len, size_t max_len,
		     int *code_r);
/* True when one of the reply's lines is "250-KEYWORD" or "250 KEYWORD". */
bool smtp_reply_has_keyword(const char *reply, size_t len,
			    const char *keyword);

#endif
