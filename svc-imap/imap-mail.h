/* What svc-imap learns from a message body with lib/mail: sizes and the
 * fields svc-index caches so FETCH ENVELOPE/BODYSTRUCTURE and SEARCH on
 * common headers never need the body again. */
#ifndef IMAP_MAIL_H
#define IMAP_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index.pb-c.h"

/* A whole body fd in memory, read or mapped (size 0 holds nothing). */
struct imap_mail_map {
	const char *data;
	size_t size;
	bool heap;	/* read into the heap, not mapped */
};
int imap_mail_map(int fd, struct imap_mail_map *map_r);
void imap_mail_unmap(struct imap_mail_map *map);

struct imap_mail_facts {
	uint64_t physical_size, virtual_size;
	Stratus__IndexCachedField **cached;	/* heap: imap_mail_facts_free */
	size_t n_cached;
};

/* Sizes and cached fields (lib/mail's "envelope", "bodystructure", "body",
 * "mime.parts", and
 * "hdr.<name>" for the headers SEARCH asks most) of a message. */
void imap_mail_facts(const void *msg, size_t size,
		     struct imap_mail_facts *facts_r);
void imap_mail_facts_free(struct imap_mail_facts *facts);

/* The cached field name in m, or NULL. */
const ProtobufCBinaryData *imap_mail_cached(const Stratus__IndexMessage *m,
					    const char *name);

#endif
