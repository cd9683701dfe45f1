/* COMPRESS=DEFLATE (RFC 4978): a stream layer that inflates what the
 * client sends and deflates what the server writes (raw deflate, RFC
 * 1951), over whatever stream the client has (plain or TLS). */
#ifndef IMAP_COMPRESS_H
#define IMAP_COMPRESS_H

#include <stddef.h>

#include "stream.h"

/* The most compressed input imap_compress_start takes. */
#define IMAP_COMPRESS_IN_MAX 16384

/* Wraps client->stream. `plain_out` is written first, uncompressed (the
 * tagged OK of COMPRESS and what was queued before it); `compressed_in`
 * is what the client already sent after its COMPRESS command, inflated
 * before anything read later. Returns -1 when zlib cannot start. */
int imap_compress_start(struct stream **sp, const void *plain_out,
			size_t plain_out_len, const void *compressed_in,
			size_t compressed_in_len);
/* Bytes the layer took from the writer but has not yet handed to the
 * stream below (the owner must keep watching for write room). */
size_t imap_compress_held(struct stream *s);
/* Writes what is held. 0 when nothing is left, -1 with errno (EAGAIN
 * when the stream below is full). */
int imap_compress_flush(struct stream *s);

#endif
