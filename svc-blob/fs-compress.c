/* The compress wrapper and zlib mail compression. On put it gzips the
 * body (when a level is set) before handing it to the layer below; on
 * get it looks at the first bytes and inflates gzip/zlib streams, passing
 * anything else through unchanged. That auto-detection is what lets
 * zlib_save be switched on over a store of plain mails (a mail never
 * starts with the gzip magic 1f 8b), and it makes compress: tolerant of
 * mixed index bundles too, which Dovecot is not. */
#include "fs.h"
#include "fs-drivers.h"
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define COMPRESS_CHUNK 65536

struct fs_compress {
	unsigned int level;	/* 0 = detect only */
};

struct compress_op {
	int fd;			/* the compressed body we made */
	fs_cb *cb;
	void *ctx;
};

/* Deflates in (from offset 0) into out as gzip. 0 or -1. */
static int compress_fd(int in, int out, unsigned int level)
{
	z_stream zs;
	unsigned char ibuf[COMPRESS_CHUNK], obuf[COMPRESS_CHUNK];
	off_t off = 0;
	int ret = 0, flush;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, (int)level, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	do {
		ssize_t n = pread(in, ibuf, sizeof(ibuf), off);
		if (n < 0) {
			ret = -1;
			break;
		}
		off += n;
		flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
		zs.next_in = ibuf;
		zs.avail_in = (uInt)n;
		do {
			zs.next_out = obuf;
			zs.avail_out = sizeof(obuf);
			(void)deflate(&zs, flush);
			size_t have = sizeof(obuf) - zs.avail_out;
			if (have > 0 && write(out, obuf, have) != (ssize_t)have)
				ret = -1;
		} while (zs.avail_out == 0 && ret == 0);
	} while (flush != Z_FINISH && ret == 0);
	deflateEnd(&zs);
	return ret;
}

/* Inflates in into out; -1 with *error_r on corrupt or oversized data. */
static int inflate_fd(int in, int out, uint64_t *size_r, const char **error_r)
{
	z_stream zs;
	unsigned char ibuf[COMPRESS_CHUNK], obuf[COMPRESS_CHUNK];
	off_t off = 0;
	uint64_t total = 0;
	int zret = Z_OK;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 32) != Z_OK) {
		*error_r = "inflateInit failed";
		return -1;
	}
	while (zret != Z_STREAM_END) {
		ssize_t n = pread(in, ibuf, sizeof(ibuf), off);
		if (n < 0) {
			*error_r = "read failed";
			inflateEnd(&zs);
			return -1;
		}
		if (n == 0) {
			*error_r = "compressed object is truncated";
			inflateEnd(&zs);
			return -1;
		}
		off += n;
		zs.next_in = ibuf;
		zs.avail_in = (uInt)n;
		do {
			zs.next_out = obuf;
			zs.avail_out = sizeof(obuf);
			zret = inflate(&zs, Z_NO_FLUSH);
			if (zret != Z_OK && zret != Z_STREAM_END &&
			    zret != Z_BUF_ERROR) {
				*error_r = "compressed object is corrupt";
				inflateEnd(&zs);
				return -1;
			}
			size_t have = sizeof(obuf) - zs.avail_out;
			total += have;
			if (total > FS_MAX_OBJECT_SIZE) {
				*error_r = "decompressed object too large";
				inflateEnd(&zs);
				return -1;
			}
			if (have > 0 && write(out, obuf, have) != (ssize_t)have) {
				*error_r = "write failed";
				inflateEnd(&zs);
				return -1;
			}
		} while (zs.avail_out == 0 && zret != Z_STREAM_END);
	}
	inflateEnd(&zs);
	*size_r = total;
	return 0;
}

static void compress_put_done(struct fs_result *r, void *ctx)
{
	struct compress_op *op = ctx;
	close(op->fd);
	op->cb(r, op->ctx);
	free(op);
}

static void compress_put(struct fs *fs, const char *key, int fd,
			 const struct fs_meta *meta, fs_cb *cb, void *ctx)
{
	struct fs_compress *c = fs->priv;
	if (c->level == 0 || (meta != NULL && meta->precompressed)) {
		fs_put(fs->parent, key, fd, meta, cb, ctx);
		return;
	}
	int out = fs_memfd("blob-gz");
	if (out < 0 || compress_fd(fd, out, c->level) < 0) {
		struct fs_pending *p = fs_pending_new(cb, ctx);
		fs_pending_fail(p, FS_TEMPFAIL, "compressing %s failed", key);
		if (out >= 0)
			close(out);
		fs_pending_deliver(fs->loop, p);
		return;
	}
	struct compress_op *op = xcalloc(1, sizeof(*op));
	op->fd = out;
	op->cb = cb;
	op->ctx = ctx;
	fs_put(fs->parent, key, out, meta, compress_put_done, op);
}

static bool fd_is_compressed(int fd)
{
	unsigned char magic[2];
	if (pread(fd, magic, 2, 0) != 2)
		return false;
	if (magic[0] == 0x1f && magic[1] == 0x8b)
		return true;	/* gzip */
	return false;
}

static void compress_get_done(struct fs_result *r, void *ctx)
{
	struct compress_op *op = ctx;
	if (r->status == FS_OK && fd_is_compressed(r->fd)) {
		const char *error = NULL;
		uint64_t size;
		int out = fs_memfd("blob-inflated");
		if (out < 0) {
			error = "memfd_create failed";
		} else if (inflate_fd(r->fd, out, &size, &error) == 0) {
			close(r->fd);
			r->fd = out;
			r->size = size;
			out = -1;
		}
		if (out >= 0)
			close(out);
		if (error != NULL) {
			r->status = FS_TEMPFAIL;
			r->error = error;
		}
	}
	op->cb(r, op->ctx);
	free(op);
}

static void compress_get(struct fs *fs, const char *key, fs_cb *cb, void *ctx)
{
	struct compress_op *op = xcalloc(1, sizeof(*op));
	op->fd = -1;
	op->cb = cb;
	op->ctx = ctx;
	fs_get(fs->parent, key, compress_get_done, op);
}

static void compress_head(struct fs *fs, const char *key, fs_cb *cb, void *ctx)
{
	fs_head(fs->parent, key, cb, ctx);
}

static void compress_delete(struct fs *fs, const char *const *keys, size_t n,
			    fs_cb *cb, void *ctx)
{
	fs_delete(fs->parent, keys, n, cb, ctx);
}

static void compress_copy(struct fs *fs, const char *src, const char *dst,
			  fs_cb *cb, void *ctx)
{
	fs_copy(fs->parent, src, dst, cb, ctx);
}

static void compress_list(struct fs *fs, const char *prefix, const char *after,
			  unsigned int max_keys, fs_cb *cb, void *ctx)
{
	fs_list(fs->parent, prefix, after, max_keys, cb, ctx);
}

static void compress_free(struct fs *fs)
{
	free(fs->priv);
}

static const struct fs_vfuncs fs_compress_vfuncs = {
	.name = "compress",
	.put = compress_put,
	.get = compress_get,
	.head = compress_head,
	.delete = compress_delete,
	.copy = compress_copy,
	.list = compress_list,
	.free = compress_free,
};

int fs_compress_init(struct fs *fs, unsigned int level, char **error_r)
{
	if (level > 9) {
		*error_r = xasprintf("compress: level must be 1..9, not %u", level);
		return -1;
	}
	struct fs_compress *c = xcalloc(1, sizeof(*c));
	c->level = level;
	fs->v = &fs_compress_vfuncs;
	fs->priv = c;
	return 0;
}
