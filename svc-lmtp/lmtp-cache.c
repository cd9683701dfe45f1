/* Cached fields of a delivered message (see lmtp-cache.h). The message
 * is mapped, not copied. Keep the header list in step with svc-imap's
 * imap-mail.c; both should move into lib/mail. */
#include "lmtp-cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include "buf.h"
#include "mail-cache.h"
#include "mail-header.h"
#include "mail-parser.h"
#include "mail-threadid.h"

static const char *const lmtp_cached_headers[] = {
	"from", "to", "cc", "bcc", "subject", "message-id",
};
#define LMTP_N_HEADERS (sizeof(lmtp_cached_headers) / \
			sizeof(lmtp_cached_headers[0]))
/* occurrences of one header kept for SEARCH */
#define LMTP_MAX_HEADER_COUNT 64

static void lmtp_cached_add(struct lmtp_cached *c, const char *name,
			    struct buf *value)
{
	if (value->len > MAIL_CACHED_BUDGET - c->total_len) {
		buf_free(value);	/* not cached: read from the body */
		return;
	}
	c->total_len += value->len;
	Stratus__IndexCachedField *f = xcalloc(1, sizeof(*f));
	stratus__index_cached_field__init(f);
	f->name = xstrdup(name);
	f->value.len = value->len;
	f->value.data = (uint8_t *)buf_steal(value);
	if (f->value.data == NULL)
		f->value.data = (uint8_t *)xstrdup("");
	c->fields[c->n_fields++] = f;
}

/* The whole stored message (size bytes from offset 0), or NULL. */
static char *lmtp_cached_read(int fd, size_t size)
{
	char *msg = xmalloc(size);
	size_t off = 0;
	while (off < size) {
		ssize_t n = pread(fd, msg + off, size - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(msg);
			return NULL;
		}
		off += (size_t)n;
	}
	return msg;
}

int lmtp_cached_build(int fd, size_t size, struct lmtp_cached *c)
{
	memset(c, 0, sizeof(*c));
	if (size == 0)
		return -1;
	/* Read, not mmap: the munmap after each recipient's parse flushed
	 * the TLB of every core (a tenth of svc-lmtp's time at 100 KB, see
	 * bench/PROFILE-lmtp-pop3.md); a heap buffer of the same size is
	 * reused by malloc from one recipient to the next. */
	char *msg = lmtp_cached_read(fd, size);
	if (msg == NULL)
		return -1;
	c->fields = xcalloc(MAIL_CACHED_COUNT + LMTP_N_HEADERS + 1,
			    sizeof(*c->fields));
	struct mail_part *root = mail_parse(msg, size);
	struct mail_cached_fields cf;
	struct buf b = BUF_INIT;
	/* OBJECTID THREADID (lib/mail/mail-threadid.h), first so the cache
	 * budget never leaves it out. */
	char threadid[MAIL_THREADID_LEN + 1];
	if (mail_threadid(msg, (size_t)root->header.physical, threadid)) {
		buf_append_str(&b, threadid);
		lmtp_cached_add(c, MAIL_THREADID_FIELD, &b);
	}
	mail_cached_fields_get(msg, size, root, &cf);
	for (size_t i = 0; i < MAIL_CACHED_COUNT; i++) {
		buf_reset(&b);
		buf_append(&b, cf.value[i], cf.len[i]);
		lmtp_cached_add(c, mail_cached_field_names[i], &b);
	}
	mail_cached_fields_free(&cf);
	size_t hdr_size = (size_t)root->header.physical;
	for (size_t i = 0; i < LMTP_N_HEADERS; i++) {
		struct buf one = BUF_INIT;
		buf_reset(&b);
		/* every occurrence, newline-separated, so SEARCH sees all */
		for (unsigned int k = 0; k < LMTP_MAX_HEADER_COUNT &&
		     mail_header_get(msg, hdr_size, lmtp_cached_headers[i], k,
				     &one); k++) {
			if (b.len > 0)
				buf_append_c(&b, '\n');
			buf_append(&b, one.data, one.len);
		}
		buf_free(&one);
		char name[32];
		snprintf(name, sizeof(name), "hdr.%s", lmtp_cached_headers[i]);
		lmtp_cached_add(c, name, &b);
	}
	buf_free(&b);
	mail_part_free(&root);
	free(msg);
	return 0;
}

void lmtp_cached_free(struct lmtp_cached *c)
{
	for (size_t i = 0; i < c->n_fields; i++) {
		free(c->fields[i]->name);
		free(c->fields[i]->value.data);
		free(c->fields[i]);
	}
	free(c->fields);
	memset(c, 0, sizeof(*c));
}
