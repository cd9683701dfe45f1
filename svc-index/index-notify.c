/* svc-index: waiters parked on a mailbox by Wait calls (IMAP IDLE and
 * NOTIFY-like polling). A commit that changes the mailbox wakes every
 * waiter at once; a timer ends a wait with no change; a deleted mailbox
 * wakes them with GONE. Callbacks run synchronously, after the commit
 * has been applied, so they see the new state. */
#include "index-notify.h"
#include "index-service.h"
#include "index-common.h"
#include "buf.h"

#include <stdlib.h>

struct index_waiter {
	struct index_service *svc;
	struct index_mailbox *box;
	struct loop_timer *timer;
	index_waiter_cb *cb;
	void *ctx;
	struct index_waiter *prev, *next;
};

static void index_waiter_unlink(struct index_waiter *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		w->box->waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	loop_timer_remove(&w->timer);
}

static void index_waiter_timeout(struct loop_timer *timer, void *ctx)
{
	struct index_waiter *w = ctx;
	(void)timer;
	struct index_mailbox *box = w->box;
	index_waiter_unlink(w);
	w->cb(box, INDEX_WAKE_TIMEOUT, w->ctx);
	free(w);
}

struct index_waiter *index_notify_wait(struct index_service *svc,
				       struct index_mailbox *box,
				       uint32_t timeout_ms,
				       index_waiter_cb *cb, void *ctx)
{
	struct index_waiter *w = xcalloc(1, sizeof(*w));
	w->svc = svc;
	w->box = box;
	w->cb = cb;
	w->ctx = ctx;
	w->next = box->waiters;
	if (box->waiters != NULL)
		box->waiters->prev = w;
	box->waiters = w;
	w->timer = loop_timer_add(svc->loop, timeout_ms, false,
				  index_waiter_timeout, w);
	return w;
}

void index_notify_changed(struct index_service *svc,
			  struct index_mailbox *box)
{
	while (box->waiters != NULL) {
		struct index_waiter *w = box->waiters;
		index_waiter_unlink(w);
		svc->n_notifications++;
		w->cb(box, INDEX_WAKE_CHANGED, w->ctx);
		free(w);
	}
}

void index_notify_gone(struct index_mailbox *box)
{
	while (box->waiters != NULL) {
		struct index_waiter *w = box->waiters;
		index_waiter_unlink(w);
		w->cb(NULL, INDEX_WAKE_GONE, w->ctx);
		free(w);
	}
}

/* ---- user-wide waiters (WaitUser) ---- */

struct index_user_waiter {
	struct index_user *user;
	struct loop_timer *timer;
	index_user_waiter_cb *cb;
	void *ctx;
	struct index_user_waiter *prev, *next;
};

static void index_user_waiter_unlink(struct index_user_waiter *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		w->user->user_waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	loop_timer_remove(&w->timer);
}

uint64_t index_notify_user_change(struct index_user *user)
{
	/* One counter for the service, so a user dropped and loaded again
	 * never gives out a value an older session still holds. */
	if (user->change == 0)
		user->change = ++user->svc->user_changes;
	return user->change;
}

static void index_user_waiter_timeout(struct loop_timer *timer, void *ctx)
{
	struct index_user_waiter *w = ctx;
	(void)timer;
	struct index_user *user = w->user;
	index_user_waiter_unlink(w);
	w->cb(user, index_notify_user_change(user), w->ctx);
	free(w);
}

void index_notify_user_wait(struct index_user *user, uint32_t timeout_ms,
			    index_user_waiter_cb *cb, void *ctx)
{
	struct index_user_waiter *w = xcalloc(1, sizeof(*w));
	w->user = user;
	w->cb = cb;
	w->ctx = ctx;
	w->next = user->user_waiters;
	if (user->user_waiters != NULL)
		user->user_waiters->prev = w;
	user->user_waiters = w;
	w->timer = loop_timer_add(user->svc->loop, timeout_ms, false,
				  index_user_waiter_timeout, w);
}

void index_notify_user_changed(struct index_user *user)
{
	user->change = ++user->svc->user_changes;
	while (user->user_waiters != NULL) {
		struct index_user_waiter *w = user->user_waiters;
		index_user_waiter_unlink(w);
		user->svc->n_notifications++;
		w->cb(user, user->change, w->ctx);
		free(w);
	}
}

void index_notify_user_dropped(struct index_user *user)
{
	while (user->user_waiters != NULL) {
		struct index_user_waiter *w = user->user_waiters;
		index_user_waiter_unlink(w);
		w->cb(NULL, 0, w->ctx);
		free(w);
	}
}
