/* The per-user Sieve tracking store (vacation replies sent, duplicate ids,
 * redirects done): a small text object "sieve/.tracking" in the user's
 * svc-blob space, so it survives restarts and moves with the user like
 * the scripts do. Read before the scripts run, written back (and awaited)
 * only when a delivery marked something new. Two deliveries for one user
 * at the same moment may lose one mark (the later write wins); the cost
 * is at most one extra vacation reply. */
#ifndef LMTP_SIEVE_TRACKING_H
#define LMTP_SIEVE_TRACKING_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "sieve.h"

#define LMTP_SIEVE_TRACKING_KEY "sieve/.tracking"
#define LMTP_SIEVE_TRACKING_MAX_ENTRIES 5000
#define LMTP_SIEVE_TRACKING_MAX_KEY 1024
#define LMTP_SIEVE_TRACKING_MAX_SIZE \
	(LMTP_SIEVE_TRACKING_MAX_ENTRIES * (LMTP_SIEVE_TRACKING_MAX_KEY + 24))

struct lmtp_sieve_tracking;

struct lmtp_sieve_tracking *lmtp_sieve_tracking_new(void);
void lmtp_sieve_tracking_free(struct lmtp_sieve_tracking **tr);

/* Loads the stored form ("EXPIRES KEY" lines); expired and malformed
 * lines are dropped. */
void lmtp_sieve_tracking_load(struct lmtp_sieve_tracking *tr,
			      const char *data, size_t len, time_t now);
/* Marks whose key starts with prefix and ends with suffix are not
 * recorded (a vacation reply that could not be sent must be tried again
 * next time). */
void lmtp_sieve_tracking_skip(struct lmtp_sieve_tracking *tr,
			      const char *prefix, const char *suffix);
/* Something was marked since the load. */
bool lmtp_sieve_tracking_dirty(const struct lmtp_sieve_tracking *tr);
/* The stored form, without expired entries, at most MAX_ENTRIES (those
 * expiring last are kept). */
void lmtp_sieve_tracking_save(struct lmtp_sieve_tracking *tr, time_t now,
			      struct buf *out);

extern const struct sieve_tracking_ops lmtp_sieve_tracking_ops;

#endif
