/* SMTP/LMTP reply framing (see smtp-reply.h). */
#include "smtp-reply.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

long smtp_reply_next(const char *data, size_t len, size_t max_len,
		     int *code_r)
{
	size_t p = 0;
	int code = -1;
	for (;;) {
		const char *crlf = len > p ? memmem(data + p, len - p, "\r\n", 2)
			: NULL;
		if (crlf == NULL)
			return len > max_len ? -1 : 0;
		size_t eol = (size_t)(crlf - data);
		if (eol + 2 > max_len)
			return -1;
		if (eol - p < 3 || !isdigit((unsigned char)data[p]) ||
		    !isdigit((unsigned char)data[p + 1]) ||
		    !isdigit((unsigned char)data[p + 2]))
			return -1;
		int c = (data[p] - '0') * 100 + (data[p + 1] - '0') * 10 +
			(data[p + 2] - '0');
		if (code >= 0 && c != code)
			return -1;
		code = c;
		char sep = eol - p > 3 ? data[p + 3] : ' ';
		if (sep != ' ' && sep != '-')
			return -1;
		p = eol + 2;
		if (sep == ' ') {
			*code_r = code;
			return (long)p;
		}
	}
}

bool smtp_reply_has_keyword(const char *reply, size_t len,
			    const char *keyword)
{
	size_t n = strlen(keyword);
	size_t p = 0;
	while (p + 4 <= len) {
		const char *crlf = memmem(reply + p, len - p, "\r\n", 2);
		size_t eol = crlf != NULL ? (size_t)(crlf - reply) : len;
		if (eol - (p + 4) >= n &&
		    strncasecmp(reply + p + 4, keyword, n) == 0 &&
		    (eol - (p + 4) == n || reply[p + 4 + n] == ' '))
			return true;
		p = eol + 2;
	}
	return false;
}
