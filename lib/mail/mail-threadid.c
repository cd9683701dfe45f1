/* Thread ids from References / In-Reply-To / Message-ID (see
 * mail-threadid.h). */
#include "mail-threadid.h"
#include "mail-header.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The first "<...>" of value with something inside, blanks dropped
 * (folding may have split a long msg-id). Comments in parentheses are
 * skipped, as RFC 5322's CFWS allows around msg-ids. */
static bool first_msgid(const unsigned char *v, size_t len, struct buf *out)
{
	size_t i = 0;
	while (i < len) {
		if (v[i] == '(') {
			unsigned int depth = 0;
			for (; i < len; i++) {
				if (v[i] == '\\' && i + 1 < len)
					i++;
				else if (v[i] == '(')
					depth++;
				else if (v[i] == ')' && --depth == 0)
					break;
			}
			i++;
			continue;
		}
		if (v[i] != '<') {
			i++;
			continue;
		}
		buf_reset(out);
		size_t j = i + 1;
		for (; j < len && v[j] != '>' && v[j] != '<'; j++) {
			if (v[j] != ' ' && v[j] != '\t' && v[j] != '\r' &&
			    v[j] != '\n')
				buf_append_c(out, (char)v[j]);
		}
		if (j < len && v[j] == '>' && out->len > 0)
			return true;
		i = j;
	}
	buf_reset(out);
	return false;
}

bool mail_thread_root(const void *header, size_t size, struct buf *root)
{
	static const char *const names[] = {
		"references", "in-reply-to", "message-id",
	};
	struct buf value = BUF_INIT;
	bool found = false;
	for (size_t i = 0; i < 3 && !found; i++) {
		if (mail_header_get(header, size, names[i], 0, &value))
			found = first_msgid((const unsigned char *)value.data,
					    value.len, root);
	}
	buf_free(&value);
	if (!found)
		buf_reset(root);
	return found;
}

/* FNV-1a, 64 bits. Two runs with different offset bases give the 128
 * bits of the id: not cryptographic (a sender can always join a thread
 * by naming its root), only well spread. */
static uint64_t fnv1a64(const char *s, size_t len, uint64_t h)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void mail_threadid_of_root(const char *root, size_t len,
			   char out[MAIL_THREADID_LEN + 1])
{
	uint64_t a = fnv1a64(root, len, 0xcbf29ce484222325ULL);
	uint64_t b = fnv1a64(root, len, 0x84222325cbf29ce4ULL);
	snprintf(out, MAIL_THREADID_LEN + 1, "%016llx%016llx",
		 (unsigned long long)a, (unsigned long long)b);
}

bool mail_threadid(const void *header, size_t size,
		   char out[MAIL_THREADID_LEN + 1])
{
	struct buf root = BUF_INIT;
	bool ok = mail_thread_root(header, size, &root);
	if (ok)
		mail_threadid_of_root(root.data, root.len, out);
	else
		out[0] = '\0';
	buf_free(&root);
	return ok;
}
