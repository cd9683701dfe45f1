/* The COMPRESS=DEFLATE stream layer (RFC 4978 section 3 and 4).
 *
 * Output: what the writer hands over is deflated in chunks of at most
 * COMPRESS_CHUNK bytes; the last chunk of a write burst (the writer hands
 * over everything it has queued) ends with Z_SYNC_FLUSH, so the client
 * can inflate every response the server has sent without waiting for
 * more. The deflated bytes are "held" until the stream below takes them,
 * and no new input is taken while some are held, so held stays below
 * about one chunk's deflate bound.
 *
 * Input: compressed bytes are read from the stream below into a buffer
 * of COMPRESS_CHUNK bytes and inflated straight into the reader's buffer,
 * never more than the reader asked for: a small compressed input that
 * inflates to a lot (a "zip bomb") costs nothing beyond what the reader's
 * own bound lets in, because the rest stays in zlib until read. */
#include "imap-compress.h"
#include "buf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define COMPRESS_CHUNK IMAP_COMPRESS_IN_MAX
#define COMPRESS_OUT_STEP 16384
/* Level 6 is zlib's default trade of CPU for size; windowBits -15 is raw
 * deflate with the full 32 KB window (RFC 4978 section 4). */
#define COMPRESS_LEVEL 6
#define COMPRESS_WINDOW_BITS (-15)
#define COMPRESS_MEM_LEVEL 8
/* Input rounds per read that yield no output (empty flush blocks) before
 * the read gives way to the event loop. */
#define COMPRESS_MAX_EMPTY_ROUNDS 4

struct compress_stream {
	struct stream s;
	struct stream *inner;
	z_stream zin, zout;
	bool in_full;	/* the last inflate filled the reader's buffer */
	bool in_ended;	/* the client ended its deflate stream */
	struct buf held;	/* bytes for the stream below */
	unsigned char inbuf[COMPRESS_CHUNK];
};

static const struct stream_ops compress_ops;

static struct compress_stream *compress_stream(struct stream *s)
{
	if (s == NULL || s->ops != &compress_ops)
		return NULL;
	return (struct compress_stream *)s;
}

/* The layer waits on the same socket as the stream below. */
static void compress_mirror_wants(struct compress_stream *c)
{
	c->s.want_read = c->inner->want_read;
	c->s.want_write = c->inner->want_write;
}

static ssize_t compress_read(struct stream *s, void *data, size_t len)
{
	struct compress_stream *c = (struct compress_stream *)s;
	if (c->in_ended)
		return 0;
	for (int round = 0; round < COMPRESS_MAX_EMPTY_ROUNDS; round++) {
		if (c->zin.avail_in == 0 && !c->in_full) {
			ssize_t n = stream_read(c->inner, c->inbuf,
						sizeof(c->inbuf));
			compress_mirror_wants(c);
			if (n <= 0)
				return n;
			c->zin.next_in = c->inbuf;
			c->zin.avail_in = (uInt)n;
		}
		c->zin.next_out = data;
		c->zin.avail_out = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
		size_t asked = c->zin.avail_out;
		int ret = inflate(&c->zin, Z_SYNC_FLUSH);
		size_t got = asked - c->zin.avail_out;
		c->in_full = c->zin.avail_out == 0;
		if (ret == Z_STREAM_END) {
			/* A final block: nothing may follow it, so the
			 * connection ends once this is read. */
			c->in_ended = true;
			c->in_full = false;
			return (ssize_t)got;
		}
		if (ret != Z_OK && ret != Z_BUF_ERROR) {
			errno = EBADMSG;
			return -1;
		}
		if (got > 0)
			return (ssize_t)got;
	}
	errno = EAGAIN;
	return -1;
}

int imap_compress_flush(struct stream *s)
{
	struct compress_stream *c = compress_stream(s);
	if (c == NULL)
		return 0;
	while (c->held.len > 0) {
		ssize_t n = stream_write(c->inner, c->held.data, c->held.len);
		compress_mirror_wants(c);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf_consume(&c->held, (size_t)n);
	}
	return 0;
}

