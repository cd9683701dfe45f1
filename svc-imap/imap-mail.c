/* Message facts from lib/mail (see imap-mail.h). The body is mapped, not
 * read into memory, so a large APPEND costs address space, not heap. */
#include "imap-mail.h"
#include "buf.h"
#include "mail-header.h"
#include "mail-cache.h"
#include "mail-imap.h"
#include "mail-parser.h"
#include "mail-threadid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Headers cached for SEARCH FROM/TO/CC/BCC/SUBJECT and HEADER
 * Message-ID (what clients thread and deduplicate by). */
#define N_CACHED_HEADERS 6
static const char *const cached_headers[N_CACHED_HEADERS] = {
	"from", "to", "cc", "bcc", "subject", "message-id",
};

/* Bodies up to this size are read into the heap: a mapping costs two
 * syscalls, a page fault per page and, at munmap, a TLB shootdown that
 * the profile of the FETCH workload showed as a third of svc-imap's
 * time; reading 1 MB costs less than that. Larger bodies are mapped so
 * they cost address space, not heap. */
#define IMAP_MAIL_READ_MAX (1024 * 1024)

static int read_whole(int fd, size_t size, struct imap_mail_map *map_r)
{
	char *p = xmalloc(size);
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, p + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(p);
			if (n == 0)
				errno = EIO;	/* the file shrank */
			return -1;
		}
		got += (size_t)n;
	}
	map_r->data = p;
	map_r->size = size;
	map_r->heap = true;
	return 0;
}

int imap_mail_map(int fd, struct imap_mail_map *map_r)
{
	struct stat st;
	memset(map_r, 0, sizeof(*map_r));
	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_size == 0)
		return 0;
	if (st.st_size <= IMAP_MAIL_READ_MAX)
		return read_whole(fd, (size_t)st.st_size, map_r);
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	map_r->data = p;
	map_r->size = (size_t)st.st_size;
	return 0;
}

void imap_mail_unmap(struct imap_mail_map *map)
{
	if (map->heap)
		free((void *)map->data);
	else if (map->size > 0)
		munmap((void *)map->data, map->size);
	memset(map, 0, sizeof(*map));
}

static void add_field(struct imap_mail_facts *f, const char *name,
		      struct buf *value)
{
	size_t total = 0;
	for (size_t i = 0; i < f->n_cached; i++)
		total += f->cached[i]->value.len;
	if (value->len > MAIL_CACHED_BUDGET - total) {
		buf_free(value);	/* not cached: read from the body */
		return;
	}
	Stratus__IndexCachedField *c = xcalloc(1, sizeof(*c));
	stratus__index_cached_field__init(c);
	c->name = xstrdup(name);
	c->value.len = value->len;
	c->value.data = (uint8_t *)buf_steal(value);
	if (c->value.data == NULL)
		c->value.data = (uint8_t *)xstrdup("");
	f->cached[f->n_cached++] = c;
}

void imap_mail_facts(const void *msg, size_t size,
		     struct imap_mail_facts *f)
{
	struct mail_size sz;
	struct buf b = BUF_INIT;

	memset(f, 0, sizeof(*f));
	mail_size_count(msg, size, &sz);
	f->physical_size = sz.physical;
	f->virtual_size = sz.virtual;
	f->cached = xcalloc(MAIL_CACHED_COUNT + N_CACHED_HEADERS + 1,
			    sizeof(*f->cached));

	/* The same fields svc-lmtp caches for delivered mail; the thread id
	 * first, so the cache budget never leaves it out. */
	struct mail_part *root = mail_parse(msg, size);
	char threadid[MAIL_THREADID_LEN + 1];
	if (mail_threadid(msg, (size_t)root->header.physical, threadid)) {
		buf_append_str(&b, threadid);
		add_field(f, MAIL_THREADID_FIELD, &b);
	}
	struct mail_cached_fields cf;
	mail_cached_fields_get(msg, size, root, &cf);
	for (size_t i = 0; i < MAIL_CACHED_COUNT; i++) {
		buf_reset(&b);
		buf_append(&b, cf.value[i], cf.len[i]);
		add_field(f, mail_cached_field_names[i], &b);
	}
	mail_cached_fields_free(&cf);
	size_t hdr_size = (size_t)root->header.physical;
	for (size_t i = 0; i < N_CACHED_HEADERS; i++) {
		/* Every occurrence, so SEARCH sees them all. */
		struct buf one = BUF_INIT;
		for (unsigned int k = 0; k < 64 &&
		     mail_header_get(msg, hdr_size, cached_headers[i], k, &one);
		     k++) {
			if (b.len > 0)
				buf_append_c(&b, '\n');
			buf_append(&b, one.data, one.len);
		}
		buf_free(&one);
		char name[32];
		snprintf(name, sizeof(name), "hdr.%s", cached_headers[i]);
		add_field(f, name, &b);
	}
	mail_part_free(&root);
}

void imap_mail_facts_free(struct imap_mail_facts *f)
{
	for (size_t i = 0; i < f->n_cached; i++) {
		free(f->cached[i]->name);
		free(f->cached[i]->value.data);
		free(f->cached[i]);
	}
	free(f->cached);
	memset(f, 0, sizeof(*f));
}

const ProtobufCBinaryData *imap_mail_cached(const Stratus__IndexMessage *m,
					    const char *name)
{
	for (size_t i = 0; i < m->n_cached; i++) {
		if (strcasecmp(m->cached[i]->name, name) == 0)
			return &m->cached[i]->value;
	}
	return NULL;
}
