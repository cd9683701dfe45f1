/* svc-index: creation and teardown of the service-wide state. Teardown
 * compacts every loaded user so the next start loads a snapshot instead
 * of replaying a long log. */
#include "index-service.h"
#include "index-bundle.h"
#include "buf.h"

#include <stdlib.h>

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

void index_service_free(struct index_service **_svc)
{
	struct index_service *svc = *_svc;
	if (svc == NULL)
		return;
	*_svc = NULL;
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
