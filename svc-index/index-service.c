/* svc-index: creation and teardown of the service-wide state. Teardown
 * first uploads every dirty user's bundle (a clean stop loses nothing,
 * even if this backend's disk is lost afterwards), running the loop for
 * at most INDEX_SHUTDOWN_UPLOAD_MS, then compacts every loaded user so
 * the next start loads a snapshot instead of replaying a long log. */
#include "index-service.h"
#include "index-bundle.h"
#include "buf.h"

#include "log.h"

#include <stdlib.h>

/* Below stratusctl run's and systemd's default stop timeouts. */
#define INDEX_SHUTDOWN_UPLOAD_MS 5000

struct index_service *index_service_new(struct loop *loop,
					const struct config *cfg,
					char **error_r)
{
	struct index_service *svc = xcalloc(1, sizeof(*svc));
	svc->loop = loop;
	svc->cfg = cfg;
	if (index_settings_read(&svc->set, cfg, error_r) < 0) {
		index_settings_free(&svc->set);
		free(svc);
		return NULL;
	}
	index_bundle_init(svc);
	return svc;
}

static bool index_service_uploading(const struct index_service *svc)
{
	for (const struct index_user *u = svc->lru_head; u != NULL;
	     u = u->lru_next) {
		if (u->uploading)
			return true;
	}
	return false;
}

/* Starts an upload for each loaded user with changes not yet being
 * uploaded; returns how many. */
static unsigned int index_service_start_uploads(struct index_service *svc)
{
	unsigned int n = 0;
	for (struct index_user *u = svc->lru_head; u != NULL; u = u->lru_next) {
		if (u->state == INDEX_USER_READY && u->dirty && !u->uploading) {
			index_bundle_upload(u, NULL, NULL);
			n++;
		}
	}
	return n;
}

/* Two rounds: a user changed while a policy upload was in flight is
 * still dirty when that upload ends, and needs one more. */
static void index_service_upload_dirty(struct index_service *svc)
{
	if (svc->blob == NULL || !svc->set.bundles)
		return;
	uint64_t deadline = loop_now_ms(svc->loop) + INDEX_SHUTDOWN_UPLOAD_MS;
	unsigned int n = 0;
	for (int round = 0; round < 2; round++) {
		n += index_service_start_uploads(svc);
		while (index_service_uploading(svc) &&
		       loop_now_ms(svc->loop) < deadline) {
			if (loop_run_once(svc->loop, 100) < 0)
				break;
		}
		if (index_service_uploading(svc))
			break;
	}
	if (n > 0)
		log_info(NULL, "shutdown: uploading %u dirty index bundle(s)%s",
			 n, index_service_uploading(svc) ?
			 "; some did not finish in time (kept locally)" : "");
}

void index_service_free(struct index_service **_svc)
{
	struct index_service *svc = *_svc;
	if (svc == NULL)
		return;
	*_svc = NULL;
	index_service_upload_dirty(svc);
	while (svc->lru_head != NULL) {
		struct index_user *user = svc->lru_head;
		if (user->state == INDEX_USER_READY && user->log_size > 8)
			(void)index_user_compact(user, 0);
		index_user_drop(user, false);
	}
	index_bundle_deinit(svc);
	loop_timer_remove(&svc->evict_timer);
	index_settings_free(&svc->set);
	free(svc);
}
