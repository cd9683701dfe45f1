/* The blob fds of the last few bodies a session read. Clients fetch one
 * message in several commands (BODYSTRUCTURE, then each part; or the
 * header, then the body), and each would otherwise be a blob Get round
 * trip. A message's object never changes, so an fd stays right for as
 * long as the UID lives; the cache is emptied when the mailbox is
 * closed. Bounded per session and per process, so 10,000 idle sessions
 * cannot hold 10,000s of descriptors. */
#ifndef IMAP_BODY_CACHE_H
#define IMAP_BODY_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#define IMAP_BODY_CACHE_SLOTS 4
/* All sessions of a process together. */
#define IMAP_BODY_CACHE_PROCESS_MAX 1024

struct imap_body_cache {
	struct imap_body_cache_slot {
		char *object_id;	/* NULL: free */
		int fd;
		uint64_t used;
	} slot[IMAP_BODY_CACHE_SLOTS];
	uint64_t clock;
};

/* The cached fd of object_id (still owned by the cache), or -1. */
int imap_body_cache_lookup(struct imap_body_cache *cache,
			   const char *object_id);
/* Keeps fd for object_id and returns true (the cache owns it now), or
 * false when the process limit is reached (the caller keeps fd). */
bool imap_body_cache_keep(struct imap_body_cache *cache,
			  const char *object_id, int fd);
void imap_body_cache_clear(struct imap_body_cache *cache);

#endif
