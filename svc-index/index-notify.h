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

/* User-wide waiters (WaitUser, for IMAP NOTIFY): woken by any commit of
 * the user and by a replaced state (bundle refresh, rebuild, merge). */
struct index_user;
struct index_user_waiter;
/* cb gets the user's new change counter, or 0 when the user was dropped
 * (user is NULL then) or at the timeout (the current counter). */
typedef void index_user_waiter_cb(struct index_user *user, uint64_t change,
				  void *ctx);
/* The user's current change counter (given one on first use). */
uint64_t index_notify_user_change(struct index_user *user);
void index_notify_user_wait(struct index_user *user, uint32_t timeout_ms,
			    index_user_waiter_cb *cb, void *ctx);
/* Something of the user changed: moves the counter, wakes its waiters. */
void index_notify_user_changed(struct index_user *user);
/* The user's state is being dropped: wakes its waiters with 0. */
void index_notify_user_dropped(struct index_user *user);

#endif
