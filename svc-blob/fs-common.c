/* Helpers every fs driver and wrapper shares: metadata copies and
 * packing, results delivered from the loop, body file descriptors. */
#include "fs.h"
#include "buf.h"
#include "blob.pb-c.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

void fs_meta_clear(struct fs_meta *meta)
{
	free(meta->mailbox_guid);
	free(meta->message_guid);
	free(meta->etag);
	memset(meta, 0, sizeof(*meta));
}

void fs_meta_copy(struct fs_meta *dst, const struct fs_meta *src)
{
	fs_meta_clear(dst);
	*dst = *src;
	dst->mailbox_guid = src->mailbox_guid ? xstrdup(src->mailbox_guid) : NULL;
	dst->message_guid = src->message_guid ? xstrdup(src->message_guid) : NULL;
	dst->etag = src->etag ? xstrdup(src->etag) : NULL;
	dst->if_match = NULL;	/* a request's, never copied along */
}

size_t fs_meta_pack(const struct fs_meta *meta, uint8_t **data_r)
{
	Stratus__BlobMeta m = STRATUS__BLOB_META__INIT;
	m.mailbox_guid = meta->mailbox_guid ? meta->mailbox_guid : "";
	m.message_guid = meta->message_guid ? meta->message_guid : "";
	m.received_date = meta->received_date;
	m.save_date = meta->save_date;
	m.physical_size = meta->physical_size;
	m.virtual_size = meta->virtual_size;
	m.generation = meta->generation;
	size_t len = stratus__blob_meta__get_packed_size(&m);
	*data_r = xmalloc(len + 1);
	stratus__blob_meta__pack(&m, *data_r);
	return len;
}

int fs_meta_unpack(const uint8_t *data, size_t len, struct fs_meta *meta_r)
{
	Stratus__BlobMeta *m = stratus__blob_meta__unpack(NULL, len, data);
	memset(meta_r, 0, sizeof(*meta_r));
	if (m == NULL)
		return -1;
	if (m->mailbox_guid[0] != '\0')
		meta_r->mailbox_guid = xstrdup(m->mailbox_guid);
	if (m->message_guid[0] != '\0')
		meta_r->message_guid = xstrdup(m->message_guid);
	meta_r->received_date = m->received_date;
	meta_r->save_date = m->save_date;
	meta_r->physical_size = m->physical_size;
	meta_r->virtual_size = m->virtual_size;
	meta_r->generation = m->generation;
	stratus__blob_meta__free_unpacked(m, NULL);
	return 0;
}

struct fs_pending *fs_pending_new(fs_cb *cb, void *ctx)
{
	struct fs_pending *p = xcalloc(1, sizeof(*p));
	p->r.fd = -1;
	p->cb = cb;
	p->ctx = ctx;
	return p;
}

void fs_pending_fail(struct fs_pending *p, enum fs_status status,
		     const char *fmt, ...)
{
	va_list ap;
	char *msg;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	free(p->error_buf);
	p->error_buf = msg;
	p->r.status = status;
	p->r.error = msg;
}

void fs_result_free_contents(struct fs_result *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	fs_meta_clear(&r->meta);
	for (size_t i = 0; i < r->n_entries; i++)
		free(r->entries[i].key);
	free(r->entries);
	r->entries = NULL;
	r->n_entries = 0;
	free(r->next);
	r->next = NULL;
	for (size_t i = 0; i < r->n_failed; i++)
		free(r->failed[i]);
	free(r->failed);
	r->failed = NULL;
	r->n_failed = 0;
}

void fs_pending_finish(struct fs_pending *p)
{
	if (p->r.status != FS_OK && p->r.error == NULL)
		p->r.error = fs_status_name(p->r.status);
	p->cb(&p->r, p->ctx);
	fs_result_free_contents(&p->r);
	free(p->error_buf);
	free(p);
}

static void fs_pending_deferred(void *ctx)
{
	fs_pending_finish(ctx);
}

void fs_pending_deliver(struct loop *loop, struct fs_pending *p)
{
	loop_defer(loop, fs_pending_deferred, p);
}

int fs_memfd(const char *name)
{
	return memfd_create(name, MFD_CLOEXEC);
}

int64_t fs_copy_fd(int in, int out)
{
	off_t off = 0;
	int64_t total = 0;
	char buf[65536];
	for (;;) {
		ssize_t n = sendfile(out, in, &off, 1 << 30);
		if (n > 0) {
			total += n;
			continue;
		}
		if (n == 0)
			return total;
		if (errno == EINTR)
			continue;
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
		break;
	}
	/* sendfile refused this pair: plain pread/write from where we are */
	for (;;) {
		ssize_t n = pread(in, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return total;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -1;
			done += w;
		}
		off += n;
		total += n;
	}
}

int64_t fs_fd_size(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	return st.st_size;
}

const char *fs_status_name(enum fs_status status)
{
	switch (status) {
	case FS_OK: return "ok";
	case FS_NOT_FOUND: return "not found";
	case FS_INVALID: return "invalid request";
	case FS_DENIED: return "access denied";
	case FS_TEMPFAIL: return "temporary failure";
	case FS_CONFLICT: return "condition failed";
	}
	return "?";
}
