/* SIGHUP in svc-quota: the quota rules and warnings (plugin quota_rule,
 * quota_rule2, ..., quota_warning, ...) come from the new configuration;
 * a new configuration whose rules do not parse keeps the old ones (and
 * says why). The other quota settings need a restart, as the reload log
 * names them. */
#include "quota-common.h"
#include "log.h"

#include <stdlib.h>

void quota_service_reload(struct service *svc)
{
	struct quota_ctx *q = svc->ctx;
	if (q == NULL || svc->reload_cfg == NULL)
		return;
	struct quota_settings set;
	char *error = NULL;
	if (quota_settings_load(&set, svc->reload_cfg, &error) < 0) {
		log_error(NULL, "reload: quota rules kept: %s", error);
		free(error);
		quota_settings_free(&set);
		return;
	}
	struct quota_rules old = q->set.rules;
	q->set.rules = set.rules;
	set.rules = old;
	quota_settings_free(&set);
	quota_users_rules_changed(q);
	log_info(NULL, "reload: quota rules re-read (%zu rules)",
		 q->set.rules.n_rules);
}
