/* The fields svc-index caches for a delivered message, computed once at
 * delivery with lib/mail so IMAP never parses the body again: lib/mail's
 * "envelope", "bodystructure", "body", "mime.parts", and "hdr.<name>" for
 * the headers SEARCH asks most (the same set svc-imap's APPEND caches). */
#ifndef LMTP_CACHE_H
#define LMTP_CACHE_H

#include <stddef.h>

#include "index.pb-c.h"

struct lmtp_cached {
	Stratus__IndexCachedField **fields;	/* for IndexMessage.cached */
	size_t n_fields;
	size_t total_len;	/* of the values, under MAIL_CACHED_BUDGET */
};

/* Maps fd (size bytes, the stored message) and fills c. 0, or -1 when the
 * message cannot be mapped (c is then empty: deliver without a cache). */
int lmtp_cached_build(int fd, size_t size, struct lmtp_cached *c);
void lmtp_cached_free(struct lmtp_cached *c);

#endif
