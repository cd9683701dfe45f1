/* svc-index: metacache_max_space. When the local files of all cached
 * users exceed it, the least recently used users go first: a dirty
 * index is uploaded as a bundle before its files are deleted, and a user
 * in use (loading, uploading, a session waiting in IDLE, or the most
 * recent one) is never evicted. Runs deferred, never inside a handler
 * that still holds a user. */
#include "index-evict.h"
#include "index-bundle.h"
#include "buf.h"
#include "log.h"

#include <stdlib.h>

static bool index_user_busy(const struct index_user *user)
{
	if (user->state != INDEX_USER_READY || user->uploading ||
	    user->pending != NULL || user->svc->lru_head == user ||
	    user->user_waiters != NULL)	/* a NOTIFY session watches */
		return true;
	for (size_t i = 0; i < user->n_boxes; i++) {
		if (user->boxes[i]->waiters != NULL)
			return true;
	}
	return false;
}

static void index_evict_uploaded(void *ctx, int ret)
{
	char *name = ctx;
	(void)ret;
	free(name);
	/* The drop happens on the next pass, now that the user is clean
	 * (or stays, when the upload failed: never lose a dirty index). */
}

static void index_evict_run(struct loop_timer *timer, void *ctx)
{
	struct index_service *svc = ctx;
	(void)timer;
	loop_timer_remove(&svc->evict_timer);
	if (svc->set.max_space == 0 || svc->total_bytes <= svc->set.max_space)
		return;
	struct index_user *u = svc->lru_tail;
	while (u != NULL && svc->total_bytes > svc->set.max_space) {
		struct index_user *prev = u->lru_prev;
		if (index_user_busy(u)) {
			u = prev;
			continue;
		}
		if (u->dirty && svc->set.bundles) {
			index_bundle_upload(u, index_evict_uploaded,
					    xstrdup(u->name));
		} else if (!u->dirty || !svc->set.bundles) {
			log_info(&(struct log_ctx){ .user = u->name },
				 "metacache: evicting (%llu bytes over %llu)",
				 (unsigned long long)svc->total_bytes,
				 (unsigned long long)svc->set.max_space);
			svc->n_evictions++;
			index_user_drop(u, true);
		}
		u = prev;
	}
}

void index_evict_check(struct index_service *svc)
{
	if (svc->set.max_space == 0 || svc->total_bytes <= svc->set.max_space ||
	    svc->evict_timer != NULL)
		return;
	/* A timer, not loop_defer: it can be cancelled at shutdown. */
	svc->evict_timer = loop_timer_add(svc->loop, 0, false,
					  index_evict_run, svc);
}
