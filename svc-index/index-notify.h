/* svc-index: change notifications for IDLE. A Wait call parks a waiter
 * on the mailbox; every commit that changes the mailbox completes its
 * waiters from the loop, so another session sees the change at once. */
#ifndef STRATUS_INDEX_NOTIFY_H
#define STRATUS_INDEX_NOTIFY_H

#include <stdint.h>

struct index_mailbox;
struct index_service;
struct index_waiter;

typedef void index_waiter_cb(struct index_mailbox *box, int reason,
			     void *ctx);
#define INDEX_WAKE_CHANGED 0
#define INDEX_WAKE_TIMEOUT 1
#define INDEX_WAKE_GONE 2

/* cb runs exactly once (changed, timeout, or the mailbox went away;
 * box is NULL for GONE). */
struct index_waiter *index_notify_wait(struct index_service *svc,
				       struct index_mailbox *box,
				       uint32_t timeout_ms,
				       index_waiter_cb *cb, void *ctx);
/* The mailbox changed: wakes its waiters (deferred to the loop). */
void index_notify_changed(struct index_service *svc,
			  struct index_mailbox *box);
/* The mailbox is being freed: wakes waiters with GONE, synchronously. */
void index_notify_gone(struct index_mailbox *box);

#endif