size_t imap_compress_held(struct stream *s)
{
	struct compress_stream *c = compress_stream(s);
	return c == NULL ? 0 : c->held.len;
}

/* Deflates len bytes into held; the flush mode decides whether the
 * client can see all of them now (Z_SYNC_FLUSH) or zlib may keep some. */
static int compress_deflate(struct compress_stream *c, const void *data,
			    size_t len, int flush)
{
	c->zout.next_in = (Bytef *)(uintptr_t)data;
	c->zout.avail_in = (uInt)len;
	do {
		char *space = buf_append_space(&c->held, COMPRESS_OUT_STEP);
		c->zout.next_out = (Bytef *)space;
		c->zout.avail_out = COMPRESS_OUT_STEP;
		int ret = deflate(&c->zout, flush);
		c->held.len -= c->zout.avail_out;
		c->held.data[c->held.len] = '\0';
		if (ret != Z_OK && ret != Z_BUF_ERROR)
			return -1;
	} while (c->zout.avail_out == 0);
	return 0;
}

static ssize_t compress_write(struct stream *s, const void *data, size_t len)
{
	struct compress_stream *c = (struct compress_stream *)s;
	if (imap_compress_flush(s) < 0)
		return -1;
	if (len == 0)
		return 0;
	size_t take = len < COMPRESS_CHUNK ? len : COMPRESS_CHUNK;
	if (compress_deflate(c, data, take,
			     take == len ? Z_SYNC_FLUSH : Z_NO_FLUSH) < 0) {
		errno = EIO;
		return -1;
	}
	/* The input is taken either way; what the stream below does not
	 * take now stays held for the next write or flush. */
	if (imap_compress_flush(s) < 0 && errno != EAGAIN &&
	    errno != EWOULDBLOCK)
		return -1;
	return (ssize_t)take;
}

static size_t compress_pending(struct stream *s)
{
	struct compress_stream *c = (struct compress_stream *)s;
	if (c->in_ended)
		return 0;
	return c->zin.avail_in + (c->in_full ? 1 : 0) +
	       stream_pending(c->inner);
}

static void compress_destroy(struct stream *s)
{
	struct compress_stream *c = (struct compress_stream *)s;
	inflateEnd(&c->zin);
	deflateEnd(&c->zout);
	buf_free(&c->held);
	stream_destroy(&c->inner);
	free(c);
}

static const struct stream_ops compress_ops = {
	.read = compress_read,
	.write = compress_write,
	.pending = compress_pending,
	.destroy = compress_destroy,
};

int imap_compress_start(struct stream **sp, const void *plain_out,
			size_t plain_out_len, const void *compressed_in,
			size_t compressed_in_len)
{
	if (compressed_in_len > COMPRESS_CHUNK)
		return -1;
	struct compress_stream *c = xcalloc(1, sizeof(*c));
	if (inflateInit2(&c->zin, COMPRESS_WINDOW_BITS) != Z_OK) {
		free(c);
		return -1;
	}
	if (deflateInit2(&c->zout, COMPRESS_LEVEL, Z_DEFLATED,
			 COMPRESS_WINDOW_BITS, COMPRESS_MEM_LEVEL,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&c->zin);
		free(c);
		return -1;
	}
	buf_init(&c->held, 0);
	buf_append(&c->held, plain_out, plain_out_len);
	if (compressed_in_len > 0)
		memcpy(c->inbuf, compressed_in, compressed_in_len);
	c->zin.next_in = c->inbuf;
	c->zin.avail_in = (uInt)compressed_in_len;
	c->inner = *sp;
	c->s.ops = &compress_ops;
	c->s.fd = c->inner->fd;
	compress_mirror_wants(c);
	*sp = &c->s;
	return 0;
}
