/* quota_clone's Redis dict (see quota-clone-redis.c for the key layout
 * and what happens while Redis is down). */
#ifndef QUOTA_CLONE_REDIS_H
#define QUOTA_CLONE_REDIS_H

#include <stdint.h>

#include "loop.h"

struct quota_redis;

/* args: the part after "redis:" ("host=H:port=P:path=UNIX-SOCKET:prefix=..:
 * db=..:expire_secs=..:timeout_msecs=..:password=.."; path overrides host
 * and port, as in Dovecot). A host name is resolved when connecting
 * (hiredis 0.14 does that synchronously: prefer an address or a socket).
 * Connects lazily, on the
 * first update. Returns NULL with *error_r (malloc'd) on a bad argument.
 * *writes_counter is incremented for each user's usage Redis confirmed. */
struct quota_redis *quota_redis_new(struct loop *loop, const char *args,
				    uint64_t *writes_counter, char **error_r);
/* Closes the connection; values not written yet are dropped. */
void quota_redis_free(struct quota_redis **r);
/* Queues the user's current usage and writes it when connected
 * (connecting first if needed). Never blocks. */
void quota_redis_update(struct quota_redis *r, const char *user,
			uint64_t bytes, uint64_t messages);

#endif
